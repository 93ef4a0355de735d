"""The stimuli of the bias study: topics, identities, debiasing instructions and 2x2 items.

Kahan, Peters, Dawson and Slovic (2017, "Motivated numeracy and enlightened self-government",
Behavioural Public Policy 1(1)) showed people a 2x2 table of counts (treated / untreated x
good / bad outcome) in which the naive reading (the largest cell) and the correct reading
(compare the two groups' rates) disagree; the classic counts are 223 / 75 for the treated
group and 107 / 21 for the untreated one (rates 74.8 % and 83.6 %: the treatment made the
good outcome *less* likely). Dash, Reymond, Spiro and Caliskan (2025, arXiv 2506.20020) gave
the task to language models under political personas.

:func:`make_items` draws item variants with known ground truth. For item ``i``:

* the correct conclusion is ``hurts`` for even ``i`` and ``helps`` for odd ``i``; the
  treated group comes first for ``i // 2`` even; the good outcome first for ``i // 4``
  even, so every block of 8 items balances conclusion, row order and column order;
* group sizes ``n_t ~ U{250..350}`` (treated) and ``n_u ~ U{100..150}``; the rate of the
  *majority* outcome is ``p_hi ~ U(0.78, 0.86)`` in the untreated group and
  ``p_lo = p_hi - U(0.08, 0.12)`` in the treated group. The majority outcome is the good
  one when the correct conclusion is ``hurts`` and the bad one when it is ``helps``, so
  the largest cell (treated x majority) always points to the wrong conclusion;
* item 0 is Kahan's classic table (223 / 75, 107 / 21).

Every topic is shown with the same numbers (the control topic differs from the political
one only in its words). The two conclusions are the options ``1`` and ``2``, in both
orders; the answer is read from their log-probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from personascope.config import read_yaml
from personascope.errors import InputFileError
from personascope.models.base import ChatPrompt, Message, ModelKind, Prompt, TextPrompt

DATA_FILE = Path(__file__).parent / "data" / "bias.yaml"
CLASSIC = ((223, 75), (107, 21))  # (treated good, bad), (untreated good, bad)
Conclusion = Literal["helps", "hurts"]
CONCLUSIONS: tuple[Conclusion, Conclusion] = ("helps", "hurts")
QUESTION = "Which conclusion do these results support? Answer with the number of the conclusion."


@dataclass(frozen=True)
class Topic:
    id: str
    political: bool
    setting: str
    groups: tuple[str, str]  # treated, untreated
    outcomes: tuple[str, str]  # good, bad
    conclusions: dict[str, str]  # helps / hurts -> text


@dataclass(frozen=True)
class Identity:
    """A persona of the design; ``text`` None is the no-persona baseline."""

    id: str
    text: str | None
    congruent: dict[str, str]  # topic id -> the conclusion that agrees with the identity


@dataclass(frozen=True)
class Debias:
    id: str
    text: str


@dataclass(frozen=True)
class BiasData:
    topics: tuple[Topic, ...]
    identities: tuple[Identity, ...]
    debias: tuple[Debias, ...]
    source: str

    @property
    def political(self) -> tuple[Topic, ...]:
        return tuple(t for t in self.topics if t.political)

    @property
    def controls(self) -> tuple[Topic, ...]:
        return tuple(t for t in self.topics if not t.political)


@dataclass(frozen=True)
class Item:
    """One 2x2 table: ``counts[g][o]`` for group g (0 treated) and outcome o (0 good)."""

    index: int
    correct: Conclusion
    counts: tuple[tuple[int, int], tuple[int, int]]
    treated_first: bool
    good_first: bool


# --- data ---------------------------------------------------------------------------------

_KEYS = {
    "": {"topics", "personas", "debias"},
    "topics": {"id", "political", "setting", "groups", "outcomes", "conclusions"},
    "personas": {"id", "text", "congruent"},
    "debias": {"id", "text"},
}


def _entries(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        raise InputFileError(f"{where}: `{key}` must be a non-empty list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputFileError(f"{where}: {key}[{i}] must be a mapping")
        unknown, missing = set(entry) - _KEYS[key], _KEYS[key] - set(entry)
        if unknown or missing:
            what = f"unknown key(s) {sorted(unknown)}" if unknown else f"missing {sorted(missing)}"
            raise InputFileError(f"{where}: {key}[{i}]: {what}")
    ids = [str(e["id"]) for e in entries]
    if len(set(ids)) != len(ids):
        raise InputFileError(f"{where}: `{key}` ids must be distinct, got {ids}")
    return entries


def _pair(value: Any, where: str) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise InputFileError(f"{where} must be a list of two strings")
    return value[0], value[1]


def parse_data(data: Any, where: str) -> BiasData:
    """The stimuli of a parsed YAML document, checked (a bad entry is one error naming it)."""
    if not isinstance(data, Mapping):
        raise InputFileError(f"{where}: expected a mapping with topics, personas, debias")
    unknown = set(data) - _KEYS[""]
    if unknown:
        raise InputFileError(f"{where}: unknown key(s) {sorted(unknown)}")
    topics = []
    for i, t in enumerate(_entries(data, "topics", where)):
        conclusions = t["conclusions"]
        if not isinstance(conclusions, Mapping) or set(conclusions) != set(CONCLUSIONS):
            raise InputFileError(f"{where}: topics[{i}].conclusions needs helps and hurts")
        topics.append(
            Topic(
                str(t["id"]),
                bool(t["political"]),
                str(t["setting"]).strip(),
                _pair(t["groups"], f"{where}: topics[{i}].groups"),
                _pair(t["outcomes"], f"{where}: topics[{i}].outcomes"),
                {k: str(v) for k, v in conclusions.items()},
            )
        )
    political = {t.id for t in topics if t.political}
    identities = []
    for i, p in enumerate(_entries(data, "personas", where)):
        congruent = p["congruent"] or {}
        if not isinstance(congruent, Mapping) or not all(
            k in political and v in CONCLUSIONS for k, v in congruent.items()
        ):
            raise InputFileError(
                f"{where}: personas[{i}].congruent must map political topics "
                f"({', '.join(sorted(political))}) to helps or hurts"
            )
        text = p["text"]
        identities.append(
            Identity(str(p["id"]), None if text is None else str(text), dict(congruent))
        )
    debias = [Debias(str(d["id"]), str(d["text"]).strip()) for d in _entries(data, "debias", where)]
    if not political or len(political) == len(topics):
        raise InputFileError(f"{where}: needs at least one political and one control topic")
    if not any(i.text is None for i in identities) or not any(i.congruent for i in identities):
        raise InputFileError(
            f"{where}: needs the no-persona baseline (text: null) and an identity persona"
        )
    return BiasData(tuple(topics), tuple(identities), tuple(debias), where)


def load_data(path: str | None = None) -> BiasData:
    """The shipped stimuli, or those of a user's YAML file."""
    file = Path(path) if path else DATA_FILE
    return parse_data(read_yaml(file), str(file) if path else f"default ({DATA_FILE.name})")


