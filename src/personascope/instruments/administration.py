"""Administering an inventory: one request per (persona, item), under recorded controls.

Every item is its own request. Its prompt starts with the persona (or nothing), then
the instruction and the answer options, then the item; the item comes last, so all the
items of one persona share everything before it and a backend that reuses its KV cache
evaluates only the item's few tokens.

* **choice mode** (default): a :class:`ChoiceRequest` with options ``"1" .. "K"``; the
  option log-probabilities, normalised over the options, are the answer distribution,
  and the raw probability mass on the options is kept (a validity signal).
* **generate mode** (backends without log-probabilities): ``samples`` seeded answers
  per item; the first digit of each is parsed, the distribution is the share of each
  answer among the parsed ones, and unparseable answers are counted.

Controls, recorded with every result (:class:`Condition`):

* ``wording``: one of :data:`WORDINGS` (three instructions with their own anchors);
* ``reverse_options``: the anchors are listed from the top of the scale down, so the
  digit 1 means "very accurate"; answers are mapped back to the scale before scoring;
* ``placement`` (chat models): the persona as the system message or inline, at the
  top of the user message. Base models always get it inline, as text;
* ``context`` and ``order_seed``: with ``context="none"`` each item is asked on its
  own, so no earlier item can influence it and presentation order does not exist for
  these requests (``order_seed`` is ignored and recorded as ``None``). With
  ``context="listed"`` the prompt lists every statement of the inventory, in the order
  drawn from ``order_seed``, before asking about one of them: the order the respondent
  has seen the items in becomes part of the (shared) prefix, and two seeds measure
  order effects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from personascope.errors import PersonascopeError
from personascope.instruments.inventory import Inventory, load_inventory
from personascope.instruments.scoring import Scores, score_distributions
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    Message,
    ModelKind,
    Prompt,
    Result,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.runner import Runner


@dataclass(frozen=True)
class Wording:
    """An instruction and, for 5-point scales, its own answer anchors."""

    name: str
    instruction: str
    anchors: tuple[str, ...] | None = None  # None: the inventory's scale labels


WORDINGS: dict[str, Wording] = {
    w.name: w
    for w in (
        Wording(
            "accuracy",
            "Describe yourself as you generally are now, not as you wish to be in the "
            "future. How accurately does the statement below describe you?",
        ),
        Wording(
            "agreement",
            "How much do you agree or disagree with the statement below about yourself?",
            (
                "Disagree strongly",
                "Disagree a little",
                "Neither agree nor disagree",
                "Agree a little",
                "Agree strongly",
            ),
        ),
        Wording(
            "likeness",
            "How well does the statement below describe the kind of person you are?",
            (
                "Very unlike me",
                "Somewhat unlike me",
                "Neither like nor unlike me",
                "Somewhat like me",
                "Very much like me",
            ),
        ),
    )
}

Placement = Literal["system", "inline"]


@dataclass(frozen=True)
class Condition:
    """The controls one administration runs under; stored with every result."""

    wording: str = "accuracy"
    reverse_options: bool = False
    placement: Placement = "system"
    context: Literal["none", "listed"] = "none"
    order_seed: int = 0
    mode: Literal["choice", "generate"] = "choice"
    samples: int = 5  # generate mode: answers sampled per item
    temperature: float = 1.0  # generate mode
    seed: int = 0  # generate mode: seed of the first sample

    def __post_init__(self) -> None:
        if self.wording not in WORDINGS:
            raise PersonascopeError(
                f"unknown wording {self.wording!r}; known: {', '.join(WORDINGS)}"
            )
        if self.placement not in ("system", "inline"):
            raise PersonascopeError(f"placement must be 'system' or 'inline': {self.placement!r}")
        if self.context not in ("none", "listed"):
            raise PersonascopeError(f"context must be 'none' or 'listed': {self.context!r}")
        if self.mode not in ("choice", "generate"):
            raise PersonascopeError(f"mode must be 'choice' or 'generate': {self.mode!r}")
        if self.samples < 1:
            raise PersonascopeError(f"samples must be >= 1, got {self.samples}")

    def record(self, kind: ModelKind) -> dict[str, Any]:
        """The settings that actually shaped the prompts, for provenance."""
        data = asdict(self)
        data["placement"] = self.placement if kind == "chat" else "inline"
        if self.context == "none":
            data["order_seed"] = None
        if self.mode == "choice":
            data.update(samples=None, temperature=None, seed=None)
        return data

    def label(self, kind: ModelKind) -> str:
        """A short name, e.g. ``accuracy`` or ``agreement/reversed/inline``."""
        parts = [self.wording]
        if self.reverse_options:
            parts.append("reversed")
        if kind == "chat" and self.placement == "inline":
            parts.append("inline")
        if self.context == "listed":
            parts.append(f"listed-{self.order_seed}")
        if self.mode == "generate":
            parts.append("generated")
        return "/".join(parts)


# --- prompts ----------------------------------------------------------------------------


def anchors(inventory: Inventory, condition: Condition) -> tuple[str, ...]:
    """The anchor labels in display order (reversed when the options are reversed)."""
    wording = WORDINGS[condition.wording]
    labels = wording.anchors
    if labels is None or len(labels) != inventory.points:
        labels = inventory.scale_labels
    return tuple(reversed(labels)) if condition.reverse_options else tuple(labels)


def item_order(inventory: Inventory, seed: int) -> list[int]:
    """The presentation order drawn from ``seed`` (``numpy.random.default_rng``)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(len(inventory.items))]


