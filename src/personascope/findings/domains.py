"""Findings of the domains study (:mod:`personascope.studies.domains`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import Findings


@dataclass
class DomainsFindings(Findings):
    """The design and prompt sets and, per model, ``domains.<domain>.measures.<measure>``
    (mean over prompts of each per-input diversity measure), the per-prompt values, the
    unparseable code count and, for a tuned (chat) model, ``change.<domain>.<measure>``
    (tuned minus its base, paired by prompt), ``change.<domain>.headline`` (the measure
    the claims table reads), ``change.versus`` (the base), ``change.caveat`` and
    ``change.sign`` (whether code and creative move as the claim predicts)."""

    study: ClassVar[str] = "domains"
    design: dict[str, Any]
    prompts: dict[str, Any]
    embedder: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """Per model: the headline measure's change per domain (tuned models) and the
        headline measure per domain."""
        measure = self.design.get("headline", "ead")
        out = {}
        for model_id, m in self.per_model().items():
            change = m.get("change") or {}
            out[model_id] = {
                "measure": measure,
                **{
                    domain: (m["domains"][domain]["measures"].get(measure))
                    for domain in ("code", "creative")
                },
                "change": {
                    domain: (change.get(domain) or {}).get("headline")
                    for domain in ("code", "creative")
                },
            }
        return out
