"""Typed findings: what a study returns, stores and the report reads.

Every study returns one :class:`Findings` dataclass. It serialises to plain JSON with
:meth:`Findings.to_json` (numpy numbers become Python numbers, non-finite floats ``None``,
:class:`~personascope.metrics.estimate.Estimate` fields the one stored encoding
``{"value", "low", "high", "n", "method"}``) and is rebuilt from that JSON, field types
and all, by :meth:`Findings.from_json`; so a report is rebuilt from the store alone and a
notebook gets the same objects back from a finished run.

A field is stored under its name, in declaration order; the field metadata
:func:`stored_as` names another key (one that is not a Python name, such as ``lambda``),
and :data:`OMIT_IF_NONE` marks a key the JSON leaves out while the field is ``None`` (a
key that only some results have).

This package depends only on :mod:`personascope.metrics.estimate`: the report and the
claims table read findings without importing any study or backend.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar, Union

from personascope.errors import PersonascopeError
from personascope.metrics.estimate import Estimate, jsonable

F = TypeVar("F", bound="Findings")

# The name a study's findings are stored under (``Store.put_finding(study, FINDINGS_KEY, ...)``).
FINDINGS_KEY = "findings"
ESTIMATE_KEYS = frozenset({"value", "low", "high", "n", "method"})
_KEY = "personascope.findings.key"
_OMIT_NONE = "personascope.findings.omit_none"


class FindingsError(PersonascopeError):
    """Stored findings that do not match the study's findings type."""


OMIT_IF_NONE: Mapping[str, Any] = types.MappingProxyType({_OMIT_NONE: True})
"""Field metadata (``field(default=None, metadata=OMIT_IF_NONE)``): the JSON leaves the key
out while the field is ``None``, and an absent key decodes to ``None``."""


def stored_as(key: str) -> Mapping[str, Any]:
    """Field metadata (``field(metadata=stored_as("lambda"))``): the field is stored under
    the JSON key ``key`` (one that is not a Python name)."""
    return types.MappingProxyType({_KEY: key})


def _key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get(_KEY, f.name))


def to_json(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses as objects, estimates in their encoding."""
    if isinstance(value, Estimate):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _key(f): to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(_OMIT_NONE) and getattr(value, f.name) is None)
        }
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return jsonable(value)


def from_json(kind: Any, data: Any, where: str = "findings") -> Any:
    """``data`` (JSON) decoded as the type ``kind``; a mismatch is a :class:`FindingsError`
    naming the path (``where``) of the value."""
    if kind is Any or data is None:
        return data
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return from_json(options[0] if len(options) == 1 else Any, data, where)
    if kind is Estimate:
        _expect(isinstance(data, Mapping), where, "an estimate object")
        return Estimate.from_dict(data)
    if dataclasses.is_dataclass(kind):
        _expect(isinstance(data, Mapping), where, f"an object ({kind.__name__})")
        hints = typing.get_type_hints(kind)
        values = {}
        for f in dataclasses.fields(kind):
            key = _key(f)
            if key in data:
                values[f.name] = from_json(hints[f.name], data[key], f"{where}.{key}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise FindingsError(f"{where}: missing {key!r}")
        return kind(**values)
    args = typing.get_args(kind)
    if origin in (dict, Mapping):
        _expect(isinstance(data, Mapping), where, "an object")
        value_type = args[1] if args else Any
        return {k: from_json(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if origin in (list, tuple):
        _expect(isinstance(data, list | tuple), where, "a list")
        item = args[0] if args else Any
        items = [from_json(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
        return items if origin is list else tuple(items)
    if kind is float:
        _expect(isinstance(data, int | float) and not isinstance(data, bool), where, "a number")
        return float(data)
    if isinstance(kind, type) and kind in (int, str, bool):
        _expect(isinstance(data, kind), where, kind.__name__)
    return data


def _expect(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise FindingsError(f"{where}: expected {what}")


def is_estimate(data: Any) -> bool:
    """Whether a JSON value is a stored estimate (``{"value", "low", "high", "n", "method"}``)."""
    return isinstance(data, Mapping) and set(data) >= ESTIMATE_KEYS


def estimates_in(data: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every stored estimate in a JSON tree, with its dotted path (lists by index)."""
    if is_estimate(data):
        yield path, data
        return
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from estimates_in(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from estimates_in(value, f"{path}[{i}]")


@dataclasses.dataclass
class EstimateRecord:
    """An estimate stored as ``{"value", "low", "high", "n", "method"}`` without the
    ``params`` of an :class:`Estimate`; subclasses add the keys stored after these (a
    curve's turn, a bootstrap score's counts)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    method: str

    @property
    def estimate(self) -> Estimate:
        """The record as an :class:`Estimate` (for formatting)."""
        ci = None if self.low is None or self.high is None else (self.low, self.high)
        return Estimate(self.value, ci, self.n, self.method)  # type: ignore[arg-type]


@dataclasses.dataclass
class DetailedRecord(EstimateRecord):
    """An estimate record with the ``params`` and ``note`` of an :class:`Estimate`'s
    encoding where the estimate has them, absent from the JSON where not (an estimate
    made without an interval method, e.g. from fewer than two values); subclasses add
    the keys stored after these."""

    params: dict[str, Any] | None = dataclasses.field(default=None, metadata=OMIT_IF_NONE)
    note: str | None = dataclasses.field(default=None, metadata=OMIT_IF_NONE)


@dataclasses.dataclass
class Findings:
    """Base of every study's findings (subclasses are dataclasses).

    ``models`` maps a model id to that model's results, whose estimates the tidy frame
    lists; :meth:`headline` gives the few numbers ``summary.json`` shows per model.
    """

    study: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_json(cls: type[F], data: Mapping[str, Any]) -> F:
        return from_json(cls, data, cls.study or cls.__name__)

    def per_model(self) -> Mapping[str, Any]:
        """Model id -> that model's findings (JSON); ``{}`` when the study has none."""
        models = getattr(self, "models", None)
        return to_json(models) if isinstance(models, Mapping) else {}

    def estimate_rows(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """(model id, measure path, estimate) for every estimate of every model."""
        for model_id, data in self.per_model().items():
            for path, estimate in estimates_in(data):
                yield model_id, path, estimate

    def headline(self) -> dict[str, Any]:
        """The study's entry in ``summary.json`` (default: all of its findings)."""
        return self.to_json()


@dataclasses.dataclass
class GenericFindings(Findings):
    """Findings of a study that declares no type of its own: the JSON as it is."""

    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return to_json(self.data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GenericFindings:
        return cls(dict(data))

    def per_model(self) -> Mapping[str, Any]:
        models = self.data.get("models")
        return models if isinstance(models, Mapping) else {}
