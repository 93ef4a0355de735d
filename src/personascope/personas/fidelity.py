"""Fidelity: does a persona's text express the attributes it was given?

Two measurements, reported per attribute:

1. **Scoring back with choice requests.** For each assigned attribute a judge model
   reads only the persona text and answers a multiple-choice question ("Which age range
   fits this person best? 1. 18-29 2. 45-64 ..."), scored from option log-probabilities
   (no sampling, no parsing). Options are shown in an order shuffled per persona and
   attribute, so a judge's position habit becomes noise instead of a bias toward one
   value. Agreement = share of personas whose most probable option is the assigned one,
   against chance 1/k.
2. **The trait-adjective lexicon** (Goldberg 1992; :mod:`personascope.instruments.adjectives`)
   for Big Five targets: the Spearman correlation between assigned T-scores and the
   text's lexicon score, and how often the lexicon's sign matches the assigned pole.

Small judges answer from habit: ``position_bias`` (share of answers on the judge's
favourite position) and a verdict say when agreement numbers mean nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from personascope.instruments.adjectives import DOMAINS, lexicon_scores
from personascope.metrics.estimate import estimate_dict
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    Message,
    ModelKind,
    Prompt,
    TextPrompt,
)

MAX_TEXT_CHARS = 1200
POSITION_BIAS_INVALID = 0.8
JUDGE_TEMPLATE = "fidelity-judge-v1"


@dataclass(frozen=True)
class AttributeTarget:
    """One assigned attribute to score back: its question, value and answer options.

    ``ordered`` marks ordered levels (low < average < high): agreement then also gets
    a rank correlation between ``t_score`` (the assigned level on a continuous scale)
    and the judge's expected level. ``text`` overrides the text to judge (a single turn
    of a conversation instead of the whole persona).
    """

    attribute: str
    question: str
    value: str
    options: tuple[str, ...]
    t_score: float | None = None
    ordered: bool = False
    text: str | None = None

    def __post_init__(self) -> None:
        if self.value not in self.options:
            raise ValueError(f"{self.attribute}: value {self.value!r} is not among its options")
        if not 2 <= len(self.options) <= 9:
            raise ValueError(f"{self.attribute}: needs 2-9 options, got {len(self.options)}")


def _stable_rng(*parts: str) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def choose_options(
    value: str, options: Sequence[str], key: str, max_options: int = 5
) -> tuple[str, ...]:
    """``options`` if few enough, else ``value`` plus distractors drawn (stably, by ``key``)."""
    options = tuple(options)
    if len(options) <= max_options:
        return options
    others = [o for o in options if o != value]
    picked = _stable_rng(key, value).choice(len(others), size=max_options - 1, replace=False)
    keep = {value, *(others[int(i)] for i in picked)}
    return tuple(o for o in options if o in keep)


def shown_order(target: AttributeTarget, persona_id: str) -> tuple[str, ...]:
    """The options in the order the judge sees them (a stable shuffle per persona)."""
    order = _stable_rng(persona_id, target.attribute, target.text or "").permutation(
        len(target.options)
    )
    return tuple(target.options[int(i)] for i in order)


def judge_prompt(kind: ModelKind, text: str, question: str, options: Sequence[str]) -> Prompt:
    """The multiple-choice question about a text; the answer is one digit after 'Answer: '."""
    text = " ".join(text.split())[:MAX_TEXT_CHARS]
    listing = "\n".join(f"{i}. {o}" for i, o in enumerate(options, start=1))
    if kind == "chat":
        content = (
            f"Here is a description of a person:\n\n{text}\n\n{question}\n{listing}\n"
            "Answer with the number of the best option."
        )
        return ChatPrompt((Message("user", content),), assistant_prefix="Answer: ")
    return TextPrompt(
        f"Description of a person: {text}\n\nQuestion: {question}\n{listing}\nAnswer: "
    )


@dataclass(frozen=True)
class JudgeItem:
    persona_id: str
    target: AttributeTarget
    shown: tuple[str, ...]
    request: ChoiceRequest


def plan_judgements(
    kind: ModelKind, items: Sequence[tuple[str, str, AttributeTarget]]
) -> list[JudgeItem]:
    """Choice requests for ``(persona_id, persona text, target)`` triples."""
    planned = []
    for persona_id, text, target in items:
        shown = shown_order(target, persona_id)
        prompt = judge_prompt(kind, target.text or text, target.question, shown)
        digits = tuple(str(i) for i in range(1, len(shown) + 1))
        planned.append(JudgeItem(persona_id, target, shown, ChoiceRequest(prompt, digits)))
    return planned


@dataclass(frozen=True)
class Judgement:
    item: JudgeItem
    probs: tuple[float, ...]
    option_mass: float

    @property
    def predicted(self) -> str:
        return self.item.shown[int(np.argmax(self.probs))]

    @property
    def predicted_position(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def p_assigned(self) -> float:
        return self.probs[self.item.shown.index(self.item.target.value)]

    @property
    def correct(self) -> bool:
        return self.predicted == self.item.target.value

    def expected_level(self) -> float:
        """sum_i p_i * rank_i over the options in their natural (ordered) order."""
        ranks = {o: r for r, o in enumerate(self.item.target.options)}
        return sum(p * ranks[o] for p, o in zip(self.probs, self.item.shown))


def judgements(items: Sequence[JudgeItem], results: Sequence[ChoiceResult]) -> list[Judgement]:
    return [Judgement(i, r.probs, r.option_mass) for i, r in zip(items, results)]


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Wilson score interval for a proportion k/n (Wilson 1927); None when n = 0."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


SPEARMAN_METHOD = "Spearman rho; Fisher z interval, SE = sqrt(1.06 / (n - 3))"
ACCURACY_METHOD = "mean chance-corrected accuracy over attributes; bootstrap over personas"


def spearman_with_ci(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho with a 95% CI from Fisher's z with SE = sqrt(1.06 / (n - 3))
    (Fieller, Hartley & Pearson 1957). Needs n >= 4 and variation in both; else None."""
    n = len(x)
    if n < 4 or len(set(x)) < 2 or len(set(y)) < 2:
        return estimate_dict(None, None, n, SPEARMAN_METHOD)
    rho = float(stats.spearmanr(x, y).statistic)
    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    half = 1.959964 * math.sqrt(1.06 / (n - 3))
    return estimate_dict(rho, (math.tanh(z - half), math.tanh(z + half)), n, SPEARMAN_METHOD)


