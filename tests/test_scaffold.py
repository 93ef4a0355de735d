"""The scaffold study on the real chat model, at a tiny budget, and its pure helpers."""

from __future__ import annotations

import pytest

from escaping import assert_figures_escaped, assert_only_escaped, poisoned
from personascope.metrics.lexical import tokenize_words
from personascope.personas.io import read_personas
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies import battery, get_study
from personascope.studies.base import StudyContext, run_study
from personascope.studies.scaffold import MIN_MATCHED_N, MIN_MATCHED_WORDS, matched_texts
from personascope.testing.contexts import embedded_context
from planted_scaffold import LAYERED, PLANTED_BUDGET, UNIQUE, run_planted_scaffold

BUDGET = 70
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


# --- planted truth: tests/planted_scaffold.py ----------------------------------------


def distinct_2(texts: list[str]) -> float:
    """Distinct word bigrams / all word bigrams, bigrams within each text (Li et al. 2016)."""
    grams = [tuple(w[i : i + 2]) for w in map(tokenize_words, texts) for i in range(len(w) - 1)]
    return len(set(grams)) / len(grams)


@pytest.fixture(scope="module")
def planted_scaffold(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scaffold-planted")
    return run_planted_scaffold(folder), folder


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
