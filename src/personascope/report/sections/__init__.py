"""Report section renderers, one per study, found through the study registry.

A renderer is ``render(findings) -> Section`` where ``findings`` is the study's typed
findings (:class:`~personascope.findings.Findings`) rebuilt from the store; it is named by
the study's :class:`~personascope.studies.StudyEntry`. Studies without a renderer get a
generic section listing their findings' keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from personascope.findings import Findings
from personascope.report.blocks import Section, paragraph
from personascope.studies import REGISTRY, findings_type, load_target


def renderer(study: str) -> Callable[[Any], Section]:
    entry = REGISTRY.get(study)
    if entry is None or entry.renderer is None:
        title = entry.title if entry is not None else study
        return lambda findings: _generic(study, title, findings)
    return load_target(entry.renderer)


def render_json(study: str, data: Mapping[str, Any]) -> Section:
    """The section of a study's stored findings JSON (decoded to its typed findings)."""
    return renderer(study)(findings_type(study).from_json(data))


def _generic(study: str, title: str, findings: Findings) -> Section:
    keys = ", ".join(sorted(findings.to_json()))
    return Section(study, title, blocks=[paragraph(f"Stored findings: {keys}.")])


def order(studies: set[str]) -> list[str]:
    """Registered studies in registry order, then any others by name."""
    return [s for s in REGISTRY if s in studies] + sorted(studies - set(REGISTRY))