# --- items --------------------------------------------------------------------------------


def make_item(index: int, seed: int) -> Item:
    """Item ``index`` of the design drawn from ``seed`` (module docstring)."""
    correct: Conclusion = "hurts" if index % 2 == 0 else "helps"
    treated_first, good_first = (index // 2) % 2 == 0, (index // 4) % 2 == 0
    if index == 0:
        return Item(0, correct, CLASSIC, treated_first, good_first)
    rng = np.random.default_rng([seed, index])
    n_t, n_u = int(rng.integers(250, 351)), int(rng.integers(100, 151))
    p_hi = float(rng.uniform(0.78, 0.86))
    p_lo = p_hi - float(rng.uniform(0.08, 0.12))
    t_major, u_major = round(n_t * p_lo), round(n_u * p_hi)
    t_row, u_row = (t_major, n_t - t_major), (u_major, n_u - u_major)
    if correct == "helps":  # the majority outcome is the bad one
        t_row, u_row = t_row[::-1], u_row[::-1]
    return Item(index, correct, (t_row, u_row), treated_first, good_first)


def make_items(n: int, seed: int) -> list[Item]:
    return [make_item(i, seed) for i in range(n)]


def truth(item: Item) -> Conclusion:
    """The conclusion the counts support (rates compared), for checking :func:`make_item`."""
    (tg, tb), (ug, ub) = item.counts
    return "helps" if tg / (tg + tb) > ug / (ug + ub) else "hurts"


def naive(item: Item) -> Conclusion:
    """The conclusion of the largest cell."""
    cells = {(g, o): item.counts[g][o] for g in (0, 1) for o in (0, 1)}
    g, o = max(cells, key=cells.__getitem__)
    return "helps" if (g == 0) == (o == 0) else "hurts"


# --- prompts ------------------------------------------------------------------------------


def table_text(topic: Topic, item: Item) -> str:
    """The setting and the counts, in the item's row and column order."""
    groups = (0, 1) if item.treated_first else (1, 0)
    outcomes = (0, 1) if item.good_first else (1, 0)
    lines = [
        f"- {topic.groups[g]}: "
        + ", ".join(f"{item.counts[g][o]} {topic.outcomes[o]}" for o in outcomes)
        for g in groups
    ]
    return f"{topic.setting}\n\nResults:\n" + "\n".join(lines)


def option_order(first: int) -> tuple[Conclusion, Conclusion]:
    """The conclusions as options 1 and 2 (``first`` 0: helps first)."""
    return CONCLUSIONS if first == 0 else (CONCLUSIONS[1], CONCLUSIONS[0])


def task_prompt(
    kind: ModelKind,
    topic: Topic,
    item: Item,
    identity: Identity,
    debias: Debias | None,
    first: int,
) -> Prompt:
    """The persona (system message or preamble), the debiasing instruction, the table, then
    the two conclusions in the order ``first`` gives; the answer digit comes next. The
    options come last, so the two orders share everything before them."""
    options = "\n".join(
        f"{n}. {topic.conclusions[c]}" for n, c in enumerate(option_order(first), 1)
    )
    parts = [debias.text] if debias else []
    parts += [table_text(topic, item), f"{QUESTION}\n{options}"]
    task = "\n\n".join(parts)
    if kind == "base":
        preamble = f"{identity.text}\n\n" if identity.text else ""
        return TextPrompt(f"{preamble}{task}\nAnswer: ")
    messages = (Message("system", identity.text),) if identity.text else ()
    return ChatPrompt((*messages, Message("user", task)), assistant_prefix="Answer: ")


def congruence(identity: Identity, topic: Topic, item: Item) -> bool | None:
    """Whether the item's correct conclusion agrees with the identity (None: no stance)."""
    stance = identity.congruent.get(topic.id)
    return None if stance is None else stance == item.correct


def describe(data: BiasData, items: Sequence[Item]) -> dict[str, Any]:
    """The stimuli for the findings (texts are shown in the report, escaped)."""
    return {
        "source": data.source,
        "topics": [
            {"id": t.id, "political": t.political, "setting": t.setting,
             "conclusions": t.conclusions} for t in data.topics
        ],
        "personas": [{"id": i.id, "text": i.text, "congruent": i.congruent}
                     for i in data.identities],
        "debias": [{"id": d.id, "text": d.text} for d in data.debias],
        "items": [{"index": it.index, "correct": it.correct, "counts": it.counts,
                   "naive": naive(it)} for it in items],
    }  # fmt: skip
