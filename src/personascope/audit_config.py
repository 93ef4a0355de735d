"""``personascope audit --config audit.yaml``: the battery, its models and study settings.

A file such as::

    models: [llamacpp/gemma3-270m, llamacpp/smollm2-135m-instruct]
    studies: [collapse, stability]
    seed: 1
    collapse: {n_personas: 100}
    stability: {n_paraphrases: 4}

Top-level keys are checked (a typo is an error naming the file and the key); each study
section is handed to its study as ``ctx.config[study]``, where the study checks its own
fields. Options given on the command line win over the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from personascope.config import StrictModel, read_yaml, validate_config


class AuditConfig(StrictModel):
    models: list[str] | None = None
    studies: list[str] | None = None
    quick: bool | None = None
    seed: int | None = None
    collapse: dict[str, Any] = Field(default_factory=dict)
    adoption: dict[str, Any] = Field(default_factory=dict)
    stability: dict[str, Any] = Field(default_factory=dict)
    commitment: dict[str, Any] = Field(default_factory=dict)
    scaffold: dict[str, Any] = Field(default_factory=dict)
    lab: dict[str, Any] = Field(default_factory=dict)

    def study_settings(self) -> dict[str, dict[str, Any]]:
        """The per-study sections that were given, by study name."""
        sections = ("collapse", "adoption", "stability", "commitment", "scaffold", "lab")
        return {name: getattr(self, name) for name in sections if getattr(self, name)}


def load_audit_config(path: Path | None) -> AuditConfig:
    """The validated file, or the defaults when no file is given."""
    if path is None:
        return AuditConfig()
    return validate_config(AuditConfig, read_yaml(path), str(path))
