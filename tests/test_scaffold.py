"""The scaffold study on the real chat model, at a tiny budget, and its pure helpers."""

from __future__ import annotations

import math
import re

import pytest

from escaping import assert_figures_escaped, assert_only_escaped, poisoned
from personascope.metrics.lexical import tokenize_words
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
)
from personascope.personas.io import read_personas
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies import battery, get_study
from personascope.studies.base import StudyContext, run_study
from personascope.studies.scaffold import MIN_MATCHED_N, MIN_MATCHED_WORDS, matched_texts
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import fake_runner, register_fake

BUDGET = 70
LAYERED = {  # two code-sampled layers; the model writes the rest
    "layers": [
        {"name": "gender", "type": "categorical", "values": ["female", "male"]},
        {"name": "occupation", "type": "categorical", "values": ["baker", "pilot", "nurse"]},
    ],
    "sampler": {"max_tokens": 24},
}
SETTINGS = {
    "strategies": ["naive", "layered"],
    "token_budget": BUDGET,
    "max_targets": 2,
    "configs": {
        "naive": {"sampler": {"max_tokens": 24}},
        "layered": LAYERED,
    },
}


def test_registered_last_in_the_battery():
    assert battery().index("scaffold") > battery().index("collapse")
    assert get_study("scaffold").name == "scaffold"


def test_matched_texts_share_n_and_length():
    words = [f"w{i}" for i in range(40)]
    populations = {
        "a": [" ".join(words[:30]), " ".join(words[:20]), " ".join(words[:35])],
        "b": [" ".join(words[:12]), " ".join(words[:16])],
        "c": ["lonely text"],
    }
    matched, record = matched_texts(populations, seed=0)
    assert set(matched) == {"a", "b"} and record.excluded == ["c"]
    assert record.n == 2 and all(len(v) == 2 for v in matched.values())
    assert record.truncated_to_words == 14  # b's median length: (12 + 16) / 2
    assert all(len(t.split()) <= 14 for v in matched.values() for t in v)
    assert matched_texts(populations, seed=0) == (matched, record)
    short = {"a": populations["a"], "tiny": ["x y", "z w v"]}
    matched, record = matched_texts(short, seed=0)
    assert record.truncated_to_words == MIN_MATCHED_WORDS  # not cut to 2 words
    assert matched["tiny"] == ["x y", "z w v"]


def test_a_starved_strategy_does_not_shrink_the_comparison():
    populations = {
        "a": [f"text a{i} with some words" for i in range(6)],
        "b": [f"text b{i} with some words" for i in range(5)],
        "starved": ["one text", "two texts", "three texts"],
    }
    matched, record = matched_texts(populations, seed=0)
    assert set(matched) == {"a", "b"} and record.excluded == ["starved"]
    assert record.n == MIN_MATCHED_N == 5


