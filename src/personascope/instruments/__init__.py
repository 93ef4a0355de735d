"""Psychometric instruments: inventories as data, administration, scoring, norms, validity.

The entry points other modules use:

* :func:`load_inventory` (``"ipip50"``, ``"mini_ipip"``, ``"ipip_neo_120"`` or a file);
* :func:`administer` (an inventory given to persona prefixes through a runner ->
  :class:`Administration` with distributions and :class:`Scores`), then
  :func:`diagnose` (validity verdicts per domain);
* :func:`load_norms` and :func:`sample_reference` (human norms and a human-like
  sample of trait vectors);
* :func:`score_answers` (a table of human or model answers), :func:`cronbach_alpha`,
  :func:`mcdonald_omega`, :func:`derived_type`.

Modules are imported lazily by attribute, so loading one instrument does not import
the runner or scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Inventory": "inventory",
    "Item": "inventory",
    "load_inventory": "inventory",
    "Condition": "administration",
    "WORDINGS": "administration",
    "Administration": "administration",
    "administer": "administration",
    "Scores": "scoring",
    "score_answers": "scoring",
    "score_distributions": "scoring",
    "cronbach_alpha": "reliability",
    "mcdonald_omega": "reliability",
    "ScaleNorms": "norms",
    "load_norms": "norms",
    "norms_for": "norms",
    "sample_reference": "norms",
    "Validity": "validity",
    "diagnose": "validity",
    "derived_type": "derived",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
