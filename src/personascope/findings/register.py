"""Findings of the register study (:mod:`personascope.studies.register`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class RegisterFindings(Findings):
    """The design (tasks, contexts, intended positions, feature directions) and, per
    model, ``register_range`` (context share of the style variance) and ``adherence``
    (rank agreement of intended and measured context order) as estimates, with the other
    variance shares and the contexts' mean features; ``comparison`` holds the
    model-identity share when several models ran."""

    study: ClassVar[str] = "register"
    design: dict[str, Any]
    tasks: list[dict[str, Any]]
    contexts: list[dict[str, Any]]
    features: dict[str, Any]
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """Per model: register range and adherence (estimates)."""
        return {
            model_id: {
                "register_range": m.get("register_range"),
                "adherence": m.get("adherence"),
            }
            for model_id, m in self.per_model().items()
        }
