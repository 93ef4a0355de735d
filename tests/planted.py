"""A planted respondent: a fake model whose answers follow a known trait profile.

This is the one place a fake model is right: its answer distributions are the planted
truth that scoring must recover. It reads each prompt as a respondent would: the
persona (system message, or the text before the instruction), the statement, and the
anchor lines ``k = label`` (so a reversed option order is answered correctly).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from personascope.instruments.administration import WORDINGS
from personascope.instruments.inventory import Inventory
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    ModelKind,
    Prompt,
)
from personascope.models.catalog import ModelSpec
from personascope.runner import Batch, BatchOutcome, Runner, run_batch
from personascope.store import Store

# persona text (None = no persona) -> {domain: trait level on the 1-5 answer scale}
Profile = Callable[[str | None], dict[str, float]]
_ANCHOR = re.compile(r"^(\d) = (.+)$", re.MULTILINE)
_STATEMENT = re.compile(r'Statement: "(.+)"')


def planted_distribution(expected: float, points: int = 5) -> np.ndarray:
    """Mass on the two answers around ``expected`` so that sum_k k p_k = expected."""
    low = math.floor(expected)
    dist = np.zeros(points)
    if low >= points:
        dist[points - 1] = 1.0
        return dist
    frac = expected - low
    dist[low - 1] = 1 - frac
    dist[low] += frac
    return dist


class PlantedModel:
    """Answers item i of persona p with E[answer] = level (key +1) or K + 1 - level."""

    def __init__(
        self,
        inventory: Inventory,
        profile: Profile,
        kind: ModelKind = "chat",
        mass: float = 0.8,
        unparseable_every: int = 0,
    ) -> None:
        self.inventory = inventory
        self.profile = profile
        self.mass = mass
        self.unparseable_every = unparseable_every
        self.by_statement = {inventory.statement(item): item for item in inventory.items}
        self.info = ModelInfo(
            model_id=f"fake/planted-{kind}",
            kind=kind,
            file_sha256=None,
            revision="planted",
            backend="fake",
            backend_version="0",
            sampler_order=(),
        )

    @staticmethod
    def _text(prompt: Prompt) -> tuple[str | None, str]:
        if isinstance(prompt, ChatPrompt):
            system = [m.content for m in prompt.messages if m.role == "system"]
            user = prompt.messages[-1].content
            return (system[0] if system else None), user
        return None, prompt.text

    def answer_distribution(self, prompt: Prompt) -> np.ndarray:
        """The planted distribution over the *displayed digits* of this prompt."""
        persona, text = self._text(prompt)
        if persona is None:
            starts = [text.find(w.instruction) for w in WORDINGS.values()]
            start = max(starts)
            persona = text[:start].strip() or None
        statement = _STATEMENT.search(text)
        assert statement is not None, text
        item = self.by_statement[statement.group(1)]
        level = self.profile(persona)[item.domain]
        k = self.inventory.points
        expected = level if item.key > 0 else k + 1 - level
        on_scale = planted_distribution(expected, k)
        labels = dict(_ANCHOR.findall(text))
        scale = next(
            (w.anchors for w in WORDINGS.values() if w.anchors and w.anchors[0] in labels.values()),
            self.inventory.scale_labels,
        )
        return np.array([on_scale[scale.index(labels[str(d)])] for d in range(1, k + 1)])

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        out = []
        for request in requests:
            dist = self.answer_distribution(request.prompt) * self.mass
            logprobs = tuple(math.log(p) if p > 0 else -1e4 for p in dist)
            out.append(ChoiceResult(logprobs, float(dist.sum())))
        return out

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        out = []
        for request in requests:
            if self.unparseable_every and request.seed % self.unparseable_every == 0:
                text = "I would rather not say"
            else:
                dist = self.answer_distribution(request.prompt)
                text = f"{int(np.argmax(dist)) + 1}"
            out.append(GenerationResult(text, (), (), "stop", 0))
        return out

    def close(self) -> None:
        pass


class PlantedExecutor:
    """Runs batches on a planted model (anything with ``info`` and the two batched
    operations) in this process."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def model_info(self, spec: ModelSpec) -> ModelInfo:
        return self.model.info

    def execute(self, spec: ModelSpec, batches: Iterable[Batch]) -> Iterator[BatchOutcome]:
        for batch in batches:
            yield BatchOutcome(batch, run_batch(self.model, batch), 0.0, self.model.info)

    def close(self) -> None:
        pass


def planted_runner(tmp: Path, model: PlantedModel) -> tuple[Runner, Store, ModelSpec]:
    store = Store(tmp)
    # large batches: the planted model is instant, the store commits once per batch
    runner = Runner(
        store, "test", executor=PlantedExecutor(model), batch_size={"choice": 1024}, progress=False
    )
    spec = ModelSpec(
        model.info.model_id, "fake", model.info.model_id, model.info.kind, key="fake@planted"
    )
    return runner, store, spec


class PlantedWriter:
    """A fake model that writes persona profiles: the request with seed s gets
    ``profiles[s % len(profiles)]`` (name, age, gender, occupation) as labelled fields."""

    def __init__(self, profiles: list[tuple[str, int, str, str]], kind: ModelKind = "chat"):
        self.profiles = profiles
        self.info = ModelInfo(
            model_id=f"fake/writer-{kind}",
            kind=kind,
            file_sha256=None,
            revision="planted",
            backend="fake",
            backend_version="0",
            sampler_order=(),
        )

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        out = []
        for request in requests:
            name, age, gender, occupation = self.profiles[request.seed % len(self.profiles)]
            text = (
                f" {name}\nAge: {age}\nGender: {gender}\nOccupation: {occupation}\n"
                f"Personality: kind, curious, calm\nDescription: {name} works as a "
                f"{occupation} and likes long walks."
            )
            out.append(GenerationResult(text, (1, 2, 3), (-1.0, -2.0, -3.0), "stop", 0, (0.5,)))
        return out

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        raise AssertionError("the planted writer is only asked for personas")

    def close(self) -> None:
        pass