def test_scaffold_study_end_to_end(tmp_path):
    ctx = embedded_context(tmp_path, {"scaffold": SETTINGS}, quick=True)
    spec = ctx.models[1]  # SmolLM2, the chat model
    with ctx.store:
        findings = run_study(ctx, get_study("scaffold")).to_json()
        executed = ctx.runner.executed
        again = run_study(ctx, get_study("scaffold")).to_json()
        assert ctx.runner.executed == executed  # a rerun is answered from the store
        stored = ctx.store.findings("scaffold")
        ctx.runner.executor.close()
    table, pareto = findings["table"], findings["pareto"]
    assert again["table"]["rows"].keys() == table["rows"].keys()
    assert stored[("scaffold", "findings")]["table"]["model_id"] == spec.model_id  # the chat model
    assert table["token_budget"] == BUDGET
    for name, row in table["rows"].items():
        assert 0 < row["generated_tokens"] <= BUDGET, name
        assert row["units"] >= 1 and row["n_unique"] <= row["n_personas"]
        assert row["wall_s"]["total"] >= row["wall_s"]["generate"] > 0
        assert row["n_unique"] >= 1, name  # the file below must exist
        assert len(read_personas(tmp_path / "scaffold" / f"{name}.jsonl")) == row["n_unique"]
    layered = table["rows"]["layered"]
    assert layered["fidelity_basis"] == "assigned"
    assert set(layered["fidelity"]["attributes"]) == {"gender", "occupation"}
    assert layered["fidelity"]["n_judgements"] == 2 * layered["n_unique"]
    assert table["rows"]["naive"]["fidelity_basis"] == "stated"
    points = {p["strategy"]: p for p in pareto["points"]}
    assert set(points) == {"naive", "layered"}
    # both strategies have >= 2 unique personas; fewer than 5 each, so neither is left out
    sizes = [r["n_unique"] for r in table["rows"].values()]
    assert min(sizes) >= 2 and table["matching"]["n"] == min(sizes)
    # layered always has assigned attributes to score; a point lacks a fidelity exactly
    # when nothing was judged (naive profiles cut before their Description field)
    assert None not in (points["layered"]["diversity"], points["layered"]["fidelity"])
    for name, point in points.items():
        judged = table["rows"][name]["fidelity"]["n_judgements"]
        assert (point["fidelity"] is None) == (judged == 0), name
        assert not (point["on_front"] and point["fidelity"] is None), name
    assert any(p["on_front"] for p in points.values())


def test_unknown_strategy_in_settings(tmp_path):
    from personascope.errors import PersonascopeError

    with Store(tmp_path) as store:
        ctx = StudyContext(
            Runner(store, "x", progress=False), store, [], tmp_path, "x",
            config={"scaffold": {"strategies": ["naive", "fancy"]}},
        )  # fmt: skip
        with pytest.raises(PersonascopeError, match="unknown strategy 'fancy'"):
            run_study(ctx, get_study("scaffold")).to_json()


# --- planted truth: a fake writer with planted duplicates and fidelity ------------------

PLANTED_BUDGET = 100  # ten units of TOKENS_PER_UNIT generated tokens each
TOKENS_PER_UNIT = 10
UNIQUE = 6  # units 0-5 are distinct; 6-9 repeat them (below); unit 10 is past the budget
# unit -> (unit it repeats, how): 6, 7 and 9 exact (7 differs in case and spacing only),
# 8 near (no space before the full stop: other characters, the same word 3-grams)
REPEATS = {6: (0, "same"), 7: (1, "case"), 8: (2, "tight"), 9: (3, "same")}
NAIVE_AGES = (25, 35, 50, 70, 22, 40)
# the age range each naive description states: right for units 0-2, wrong for 3-5
NAIVE_STATED_BANDS = ("18-29", "30-44", "45-64", "18-29", "45-64", "65 or older")
PLANTED_SETTINGS = {
    "strategies": ["naive", "layered", "diasynth"],
    "token_budget": PLANTED_BUDGET,
    "max_targets": 2,
    "diversity_metric": "distinct_2",
    "configs": {
        "naive": {"sampler": {"max_tokens": 24}},
        "layered": LAYERED,
        "diasynth": {
            "layers": [
                {"name": "gender", "type": "categorical", "values": ["female", "male"]},
                {"name": "hobby", "type": "categorical", "values": ["chess", "golf"]},
            ],
            "sampler": {"max_tokens": 24},
        },
    },
}
_FACT = re.compile(r"^(\w[\w ]*): (.+)$", re.MULTILINE)
_OPTION = re.compile(r"^(\d)\. (.+)$", re.MULTILINE)


