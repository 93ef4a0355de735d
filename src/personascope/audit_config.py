"""``personascope audit --config audit.yaml``: the battery, its models and study settings.

A file such as::

    models: [llamacpp/gemma3-270m, llamacpp/smollm2-135m-instruct]
    studies: [collapse, stability]
    seed: 1
    collapse: {n_personas: 100}
    stability: {paraphrases: 4}

Top-level keys are ``models``, ``studies``, ``quick``, ``seed`` and one section per
registered study (:mod:`personascope.studies`); anything else is an error naming the file
and the key; an empty file means all defaults, and a top level that is not a mapping is an
error naming the file. :func:`validate_sections` checks every section against its study's
``Settings`` before anything runs, so a typo in the last study's section fails at once.
Options given on the command line win over the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from personascope.config import StrictModel, read_settings, validate_config
from personascope.errors import PersonascopeError
from personascope.studies import REGISTRY, get_study

TOP_LEVEL = ("models", "studies", "quick", "seed")


class AuditOptions(StrictModel):
    models: list[str] | None = None
    studies: list[str] | None = None
    quick: bool | None = None
    seed: int | None = None


class AuditConfig:
    """The file's options and its study sections (study name -> settings mapping)."""

    def __init__(self, options: AuditOptions, sections: Mapping[str, Mapping[str, Any]]):
        self.options = options
        self.sections = {name: dict(section) for name, section in sections.items()}


def load_audit_config(path: Path | None) -> AuditConfig:
    """The validated file, or the defaults when no file is given. An empty file (or one
    with only comments) means all defaults; a top level that is not a mapping is an error
    naming the file."""
    if path is None:
        return AuditConfig(AuditOptions(), {})
    data = read_settings(path)
    unknown = sorted(str(k) for k in data if k not in TOP_LEVEL and k not in REGISTRY)
    if unknown:
        raise PersonascopeError(
            f"{path}: {unknown[0]}: unknown key (known: {', '.join([*TOP_LEVEL, *REGISTRY])})"
        )
    options = validate_config(
        AuditOptions, {k: v for k, v in data.items() if k in TOP_LEVEL}, str(path)
    )
    sections = {}
    for name in REGISTRY:
        section = data.get(name)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise PersonascopeError(f"{path}: section {name!r} must be a mapping of settings")
        sections[name] = section
    return AuditConfig(options, sections)


def validate_sections(sections: Mapping[str, Mapping[str, Any]], quick: bool) -> dict[str, Any]:
    """Every study's settings (study name -> its ``Settings``), checked before anything
    runs: an unknown key, a wrong type or an impossible value is one error naming it."""
    return {name: get_study(name).settings(section, quick) for name, section in sections.items()}
