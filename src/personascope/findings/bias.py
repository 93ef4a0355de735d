"""Findings of the bias study (:mod:`personascope.studies.bias`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class BiasFindings(Findings):
    """The design and stimuli, and per model the validity verdict (control task above
    chance), accuracy by persona x congruence under each condition, the congruence gap
    and ratio, the gap under debiasing and its reduction, option mass and order
    sensitivity."""

    study: ClassVar[str] = "bias"
    design: dict[str, Any]
    stimuli: dict[str, Any]
    interval_method: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """Per model: the verdict, control accuracy, gap, ratio and debiased gap."""
        keys = ("validity", "control_accuracy", "congruence_gap", "congruence_ratio",
                "debiased_gap", "option_mass", "order_sensitivity")  # fmt: skip
        return {
            "design": self.design,
            "models": {m: {k: v.get(k) for k in keys} for m, v in self.per_model().items()},
        }
