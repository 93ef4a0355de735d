"""Findings of the scaffold study (:mod:`personascope.studies.scaffold`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class ScaffoldFindings(Findings):
    """One row per generation strategy (diversity, fidelity, cost) on one model, and the
    diversity-fidelity Pareto front."""

    study: ClassVar[str] = "scaffold"
    table: dict[str, Any]
    pareto: dict[str, Any]

    def per_model(self) -> Mapping[str, Any]:
        """The one model the strategies ran on, with the strategies' rows."""
        return {self.table["model_id"]: {"rows": self.table["rows"]}}