class PlantedWriter:
    """Writes 12-word descriptions whose duplicates and faithfulness are planted, and
    judges them honestly: the judge picks the one option its text names.

    naive: states gender and age, and the right age range in units 0-2 only;
    layered: names the assigned gender and occupation (fidelity 1);
    diasynth: the assigned gender but always the other hobby (fidelity (1 + -1) / 2 = 0).
    """

    def __init__(self) -> None:
        self.written: dict[tuple[str, int], str] = {}

    def description(self, strategy: str, unit: int, facts: dict[str, str]) -> str:
        if strategy == "naive":
            gender = ("female", "male")[unit % 2]
            band = NAIVE_STATED_BANDS[unit % UNIQUE]
            return (
                f"n{unit}a {gender} n{unit}b {band} n{unit}c n{unit}d n{unit}e n{unit}f n{unit}g ."
            )
        if strategy == "layered":  # a unit's own word in every word 3-gram
            gender, job = facts["Gender"], facts["Occupation"]
            return f"l{unit}a is {gender} l{unit}b {job} who l{unit}c likes tea l{unit}d quiet ."
        # diasynth: fewer own words (still in 6 of the 10 word 3-grams), so less diverse
        other = {"chess": "golf", "golf": "chess"}[facts["Hobby"]]
        return f"d{unit}a is {facts['Gender']} who plays d{unit}b {other} on every sunny d{unit}c ."

    def write(self, request: GenerationRequest) -> str:
        assert isinstance(request.prompt, ChatPrompt)
        content = request.prompt.messages[-1].content
        unit = request.seed  # the study's seed is 0: unit i is sampled with seed i
        facts = dict(_FACT.findall(content.split("\n\n")[0]))
        strategy = (
            "naive"
            if content.startswith("Describe a person.")
            else ("diasynth" if "Hobby" in facts else "layered")
        )
        if unit in REPEATS:
            original, how = REPEATS[unit]
            text = self.written[(strategy, original)]
            text = {"same": text, "case": "  " + text.upper(), "tight": text.replace(" .", ".")}[
                how
            ]
        else:
            text = self.description(strategy, unit, facts)
        self.written[(strategy, unit)] = text
        if strategy == "naive":  # continues after the assistant prefix "Name:"
            gender = ("female", "male")[unit % 2]
            return (
                f" Ann Lee{unit}\nAge: {NAIVE_AGES[unit % UNIQUE]}\nGender: {gender}\n"
                f"Occupation: clerk\nPersonality: calm, kind, shy\nDescription: {text}"
            )
        return f"Name: Bea Cole{unit}\nDescription: {text}"

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return GenerationResult(self.write(request), tuple(range(TOKENS_PER_UNIT)), (), "stop", 0)

    def score(self, request: ChoiceRequest) -> ChoiceResult:
        assert isinstance(request.prompt, ChatPrompt)
        content = request.prompt.messages[-1].content
        text = content.split("\n\n")[1]
        options = _OPTION.findall(content)
        named = [
            int(digit) - 1
            for digit, option in options
            if re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text, re.IGNORECASE)
        ]
        assert len(named) == 1, (text, options)  # the planted texts name exactly one
        probs = [0.9 if i == named[0] else 0.1 / (len(options) - 1) for i in range(len(options))]
        return ChoiceResult(tuple(math.log(p) for p in probs), 1.0)


def distinct_2(texts: list[str]) -> float:
    """Distinct word bigrams / all word bigrams, bigrams within each text (Li et al. 2016)."""
    grams = [tuple(w[i : i + 2]) for w in map(tokenize_words, texts) for i in range(len(w) - 1)]
    return len(set(grams)) / len(grams)