def _chance_corrected(accuracy: float, chance: float) -> float:
    """(accuracy - chance) / (1 - chance): 0 at chance, 1 when every answer is right."""
    return (accuracy - chance) / (1 - chance)


def agreement_table(found: Sequence[Judgement]) -> dict[str, dict[str, Any]]:
    """Per attribute: accuracy (Wilson CI), chance, chance-corrected accuracy, mean
    probability on the assigned option, the judge's position bias and a verdict; for
    ordered attributes also Spearman(assigned T-score, expected level)."""
    by_attribute: dict[str, list[Judgement]] = defaultdict(list)
    for j in found:
        by_attribute[j.item.target.attribute].append(j)
    table = {}
    for attribute, group in sorted(by_attribute.items()):
        n = len(group)
        k = sum(j.correct for j in group)
        chance = float(np.mean([1 / len(j.item.shown) for j in group]))
        low, high = wilson_interval(k, n) or (0.0, 1.0)  # n >= 1 here
        positions = np.bincount([j.predicted_position for j in group])
        bias = float(positions.max() / n)
        row: dict[str, Any] = {
            "n": n,
            "accuracy": k / n,
            "accuracy_ci": [low, high],
            "chance": chance,
            "chance_corrected": _chance_corrected(k / n, chance),
            "chance_corrected_ci": [
                _chance_corrected(low, chance),
                _chance_corrected(high, chance),
            ],
            "mean_p_assigned": float(np.mean([j.p_assigned for j in group])),
            "mean_option_mass": float(np.mean([j.option_mass for j in group])),
            "position_bias": bias,
            "verdict": _verdict(bias, n, positions),
        }
        if group[0].item.target.ordered:
            assigned = [j.item.target.t_score for j in group if j.item.target.t_score is not None]
            expected = [j.expected_level() for j in group if j.item.target.t_score is not None]
            row["spearman_t_vs_expected"] = spearman_with_ci(assigned, expected)
        table[attribute] = row
    return table


