"""Report section renderers, one per study, imported lazily.

A renderer is ``render(findings: dict[str, Any]) -> Section`` where ``findings`` maps a
finding name to the JSON the study stored under it (``Store.put_finding(study, name, ...)``).
Studies without a renderer get a generic section listing their findings' keys.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from personascope.report.blocks import Section, paragraph

RENDERERS: dict[str, str] = {
    "collapse": "personascope.report.sections.collapse:render",
    "adoption": "personascope.report.sections.adoption:render",
    "stability": "personascope.report.sections.stability:render",
    "commitment": "personascope.report.sections.commitment:render",
    "scaffold": "personascope.report.sections.scaffold:render",
    "lab": "personascope.report.sections.lab:render",
}

# Order of sections in the report (unlisted studies follow in name order).
ORDER = ("collapse", "adoption", "stability", "commitment", "scaffold", "lab")


def renderer(study: str) -> Callable[[dict[str, Any]], Section]:
    target = RENDERERS.get(study)
    if target is None:
        return lambda findings: Section(
            study, study, blocks=[paragraph(f"Stored findings: {', '.join(sorted(findings))}.")]
        )
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
