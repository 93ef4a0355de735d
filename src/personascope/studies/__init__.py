"""The registry of studies: one :class:`StudyEntry` per study, in report order.

Registering a study is one :func:`register_study` call. Everything else derives from the
registry: ``--studies`` and its help, the default battery (entries with ``battery=True``,
in registry order), the sections ``audit.yaml`` accepts and validates, the report's
section order, and the findings type a stored run is read back with. Targets are
``module:attribute`` strings imported only when used, so this module is light: the
report reads the registry without importing any study or backend.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from personascope.errors import PersonascopeError

if TYPE_CHECKING:
    from personascope.findings import Findings
    from personascope.studies.base import Study


@dataclass(frozen=True)
class StudyEntry:
    """One study: ``study`` is its class (``module:Class``, a
    :class:`~personascope.studies.base.Study`), ``findings`` its findings type and
    ``renderer`` its report section (``module:function``, ``render(findings) -> Section``;
    None: a generic section), ``battery`` whether the default audit runs it."""

    name: str
    title: str
    study: str
    findings: str | None = None
    renderer: str | None = None
    battery: bool = True


REGISTRY: dict[str, StudyEntry] = {}


def register_study(entry: StudyEntry) -> None:
    """Add (or replace) a study; users register their own the same way."""
    REGISTRY[entry.name] = entry


for _entry in (
    StudyEntry(
        "collapse",
        "Collapse: how varied are the personas a model writes?",
        "personascope.studies.collapse:CollapseStudy",
        "personascope.findings.collapse:CollapseFindings",
        "personascope.report.sections.collapse:render",
    ),
    StudyEntry(
        "adoption",
        "Adoption: does the model become the persona it is given?",
        "personascope.studies.adoption:AdoptionStudy",
        "personascope.findings.adoption:AdoptionFindings",
        "personascope.report.sections.adoption:render",
    ),
    StudyEntry(
        "stability",
        "Stability: persona signal or re-running noise?",
        "personascope.studies.stability:StabilityStudy",
        "personascope.findings.stability:StabilityFindings",
        "personascope.report.sections.stability:render",
    ),
    StudyEntry(
        "commitment",
        "Commitment: does the persona narrow over a conversation?",
        "personascope.studies.commitment:CommitmentStudy",
        "personascope.findings.commitment:CommitmentFindings",
        "personascope.report.sections.commitment:render",
    ),
    StudyEntry(
        "scaffold",
        "Scaffold: which outside structure restores diversity?",
        "personascope.studies.scaffold:ScaffoldStudy",
        "personascope.findings.scaffold:ScaffoldFindings",
        "personascope.report.sections.scaffold:render",
    ),
    StudyEntry(
        "lab",
        "Lab: does preference tuning narrow personas?",
        "personascope.studies.lab:LabStudy",
        "personascope.findings.lab:LabFindings",
        "personascope.report.sections.lab:render",
        battery=False,  # it trains a model
    ),
    StudyEntry(
        "register",
        "Register: can the model write for different contexts?",
        "personascope.studies.register:RegisterStudy",
        "personascope.findings.register:RegisterFindings",
        "personascope.report.sections.register:render",
        battery=False,
    ),
    StudyEntry(
        "domains",
        "Domains: does tuning cut diversity in code but not in creative writing?",
        "personascope.studies.domains:DomainsStudy",
        "personascope.findings.domains:DomainsFindings",
        "personascope.report.sections.domains:render",
        battery=False,
    ),
    StudyEntry(
        "bias",
        "Bias: does a persona bend how the model reads evidence?",
        "personascope.studies.bias:BiasStudy",
        "personascope.findings.bias:BiasFindings",
        "personascope.report.sections.bias:render",
        battery=False,  # the lead decides from the timings
    ),
    StudyEntry(
        "pressure",
        "Pressure: does the persona survive a conversation that pushes against it?",
        "personascope.studies.pressure:PressureStudy",
        "personascope.findings.pressure:PressureFindings",
        "personascope.report.sections.pressure:render",
        battery=False,  # the lead decides from the timings
    ),
):
    register_study(_entry)


def battery() -> tuple[str, ...]:
    """The studies ``personascope audit`` runs when none are named, in report order."""
    return tuple(name for name, entry in REGISTRY.items() if entry.battery)


def entry(name: str) -> StudyEntry:
    found = REGISTRY.get(name)
    if found is None:
        raise PersonascopeError(f"unknown study {name!r}; known: {', '.join(REGISTRY)}")
    return found


def load_target(target: str) -> Any:
    """The attribute a ``module:attribute`` target names."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def get_study(name: str) -> Study[Any, Any]:
    return load_target(entry(name).study)()


def findings_type(name: str) -> type[Findings]:
    """The findings class of a registered study; the generic one for others."""
    from personascope.findings import GenericFindings

    found = REGISTRY.get(name)
    if found is None or found.findings is None:
        return GenericFindings
    return load_target(found.findings)


def parse_studies(text: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``, checked against the registry; None -> the battery."""
    if not text:
        return list(battery())
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise PersonascopeError(f"unknown study {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return names
