"""The studies of the audit battery, by name, imported lazily.

Each entry maps a study name to ``module:Class``; a class has a ``name`` attribute and a
``run(ctx) -> findings`` method (see :mod:`personascope.studies.base`).
"""

from __future__ import annotations

import importlib

from personascope.errors import PersonascopeError
from personascope.studies.base import Study

REGISTRY: dict[str, str] = {
    "collapse": "personascope.studies.collapse:CollapseStudy",
    "adoption": "personascope.studies.adoption:AdoptionStudy",
    "stability": "personascope.studies.stability:StabilityStudy",
    "commitment": "personascope.studies.commitment:CommitmentStudy",
    "scaffold": "personascope.studies.scaffold:ScaffoldStudy",
    "lab": "personascope.studies.lab:LabStudy",  # not in the default battery: it trains
}

# The battery `personascope audit` runs when --studies is not given, in this order.
DEFAULT_BATTERY: tuple[str, ...] = ("collapse", "adoption", "stability", "commitment", "scaffold")


def get_study(name: str) -> Study:
    target = REGISTRY.get(name)
    if target is None:
        raise PersonascopeError(f"unknown study {name!r}; known: {', '.join(REGISTRY)}")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)()


def parse_studies(text: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``, checked against the registry; None -> the default."""
    if not text:
        return list(DEFAULT_BATTERY)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise PersonascopeError(f"unknown study {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return names
