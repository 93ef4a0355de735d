"""What a study is and what it is given.

A study plans requests, hands them to the runner (never to a model), and analyses the
results into *findings*: JSON-able tables and figure data, written to the store so that a
report can be rebuilt without a model. Multi-stage studies (generate personas, then
administer an inventory with each persona as prefix) plan each stage from the stored
results of the previous one; because every stage is a deterministic function of stored
results, re-running a study after an interruption executes only what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from personascope.errors import PersonascopeError
from personascope.models.base import ModelKind
from personascope.models.catalog import ModelSpec
from personascope.runner import Runner
from personascope.store import Store


@dataclass
class StudyContext:
    runner: Runner
    store: Store
    models: list[ModelSpec]
    out_dir: Path
    run_id: str
    seed: int = 0
    quick: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    def kind(self, spec: ModelSpec) -> ModelKind:
        """Whether a model is a base (completion) or chat model, loading it if needed."""
        return spec.kind or self.runner.model_info(spec).kind


class Study(Protocol):
    name: str

    def run(self, ctx: StudyContext) -> dict[str, Any]:
        """Plan, execute through ``ctx.runner``, analyse; return the findings."""
        ...


D = TypeVar("D")


def apply_settings(study: str, design: D, settings: Mapping[str, Any]) -> D:
    """``design`` (a dataclass) with the fields given in a study's settings replaced.

    An unknown key, or a value of the wrong type, is an error naming it; a list given for
    a tuple field (as YAML writes it) becomes a tuple.
    """
    known = {f.name for f in fields(design)}  # type: ignore[arg-type]
    unknown = sorted(set(settings) - known)
    if unknown:
        raise PersonascopeError(
            f"unknown {study} setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values = {key: _checked(study, key, getattr(design, key), v) for key, v in settings.items()}
    return replace(design, **values)  # type: ignore[type-var]


def _checked(study: str, key: str, current: Any, value: Any) -> Any:
    """``value`` if it has the type of the field's current value (a list for a tuple, an
    int for a float; anything where the current value is None)."""
    if current is None or value is None:
        return value
    expected = type(current)
    if expected is tuple and isinstance(value, list):
        return tuple(value)
    fits = isinstance(value, expected) or (expected is float and isinstance(value, int))
    if not fits or (isinstance(value, bool) and expected is not bool):
        raise PersonascopeError(
            f"{study} setting {key} must be of type {expected.__name__}, got {value!r}"
        )
    return value