def _verdict(bias: float, n: int, positions: np.ndarray) -> str:
    if n >= 10 and bias >= POSITION_BIAS_INVALID:
        return (
            f"invalid: the judge picks option {int(positions.argmax()) + 1} for "
            f"{bias:.0%} of questions whatever the text"
        )
    if n < 10:
        return f"weak: only {n} judgements"
    return "valid"


def overall_fidelity(
    found: Sequence[Judgement], n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Mean over attributes of chance-corrected accuracy, with a 95% percentile
    bootstrap CI that resamples personas (the independent units), keeping each
    persona's judgements together."""
    if not found:
        return estimate_dict(None, None, 0, ACCURACY_METHOD, note="no attribute to score")
    personas = sorted({j.item.persona_id for j in found})
    index = {p: i for i, p in enumerate(personas)}
    attributes = sorted({j.item.target.attribute for j in found})
    a_index = {a: i for i, a in enumerate(attributes)}
    correct = np.zeros((len(personas), len(attributes)))
    counted = np.zeros_like(correct)
    chance = np.zeros_like(correct)
    for j in found:
        r, c = index[j.item.persona_id], a_index[j.item.target.attribute]
        correct[r, c] += j.correct
        counted[r, c] += 1
        chance[r, c] += 1 / len(j.item.shown)

    def statistic(rows: np.ndarray) -> float:
        n = counted[rows].sum(axis=0)
        ok = n > 0
        acc = correct[rows].sum(axis=0)[ok] / n[ok]
        base = chance[rows].sum(axis=0)[ok] / n[ok]
        return float(np.mean((acc - base) / (1 - base)))

    value = statistic(np.arange(len(personas)))
    rng = np.random.default_rng(seed)
    boots = [statistic(rng.integers(0, len(personas), len(personas))) for _ in range(n_boot)]
    ci = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
    return estimate_dict(
        value,
        ci,
        len(personas),
        ACCURACY_METHOD,
        n_personas=len(personas),
        n_attributes=len(attributes),
    )


def lexicon_agreement(
    items: Sequence[tuple[str, dict[str, float]]], min_distance: float = 5.0
) -> dict[str, dict[str, Any]]:
    """Per Big Five domain, from ``(text, assigned T-scores)`` pairs: the share of texts
    with any marker of the domain (coverage), Spearman(assigned T, lexicon score) over
    covered texts, and sign agreement (lexicon score > 0 for T > 50 + min_distance,
    < 0 for T < 50 - min_distance) with a Wilson CI. Lexicon: Goldberg (1992)."""
    scored = [(lexicon_scores(text), targets) for text, targets in items]
    table = {}
    for domain in DOMAINS:
        pairs = [(t[domain], s[domain]) for s, t in scored if domain in t]
        covered = [(t, s) for t, s in pairs if s is not None]
        signed = [(t, s) for t, s in covered if abs(t - 50) >= min_distance]
        hits = sum((s > 0) == (t > 50) and s != 0 for t, s in signed)
        table[domain] = {
            "n": len(pairs),
            "coverage": len(covered) / len(pairs) if pairs else None,
            "spearman": spearman_with_ci([t for t, _ in covered], [s for _, s in covered]),
            "sign_agreement": hits / len(signed) if signed else None,
            "sign_agreement_ci": wilson_interval(hits, len(signed)),
            "n_signed": len(signed),
        }
    return table
