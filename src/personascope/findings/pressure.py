"""Findings of the pressure study (:mod:`personascope.studies.pressure`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class PressureFindings(Findings):
    """The design, personas and pressure families, and per model persistence of the persona
    against turns of pressure per family, the pressure effect against the neutral control,
    break rates, the validity verdict of the identity probes, the trait probe (drift of the
    Big-Five profile toward the model's default, with its own verdict), and example
    conversations."""

    study: ClassVar[str] = "pressure"
    design: dict[str, Any]
    personas: list[dict[str, Any]]
    families: dict[str, Any]
    interval_method: str
    persona_source: str = ""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """Per model: the pressure effect, persistence at the last k per family, validity;
        the trait drift effect (pressure - neutral at the last probed k, or ``withheld: ...``
        when the trait probe is invalid) and the trait probe's verdict."""
        out = {}
        for model_id, m in self.per_model().items():
            traits = m.get("traits")
            out[model_id] = {
                "pressure_effect": m.get("pressure_effect"),
                "persistence_last": {f: c[-1] for f, c in m.get("persistence", {}).items()},
                "validity": m.get("validity", {}).get("summary"),
                "trait_drift_effect": None
                if traits is None
                else traits["drift_effect"] or f"withheld: {traits['withheld']}",
                "trait_validity": None if traits is None else traits["validity"]["summary"],
            }
        return {"design": self.design, "models": out}
