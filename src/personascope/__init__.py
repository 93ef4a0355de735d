"""personascope: measure and fix persona mode collapse in language models.

The names a notebook needs::

    import personascope as ps
    ps.diversity(["a b c", "a b d", "x y z"])        # DataFrame: metric, value, low, high, n
    result = ps.run_study("adoption", ["llamacpp/smollm2-135m-instruct"], quick=True)
    result.frame("adoption")                        # every estimate, one row each

Importing the package is cheap: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run_audit": "personascope.audit",
    "load_run": "personascope.audit",
    "AuditResult": "personascope.audit",
    "run_study": "personascope.api",
    "diversity": "personascope.api",
    "distinct_classes": "personascope.metrics.distinct",
    "score": "personascope.api",
    "generate": "personascope.api",
    "register_study": "personascope.studies",
    "register_provider": "personascope.models.providers",
    "Provider": "personascope.models.providers",
    "StudyEntry": "personascope.studies",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'personascope' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
