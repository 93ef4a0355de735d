"""Findings of the collapse lab (:mod:`personascope.lab.run`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings, to_json


@dataclass
class LabFindings(Findings):
    """The lab's settings, training pairs and, per checkpoint (step 0 = the base model),
    the persona measurements whose dose-response the report draws."""

    study: ClassVar[str] = "lab"
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return to_json(self.data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabFindings:
        return cls(dict(data))

    def per_model(self) -> Mapping[str, Any]:
        return {c["model_id"]: c["metrics"] for c in self.data.get("checkpoints", [])}
