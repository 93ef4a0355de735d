"""What a study is and what it is given.

A study is a class with a ``name``, a ``Settings`` dataclass (its defaults are the full
design), a ``quick`` preset (an instance of ``Settings``) and ``run(ctx, settings)``,
which plans requests, hands them to the runner (never to a model) and analyses the
results into typed :class:`~personascope.findings.Findings`. :func:`run_study` is the
one way a study runs: it validates the settings (an unknown key or a wrong type is one
error naming it), runs the study and writes its findings to the store, so that a report
can be rebuilt without a model. Multi-stage studies plan each stage from the stored
results of the previous one; because every stage is a deterministic function of stored
results, re-running a study after an interruption executes only what is missing.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, Union

from personascope.errors import PersonascopeError
from personascope.findings import FINDINGS_KEY, Findings
from personascope.models.base import ModelKind, SamplerSettings
from personascope.models.catalog import ModelSpec
from personascope.runner import Runner
from personascope.store import Store

if TYPE_CHECKING:
    from personascope.personas.persona import Persona


@dataclass
class StudyContext:
    """What a study is given: the runner and store, the models, the run folder and seed.

    ``config`` holds each study's settings section as the user gave it (by study name;
    :func:`run_study` applies it over the preset ``quick`` chooses) and
    ``config["personas_file"]``, a persona file replacing a study's default personas.
    """

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


S = TypeVar("S")
F = TypeVar("F", bound=Findings)


class Study(Generic[S, F]):
    """Base of every study: subclasses set the class attributes and implement ``run``.

    ``Settings`` is a frozen dataclass whose defaults are the full design; ``quick`` is
    the preset ``--quick`` starts from; :meth:`check` adds the checks a type cannot say
    (ranges, combinations); ``run`` returns the study's findings. Settings named like a
    :class:`SamplerSettings` field (``temperature``, ``max_tokens``, ...), and those that
    ``sampler_settings`` maps to one, are checked by SamplerSettings' own rules first.
    """

    name: ClassVar[str]
    Settings: ClassVar[type]
    quick: ClassVar[Any]
    # settings passed to a SamplerSettings field of another name (setting -> field)
    sampler_settings: ClassVar[Mapping[str, str]] = {}

    def settings(self, overrides: Mapping[str, Any] | None = None, quick: bool = False) -> S:
        """The quick preset or the full design with ``overrides`` applied, checked."""
        base = self.quick if quick else self.Settings()
        settings = apply_settings(self.name, base, overrides or {})
        check_sampler_values(self.name, settings, self.sampler_settings)
        self.check(settings)
        return settings

    def check(self, settings: S) -> None:
        """Raise a :class:`PersonascopeError` naming the setting when ``settings`` cannot run."""

    def check_personas(self, personas: Sequence[Persona], source: str) -> None:
        """Raise an :class:`~personascope.errors.InputFileError` when the personas of
        ``audit --personas FILE`` (``source``) cannot serve this study; called before any
        model runs. The default accepts any (or the study does not read them)."""

    def run(self, ctx: StudyContext, settings: S) -> F:
        raise NotImplementedError


def run_study(ctx: StudyContext, study: Study[Any, F], settings: Any | None = None) -> F:
    """Run ``study`` with ``settings`` (default: its section of ``ctx.config`` over the
    preset ``ctx.quick`` chooses), store its findings, and return them."""
    if settings is None:
        settings = study.settings(ctx.config.get(study.name, {}), ctx.quick)
    findings = study.run(ctx, settings)
    ctx.store.put_finding(study.name, FINDINGS_KEY, findings.to_json(), ctx.run_id)
    return findings


D = TypeVar("D")


def apply_settings(study: str, design: D, settings: Mapping[str, Any]) -> D:
    """``design`` (a dataclass) with the fields given in a study's settings replaced.

    An unknown key, or a value that does not fit the field's annotated type, is an error
    naming it; a list given for a tuple field (as YAML writes it) becomes a tuple, an int
    for a float field a float (nan and infinities fit no float field).
    """
    if not isinstance(settings, Mapping):
        raise PersonascopeError(f"{study} settings must be a mapping, got {settings!r}")
    known = {f.name for f in fields(design)}  # type: ignore[arg-type]
    unknown = sorted(set(settings) - known)
    if unknown:
        raise PersonascopeError(
            f"unknown {study} setting(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    hints = typing.get_type_hints(type(design))
    values = {}
    for key, value in settings.items():
        fits, converted = _fit(hints[key], value)
        if not fits:
            raise PersonascopeError(
                f"{study} setting {key} must be {_describe(hints[key])}, got {value!r}"
            )
        values[key] = converted
    return replace(design, **values)  # type: ignore[type-var]


SAMPLER_FIELDS = tuple(f.name for f in fields(SamplerSettings) if f.name != "stop")


def check_sampler_values(study: str, settings: Any, renamed: Mapping[str, str]) -> None:
    """Check each setting of ``settings`` (a dataclass) that becomes a
    :class:`SamplerSettings` field -- one of the same name, or one ``renamed`` maps to a
    field -- by SamplerSettings' own rules, so that ``temperature: -1`` is an error naming
    the setting before any model runs rather than a ``ValueError`` mid-study."""
    names = {f.name for f in fields(settings)}
    wanted = {**{n: n for n in SAMPLER_FIELDS if n in names}, **renamed}
    for setting, target in wanted.items():
        value = getattr(settings, setting)
        if value is None:
            continue
        try:
            SamplerSettings(**{target: value})
        except ValueError as exc:
            raise PersonascopeError(f"{study} setting {setting}: {exc}") from None


def _fit(kind: Any, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits the annotation ``kind``, and the value converted to it."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return True, value
    if origin in (Union, types.UnionType):
        for option in args:
            fits, converted = _fit(option, value)
            if fits:
                return True, converted
        return False, value
    if kind is type(None):
        return value is None, value
    if origin is Literal:
        return value in args, value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            return False, value
        item = args[0] if args else Any
        converted = [_fit(item, v) for v in value]
        if not all(ok for ok, _ in converted):
            return False, value
        items = [v for _, v in converted]
        return True, tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        return isinstance(value, Mapping), dict(value) if isinstance(value, Mapping) else value
    if kind is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False, value
        converted = float(value) if abs(value) < 1e308 else math.inf  # no OverflowError
        return (True, converted) if math.isfinite(converted) else (False, value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(kind, type):
        return isinstance(value, kind), value
    return True, value


def _describe(kind: Any) -> str:
    """An annotation in words: ``int``, ``int or None``, ``one of 'a', 'b'``, ``a list``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (tuple, list):
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    if kind is float:
        return "a finite number"
    return "None" if kind is type(None) else getattr(kind, "__name__", str(kind))