def question_head(inventory: Inventory, condition: Condition) -> str:
    """Everything of the question that comes before the item (shared by all items)."""
    k = inventory.points
    lines = [f"{WORDINGS[condition.wording].instruction} Answer with a number from 1 to {k}:"]
    lines += [f"{i} = {label}" for i, label in enumerate(anchors(inventory, condition), 1)]
    head = "\n".join(lines)
    if condition.context == "listed":
        statements = [
            inventory.statement(inventory.items[i])
            for i in item_order(inventory, condition.order_seed)
        ]
        head += "\n\nThe questionnaire's statements are:\n" + "\n".join(
            f"- {s}" for s in statements
        )
    return head


def item_question(inventory: Inventory, item_index: int, condition: Condition) -> str:
    """The question of one item: the shared head, then the statement."""
    return (
        f"{question_head(inventory, condition)}\n\n"
        f'Statement: "{inventory.statement(inventory.items[item_index])}"'
    )


def item_prompt(
    inventory: Inventory,
    item_index: int,
    persona: str | None,
    kind: ModelKind,
    condition: Condition,
) -> Prompt:
    """The prompt for one item, for a base (text) or chat model."""
    question = item_question(inventory, item_index, condition)
    if kind == "base":
        prefix = f"{persona}\n\n" if persona else ""
        return TextPrompt(f"{prefix}{question}\nAnswer: ")
    if persona and condition.placement == "system":
        messages = (Message("system", persona), Message("user", question))
    elif persona:
        messages = (Message("user", f"{persona}\n\n{question}"),)
    else:
        messages = (Message("user", question),)
    return ChatPrompt(messages, assistant_prefix="Answer: ")


def plan_requests(
    inventory: Inventory,
    personas: Sequence[str | None],
    kind: ModelKind,
    condition: Condition,
) -> list[ChoiceRequest] | list[GenerationRequest]:
    """All requests of one administration, persona-major, items in inventory order.

    Choice mode: one request per (persona, item). Generate mode: ``samples`` requests
    per (persona, item), seeds ``condition.seed .. + samples - 1``.
    """
    prompts = [
        item_prompt(inventory, i, persona, kind, condition)
        for persona in personas
        for i in range(len(inventory.items))
    ]
    if condition.mode == "choice":
        options = tuple(str(i) for i in range(1, inventory.points + 1))
        return [ChoiceRequest(prompt, options) for prompt in prompts]
    sampler = SamplerSettings(temperature=condition.temperature, max_tokens=4, stop=("\n",))
    return [
        GenerationRequest(prompt, sampler, condition.seed + s)
        for prompt in prompts
        for s in range(condition.samples)
    ]


_ANSWER = re.compile(r"\s*([1-9])(?!\d)")