@pytest.fixture(scope="module")
def planted_scaffold(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scaffold-planted")
    writer = PlantedWriter()
    model_id = register_fake(
        "planted-writer", generate=writer.generate, score=writer.score, replace=True
    )
    runner, store, spec = fake_runner(folder, model_id)
    ctx = StudyContext(
        runner, store, [spec], folder, "test", quick=True, config={"scaffold": PLANTED_SETTINGS}
    )
    with store:
        findings = run_study(ctx, get_study("scaffold")).to_json()
    return findings, folder


def test_planted_duplicates_give_exact_unique_counts(planted_scaffold):
    findings, folder = planted_scaffold
    for name, row in findings["table"]["rows"].items():
        assert (row["units"], row["generated_tokens"]) == (10, PLANTED_BUDGET), name
        assert row["n_personas"] == 10 and row["n_unique"] == UNIQUE, name
        dedup = row["dedup"]
        assert (dedup["n_in"], dedup["dropped_exact"], dedup["dropped_near"]) == (10, 3, 1), name
        kept = read_personas(folder / "scaffold" / f"{name}.jsonl")
        assert [p.description.split()[0] for p in kept] == [
            f"{name[0]}{unit}a" for unit in range(UNIQUE)
        ]  # the first of each group of duplicates is kept


def test_planted_fidelity_is_recovered_exactly(planted_scaffold):
    findings, _ = planted_scaffold
    rows = findings["table"]["rows"]

    def corrected(accuracy: float, options: int) -> float:
        return (accuracy - 1 / options) / (1 - 1 / options)

    naive = rows["naive"]["fidelity"]
    # gender (3 options) always right; age range (4 bands of adults) right in 3 of 6
    assert naive["attributes"]["gender"]["accuracy"] == 1.0
    assert naive["attributes"]["age"]["accuracy"] == 0.5
    assert naive["attributes"]["age"]["chance_corrected"] == pytest.approx(corrected(0.5, 4))
    assert naive["overall"]["value"] == pytest.approx((1 + corrected(0.5, 4)) / 2)  # 2/3
    assert rows["layered"]["fidelity"]["overall"]["value"] == pytest.approx(1.0)
    diasynth = rows["diasynth"]["fidelity"]
    assert diasynth["attributes"]["hobby"]["accuracy"] == 0.0
    assert diasynth["attributes"]["hobby"]["chance_corrected"] == pytest.approx(-1.0)
    assert diasynth["overall"]["value"] == pytest.approx(0.0, abs=1e-12)
    for name, row in rows.items():
        assert row["fidelity"]["n_judgements"] == 2 * UNIQUE, name


def test_planted_diversity_and_pareto_front_are_exact(planted_scaffold):
    findings, folder = planted_scaffold
    table, pareto = findings["table"], findings["pareto"]
    # six unique 12-word texts each: matched at n = 6, nothing cut
    assert table["matching"]["n"] == UNIQUE and table["matching"]["truncated_to_words"] == 12
    diversity = {}
    for name, row in table["rows"].items():
        texts = [p.description for p in read_personas(folder / "scaffold" / f"{name}.jsonl")]
        assert all(len(tokenize_words(t)) == 12 for t in texts)
        diversity[name] = distinct_2(texts)
        assert row["diversity"]["headline"]["value"] == pytest.approx(diversity[name]), name
    # naive is the most diverse, layered the most faithful; diasynth is below layered on both
    assert diversity["naive"] > diversity["layered"] > diversity["diasynth"]
    points = {p["strategy"]: p for p in pareto["points"]}
    assert {name: p["on_front"] for name, p in points.items()} == {
        "naive": True,
        "layered": True,
        "diasynth": False,
    }
    assert points["layered"]["fidelity"] == pytest.approx(1.0)
    assert points["naive"]["diversity"] == pytest.approx(diversity["naive"])


def test_planted_markup_in_the_scaffold_section_is_escaped(planted_scaffold):
    from personascope.report.sections import render_json

    findings, _ = planted_scaffold
    section = render_json("scaffold", poisoned(findings, ["fake/planted-writer"]))
    assert_only_escaped("".join(str(b) for b in section.blocks))


def test_planted_markup_reaches_the_pareto_figure_escaped(planted_scaffold):
    from personascope.report.sections import render_json

    findings, _ = planted_scaffold
    section = render_json("scaffold", poisoned(findings, ["fake/planted-writer"]))
    assert_figures_escaped("".join(str(b) for b in section.blocks))
