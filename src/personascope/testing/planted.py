"""A planted respondent: answers that follow a known trait profile, the truth that scoring
must recover.

This is the one place a fake model is right: its answer distributions are the planted
truth. It reads each prompt as a respondent would: the persona (system message, or the
text before the instruction), the statement, and the anchor lines ``k = label`` (so a
reversed option order is answered correctly). Its two per-request methods are a ``fake/``
behaviour: :func:`personascope.testing.fake.planted_respondent` registers one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from personascope.errors import BackendError
from personascope.instruments.administration import WORDINGS
from personascope.instruments.inventory import Inventory, Item
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    Prompt,
)

# persona text (None = no persona) -> {domain: trait level on the 1-5 answer scale}
Profile = Callable[[str | None], dict[str, float]]
_ANCHOR = re.compile(r"^(\d) = (.+)$", re.MULTILINE)
_STATEMENT = re.compile(r'Statement: "(.+)"')
UNPARSEABLE = "I would rather not say"


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


def persona_and_text(prompt: Prompt) -> tuple[str | None, str]:
    """(persona, the text holding the item): a chat prompt's system message, else the
    text before the instruction (None when there is no persona)."""
    if isinstance(prompt, ChatPrompt):
        system = [m.content for m in prompt.messages if m.role == "system"]
        text = prompt.messages[-1].content
        if system:
            return system[0], text
    else:
        text = prompt.text
    start = max(text.find(w.instruction) for w in WORDINGS.values())
    return (text[:start].strip() or None), text


class PlantedRespondent:
    """Answers item i of persona p with E[answer] = level (key +1) or K + 1 - level.

    ``inventories`` are the instruments whose statements it recognises; ``mass`` is the
    probability it puts on the answer digits when scored; with ``unparseable_every=n``
    a generation whose seed is a multiple of n is a refusal that no parser reads.
    """

    def __init__(
        self,
        inventories: Inventory | Sequence[Inventory],
        profile: Profile,
        mass: float = 0.8,
        unparseable_every: int = 0,
    ) -> None:
        listed = [inventories] if isinstance(inventories, Inventory) else list(inventories)
        self.profile = profile
        self.mass = mass
        self.unparseable_every = unparseable_every
        self.by_statement: dict[str, tuple[Inventory, Item]] = {}
        for inventory in listed:
            for item in inventory.items:
                self.by_statement.setdefault(inventory.statement(item), (inventory, item))

    def answer_distribution(self, prompt: Prompt) -> np.ndarray:
        """The planted distribution over the *displayed digits* of this prompt."""
        persona, text = persona_and_text(prompt)
        statement = _STATEMENT.search(text)
        if statement is None or statement.group(1) not in self.by_statement:
            raise BackendError(f"the planted respondent knows no statement in {text[-200:]!r}")
        inventory, item = self.by_statement[statement.group(1)]
        level = self.profile(persona)[item.domain]
        k = inventory.points
        expected = level if item.key > 0 else k + 1 - level
        on_scale = planted_distribution(expected, k)
        labels = dict(_ANCHOR.findall(text))
        scale = next(
            (w.anchors for w in WORDINGS.values() if w.anchors and w.anchors[0] in labels.values()),
            inventory.scale_labels,
        )
        return np.array([on_scale[scale.index(labels[str(d)])] for d in range(1, k + 1)])

    def score(self, request: ChoiceRequest) -> ChoiceResult:
        """The planted distribution times ``mass`` on the answer digits."""
        dist = self.answer_distribution(request.prompt) * self.mass
        logprobs = tuple(math.log(p) if p > 0 else -1e4 for p in dist)
        return ChoiceResult(logprobs, float(dist.sum()))

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """The most likely digit (or a refusal, every ``unparseable_every`` seeds)."""
        if self.unparseable_every and request.seed % self.unparseable_every == 0:
            text = UNPARSEABLE
        else:
            text = f"{int(np.argmax(self.answer_distribution(request.prompt))) + 1}"
        return GenerationResult(text, (), (), "stop", 0)
