"""Findings of the collapse study (:mod:`personascope.studies.collapse`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class CollapseFindings(Findings):
    """Per model the attribute summaries (names, ages, genders, occupations, adjectives),
    the text panel, trait measurements and the collapse index; the matched comparison of
    the models' texts; the human reference; the personas and their points (for figures);
    the provenance of the generations."""

    study: ClassVar[str] = "collapse"
    n_requested: int
    domains: list[str]
    models: dict[str, dict[str, Any]]
    matched_text: dict[str, Any]
    human_reference: dict[str, Any]
    personas: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """Per model: the collapse index (when measured), age SD, name repeat share and
        the self-report's validity verdict."""
        return {model_id: _headline(m) for model_id, m in self.per_model().items()}


def _headline(model: dict[str, Any]) -> dict[str, Any]:
    collapse = model["collapse"]
    return {
        "collapse_index": collapse["index"] if collapse.get("measured") else None,
        "age_sd": model["ages"].get("sd"),
        "name_repeat_share": model["names"].get("repeat_share"),
        "self_report_validity": model["self_report"]["validity"]["verdict"],
    }
