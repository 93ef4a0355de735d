"""The ``fake/`` provider: deterministic named behaviours for tests and examples.

``fake/<name>`` is a registered *behaviour*: a function from a generation request to its
result and one from a choice request to its result, with the model kind and a version.
:class:`FakeModel` implements the :class:`~personascope.models.base.LanguageModel`
protocol on top of it, so a fake model runs through the real runner and store like any
backend; its results are cached under ``fake/<name>@<version>`` (change the version when
the behaviour's answers change).

Built-in behaviours:

* ``fake/echo``: generation repeats the last message (or the prompt text), cut to
  ``max_tokens`` words; scoring is uniform over the options;
* ``fake/respondent``: the planted respondent (:mod:`personascope.testing.planted`) on the
  shipped inventories. A persona states its levels as ``O=4.5 C=2`` (domain code, level on
  the 1-5 scale); unstated domains are 3.

Register one of your own with :func:`register_fake`::

    register_fake("shouty", generate=lambda r: GenerationResult("HELLO", (), (), "stop", 0))
    spec = resolve("fake/shouty")
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personascope import __version__
from personascope.errors import BackendError, ModelNotFoundError
from personascope.instruments.inventory import SHIPPED, Inventory, load_inventory
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ModelKind,
)
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.runner import Runner
from personascope.store import Store
from personascope.testing.planted import PlantedRespondent, Profile

Generate = Callable[[GenerationRequest], GenerationResult]
Score = Callable[[ChoiceRequest], ChoiceResult]


@dataclass(frozen=True)
class FakeBehaviour:
    """What ``fake/<name>`` answers: each function maps one request to its result and must
    be deterministic (the same request, seed included, gives the same result)."""

    name: str
    generate: Generate | None
    score: Score | None
    kind: ModelKind
    version: str


_BEHAVIOURS: dict[str, FakeBehaviour] = {}


def register_fake(
    name: str,
    generate: Generate | None = None,
    score: Score | None = None,
    *,
    kind: ModelKind = "chat",
    version: str = "1",
    replace: bool = False,
) -> str:
    """Make ``fake/<name>`` answer with these functions; returns the model id.

    A name that is taken raises ``ValueError`` unless ``replace`` is true (the cache key
    is the name and ``version``: a replaced behaviour with the same version must not
    share a store with the old one).
    """
    if not name or "/" in name:
        raise ValueError(f"a fake behaviour's name is a word without '/': {name!r}")
    if name in _BEHAVIOURS and not replace:
        raise ValueError(f"fake/{name} is already registered (pass replace=True to replace it)")
    _BEHAVIOURS[name] = FakeBehaviour(name, generate, score, kind, version)
    return f"fake/{name}"


def behaviour(name: str) -> FakeBehaviour:
    """The behaviour registered as ``fake/<name>``, or a one-line error naming the known ones."""
    if name not in _BEHAVIOURS:
        known = ", ".join(f"fake/{n}" for n in _BEHAVIOURS)
        raise ModelNotFoundError(f"unknown fake model 'fake/{name}'; registered: {known}")
    return _BEHAVIOURS[name]


def fake_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """The ``fake`` provider's resolver: keyed ``fake/<name>@<version>``."""
    found = behaviour(name)
    return ModelSpec(
        model_id, "fake", name, found.kind, None, f"{model_id}@{found.version}", options
    )


class FakeModel:
    """A registered behaviour as a :class:`~personascope.models.base.LanguageModel`."""

    def __init__(self, spec: ModelSpec) -> None:
        self.behaviour = behaviour(spec.name)
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=self.behaviour.kind,
            file_sha256=None,
            revision=self.behaviour.version,
            backend="fake",
            backend_version=__version__,
            sampler_order=(),
        )

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        if self.behaviour.generate is None:
            raise BackendError(f"{self.info.model_id} does not generate (it only scores)")
        return [self.behaviour.generate(request) for request in requests]

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        if self.behaviour.score is None:
            raise BackendError(f"{self.info.model_id} does not score options (it only generates)")
        return [self.behaviour.score(request) for request in requests]

    def close(self) -> None:
        pass


def fake_runner(folder: Path, model_id: str) -> tuple[Runner, Store, ModelSpec]:
    """A runner on a new store in ``folder`` and the resolved spec of ``model_id``, with
    large batches (fake models are instant; the store commits once per batch)."""
    store = Store(folder)
    runner = Runner(store, "test", batch_size={"choice": 1024}, progress=False)
    return runner, store, resolve(model_id)


# --- built-in behaviours ------------------------------------------------------------------


def _echo(request: GenerationRequest) -> GenerationResult:
    prompt = request.prompt
    text = prompt.messages[-1].content if isinstance(prompt, ChatPrompt) else prompt.text
    words = text.split()
    cut = len(words) > request.sampler.max_tokens
    return GenerationResult(
        " ".join(words[: request.sampler.max_tokens]), (), (), "length" if cut else "stop", 0
    )


def _uniform(request: ChoiceRequest) -> ChoiceResult:
    n = len(request.options)
    return ChoiceResult((-math.log(n),) * n, 1.0)


_LEVEL = re.compile(r"\b([A-Z])=([1-5](?:\.\d+)?)\b")


def stated_levels(persona: str | None) -> dict[str, float]:
    """``fake/respondent``'s profile: ``X=level`` tags in the persona, 3 elsewhere."""
    stated = {code: float(level) for code, level in _LEVEL.findall(persona or "")}
    return defaultdict(lambda: 3.0, stated)


def planted_respondent(
    name: str,
    inventories: Inventory | Sequence[Inventory],
    profile: Profile,
    kind: ModelKind = "chat",
    mass: float = 0.8,
    unparseable_every: int = 0,
    version: str = "1",
) -> str:
    """Register a :class:`~personascope.testing.planted.PlantedRespondent` as
    ``fake/<name>`` (replacing any behaviour of that name: tests re-plant per test, each
    with a new store) and return its model id."""
    respondent = PlantedRespondent(inventories, profile, mass, unparseable_every)
    return register_fake(
        name, respondent.generate, respondent.score, kind=kind, version=version, replace=True
    )


register_fake("echo", _echo, _uniform)
planted_respondent("respondent", [load_inventory(name) for name in SHIPPED], stated_levels)
