"""Findings of the adoption study (:mod:`personascope.studies.adoption`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class AdoptionFindings(Findings):
    """The design, the inventory administered, the personas with their targets, and per
    model the agreement of measured with target scores in each wording condition, the
    controls (order, no persona) and the validity verdicts."""

    study: ClassVar[str] = "adoption"
    design: dict[str, Any]
    inventory: dict[str, Any]
    markers: dict[str, Any]
    persona_instruction: str
    personas: dict[str, dict[str, Any]]
    bootstrap: dict[str, Any]
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
