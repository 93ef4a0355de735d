"""Findings of the commitment study (:mod:`personascope.studies.commitment`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class CommitmentFindings(Findings):
    """The design and interview, and per model the answer-entropy and self-description
    dispersion curves over turns with their fitted narrowing rates."""

    study: ClassVar[str] = "commitment"
    design: dict[str, Any]
    interview: dict[str, Any]
    embedder: str
    interval_method: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