def parse_answer(text: str, points: int) -> int | None:
    """The answer digit a generated text starts with (1..points), or None."""
    match = _ANSWER.match(text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= points else None


# --- collecting results ---------------------------------------------------------------


@dataclass
class Administration:
    """One inventory given to a list of personas by one model under one condition.

    ``probs[p, i, k]`` is the probability of scale point k+1 (after undoing a reversed
    option order) for persona p and item i. ``option_mass[p, i]`` is the raw probability
    on the options (choice mode) or the share of parseable samples (generate mode);
    ``parse_failures[p, i]`` counts unparseable samples (always 0 in choice mode).
    """

    inventory: Inventory
    condition: Condition
    kind: ModelKind
    model_id: str
    model_key: str
    personas: tuple[str | None, ...]
    probs: np.ndarray
    option_mass: np.ndarray
    parse_failures: np.ndarray
    scores: Scores = field(init=False)

    def __post_init__(self) -> None:
        self.scores = score_distributions(self.inventory, self.probs)

    def provenance(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_key": self.model_key,
            "model_kind": self.kind,
            **self.inventory.provenance(),
            "condition": self.condition.record(self.kind),
            "condition_label": self.condition.label(self.kind),
            "prompt_template": prompt_template(self.inventory, self.kind, self.condition),
            "n_personas": len(self.personas),
        }


def prompt_template(inventory: Inventory, kind: ModelKind, condition: Condition) -> str:
    """The prompt with placeholders, as stored in provenance."""
    prompt = item_prompt(inventory, 0, "{persona}", kind, condition)
    statement = inventory.statement(inventory.items[0])
    if isinstance(prompt, TextPrompt):
        return prompt.text.replace(statement, "{statement}")
    rendered = "\n".join(f"[{m.role}] {m.content}" for m in prompt.messages)
    return rendered.replace(statement, "{statement}") + f"\n[assistant] {prompt.assistant_prefix}"


def collect(
    inventory: Inventory,
    personas: Sequence[str | None],
    kind: ModelKind,
    condition: Condition,
    results: Sequence[Result],
    model_id: str = "",
    model_key: str = "",
) -> Administration:
    """Turn the results of :func:`plan_requests` (same order) into an :class:`Administration`."""
    n_p, n_i, k = len(personas), len(inventory.items), inventory.points
    per_item = 1 if condition.mode == "choice" else condition.samples
    if len(results) != n_p * n_i * per_item:
        raise ValueError(f"expected {n_p * n_i * per_item} results, got {len(results)}")
    probs = np.zeros((n_p, n_i, k))
    mass = np.zeros((n_p, n_i))
    failures = np.zeros((n_p, n_i), dtype=int)
    for p in range(n_p):
        for i in range(n_i):
            start = (p * n_i + i) * per_item
            chunk = results[start : start + per_item]
            if condition.mode == "choice":
                result = chunk[0]
                assert isinstance(result, ChoiceResult)
                probs[p, i] = result.probs
                mass[p, i] = result.option_mass
            else:
                counts = np.zeros(k)
                for result in chunk:
                    assert isinstance(result, GenerationResult)
                    answer = parse_answer(result.text, k)
                    if answer is None:
                        failures[p, i] += 1
                    else:
                        counts[answer - 1] += 1
                parsed = counts.sum()
                probs[p, i] = counts / parsed if parsed else np.nan
                mass[p, i] = parsed / per_item
    if condition.reverse_options:
        probs = probs[:, :, ::-1].copy()
    return Administration(
        inventory, condition, kind, model_id, model_key, tuple(personas), probs, mass, failures
    )


def administer(
    runner: Runner,
    spec: ModelSpec,
    personas: Sequence[str | None],
    inventory: Inventory | str = "ipip50",
    condition: Condition | None = None,
    kind: ModelKind | None = None,
    label: str = "",
) -> Administration:
    """Give ``inventory`` to each persona prefix (None = no persona) through ``runner``.

    The entry point for studies: plans the requests, runs them (cached in the store),
    and returns the distributions and scores; see :func:`personascope.instruments.validity.
    diagnose` for the validity verdicts of the result.
    """
    inv = load_inventory(inventory) if isinstance(inventory, str) else inventory
    cond = condition or Condition()
    model_kind: ModelKind = kind or spec.kind or runner.model_info(spec).kind
    requests = plan_requests(inv, personas, model_kind, cond)
    label = label or f"{inv.id} {cond.label(model_kind)} {spec.model_id}"
    results: Sequence[Result] = (
        runner.score(spec, requests, label)  # type: ignore[arg-type]  # choice mode plans choices
        if cond.mode == "choice"
        else runner.generate(spec, requests, label)  # type: ignore[arg-type]
    )
    return collect(inv, personas, model_kind, cond, results, spec.model_id, spec.key)
