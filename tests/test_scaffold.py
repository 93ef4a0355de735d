"""The scaffold study on the real chat model, at a tiny budget, and its pure helpers."""

from __future__ import annotations

import pytest

from personascope.personas.io import read_personas
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies import battery, get_study
from personascope.studies.base import StudyContext, run_study
from personascope.studies.scaffold import MIN_MATCHED_N, MIN_MATCHED_WORDS, matched_texts
from personascope.testing.contexts import embedded_context

BUDGET = 70
SETTINGS = {
    "strategies": ["naive", "layered"],
    "token_budget": BUDGET,
    "max_targets": 2,
    "configs": {
        "naive": {"sampler": {"max_tokens": 24}},
        "layered": {
            "layers": [
                {"name": "gender", "type": "categorical", "values": ["female", "male"]},
                {
                    "name": "occupation",
                    "type": "categorical",
                    "values": ["baker", "pilot", "nurse"],
                },
            ],
            "sampler": {"max_tokens": 24},
        },
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
    assert set(matched) == {"a", "b"} and record["excluded"] == ["c"]
    assert record["n"] == 2 and all(len(v) == 2 for v in matched.values())
    assert record["truncated_to_words"] == 14  # b's median length: (12 + 16) / 2
    assert all(len(t.split()) <= 14 for v in matched.values() for t in v)
    assert matched_texts(populations, seed=0) == (matched, record)
    short = {"a": populations["a"], "tiny": ["x y", "z w v"]}
    matched, record = matched_texts(short, seed=0)
    assert record["truncated_to_words"] == MIN_MATCHED_WORDS  # not cut to 2 words
    assert matched["tiny"] == ["x y", "z w v"]


def test_a_starved_strategy_does_not_shrink_the_comparison():
    populations = {
        "a": [f"text a{i} with some words" for i in range(6)],
        "b": [f"text b{i} with some words" for i in range(5)],
        "starved": ["one text", "two texts", "three texts"],
    }
    matched, record = matched_texts(populations, seed=0)
    assert set(matched) == {"a", "b"} and record["excluded"] == ["starved"]
    assert record["n"] == MIN_MATCHED_N == 5


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
    assert stored[("scaffold", "table")]["model_id"] == spec.model_id  # the chat model
    assert table["token_budget"] == BUDGET
    for name, row in table["rows"].items():
        assert 0 < row["generated_tokens"] <= BUDGET, name
        assert row["units"] >= 1 and row["n_unique"] <= row["n_personas"]
        assert row["wall_s"]["total"] >= row["wall_s"]["generate"] > 0
        if row["n_unique"]:
            assert len(read_personas(tmp_path / "scaffold" / f"{name}.jsonl")) == row["n_unique"]
    layered = table["rows"]["layered"]
    assert layered["fidelity_basis"] == "assigned"
    assert set(layered["fidelity"]["attributes"]) == {"gender", "occupation"}
    assert layered["fidelity"]["n_judgements"] == 2 * layered["n_unique"]
    assert table["rows"]["naive"]["fidelity_basis"] == "stated"
    points = {p["strategy"]: p for p in pareto["points"]}
    assert set(points) == {"naive", "layered"}
    if table["matching"]["n"]:
        assert table["matching"]["n"] == min(
            r["n_unique"] for r in table["rows"].values() if r["n_unique"] >= 2
        )
    usable = [
        p for p in points.values() if p["diversity"] is not None and p["fidelity"] is not None
    ]
    if usable:  # a finite set of points always has a non-dominated one
        assert any(p["on_front"] for p in usable)
    assert not any(p["on_front"] for p in points.values() if p not in usable)


def test_unknown_strategy_in_settings(tmp_path):
    from personascope.errors import PersonascopeError

    with Store(tmp_path) as store:
        ctx = StudyContext(
            Runner(store, "x", progress=False), store, [], tmp_path, "x",
            config={"scaffold": {"strategies": ["naive", "fancy"]}},
        )  # fmt: skip
        with pytest.raises(PersonascopeError, match="unknown strategy 'fancy'"):
            run_study(ctx, get_study("scaffold")).to_json()
