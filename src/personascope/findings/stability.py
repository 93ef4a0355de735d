"""Findings of the stability study (:mod:`personascope.studies.stability`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class StabilityFindings(Findings):
    """The design, personas and templates, and per model the variance decomposition of
    the self-descriptions (``free_text``) and of the inventory answers (``inventory``)."""

    study: ClassVar[str] = "stability"
    design: dict[str, Any]
    personas: dict[str, Any]
    templates: dict[str, Any]
    embedder: str
    interval_method: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
