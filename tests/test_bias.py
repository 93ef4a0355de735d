"""The bias study: items with known truth, planted congruence and null models recovered
through the real runner and store, the claims row, the report, bad input, and a tiny run
of the embedded pair."""

from __future__ import annotations

import hashlib
import math

import pytest

from escaping import assert_figures_escaped, assert_only_escaped, poisoned
from personascope.claims import evaluate
from personascope.errors import PersonascopeError
from personascope.findings.bias import BiasFindings
from personascope.models.base import ChoiceRequest, ChoiceResult
from personascope.report.sections.bias import render
from personascope.studies.base import StudyContext, run_study
from personascope.studies.bias import BiasStudy, Cell, design_cells, plan
from personascope.studies.bias_items import (
    CLASSIC,
    congruence,
    load_data,
    make_items,
    naive,
    option_order,
    truth,
)
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import fake_runner, register_fake

SETTINGS = {"items": 16, "debias": ["accuracy", "compare_ratios"]}


def test_items_balance_the_design_and_the_naive_reading_is_always_wrong():
    items = make_items(32, seed=5)
    assert items[0].counts == CLASSIC and items[0].correct == "hurts"
    for item in items:
        assert truth(item) == item.correct and naive(item) != item.correct
    for block in range(4):
        chunk = items[8 * block : 8 * block + 8]
        assert sorted(i.correct for i in chunk) == ["helps"] * 4 + ["hurts"] * 4
        assert sum(i.treated_first for i in chunk) == 4 and sum(i.good_first for i in chunk) == 4
    assert make_items(8, seed=5) == items[:8]  # items do not depend on how many are drawn


# --- planted behaviours ------------------------------------------------------------------


def _cells_by_prompt() -> dict[object, Cell]:
    data = load_data()
    cells = design_cells(data, make_items(SETTINGS["items"], 0))
    return {r.prompt: c for r, c in zip(plan("chat", cells), cells)}


CELLS = _cells_by_prompt()


def _answer(cell: Cell, p_helps: float) -> ChoiceResult:
    probs = [p_helps if c == "helps" else 1 - p_helps for c in option_order(cell.first)]
    return ChoiceResult(tuple(math.log(p) for p in probs), 0.9)


def congruent_score(request: ChoiceRequest) -> ChoiceResult:
    """Picks the identity's side on the political topic (0.95), else the truth (0.9)."""
    cell = CELLS[request.prompt]
    stance = cell.identity.congruent.get(cell.topic.id)
    biased = cell.debias is None or cell.debias.id == "accuracy"
    if stance is not None and biased:
        return _answer(cell, 0.95 if stance == "helps" else 0.05)
    return _answer(cell, 0.9 if cell.item.correct == "helps" else 0.1)


def null_score(request: ChoiceRequest) -> ChoiceResult:
    """Right with a probability that varies by prompt, never by congruence."""
    cell = CELLS[request.prompt]
    u = int(hashlib.sha256(repr(request.prompt).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    right = 0.55 + 0.4 * u
    return _answer(cell, right if cell.item.correct == "helps" else 1 - right)


def chance_score(request: ChoiceRequest) -> ChoiceResult:
    """Always option 1: the model cannot do the task."""
    return ChoiceResult((math.log(0.9), math.log(0.1)), 0.5)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    found = {}
    for name, score in (("congruent", congruent_score), ("null", null_score),
                        ("chance", chance_score)):  # fmt: skip
        model_id = register_fake(f"bias-{name}", score=score, replace=True)
        tmp = tmp_path_factory.mktemp(f"bias-{name}")
        runner, store, spec = fake_runner(tmp, model_id)
        ctx = StudyContext(runner, store, [spec], tmp, "test", config={"bias": SETTINGS})
        found[name] = run_study(ctx, BiasStudy())
        store.close()
    return found


def model(findings: BiasFindings) -> dict:
    return next(iter(findings.per_model().values()))


def test_planted_congruence_gap_is_recovered_and_excludes_zero(planted):
    m = model(planted["congruent"])
    assert m["validity"]["verdict"] == "valid"
    gap = m["congruence_gap"]
    # congruent items: 0.95 right; incongruent: 0.05 right
    assert gap["value"] == pytest.approx(0.9) and gap["low"] > 0
    assert m["congruence_ratio"]["value"] == pytest.approx(0.95 / 0.05 - 1)
    # "accuracy" keeps the bias, "compare_ratios" removes it
    assert m["conditions"]["accuracy"]["gap"]["value"] == pytest.approx(0.9)
    assert m["conditions"]["compare_ratios"]["gap"]["value"] == pytest.approx(0.0)
    assert m["reduction"]["compare_ratios"]["value"] == pytest.approx(0.9)
    assert m["debiased_gap"]["value"] == pytest.approx(0.45)
    assert m["control_accuracy"]["value"] == pytest.approx(0.9)
    assert m["order_sensitivity"] == pytest.approx(0.0)
    liberal = m["conditions"]["none"]["accuracy"]["liberal_democrat"]["gun_control"]
    assert liberal["congruent"]["value"] == pytest.approx(0.95)


def test_planted_null_gap_interval_includes_zero(planted):
    m = model(planted["null"])
    assert m["validity"]["verdict"] == "valid"
    gap = m["congruence_gap"]
    assert gap["low"] < 0 < gap["high"] and abs(gap["value"]) < 0.1


def test_a_model_at_chance_on_the_control_is_invalid_with_its_reason(planted):
    m = model(planted["chance"])
    assert m["validity"]["verdict"] == "invalid"
    assert "cannot do the task" in m["validity"]["summary"]
    assert m["order_sensitivity"] == pytest.approx(0.8)


def test_claim_8_reads_the_gap_the_debiased_gap_and_the_verdict(planted):
    def row(name):
        (found,) = [r for r in evaluate({"bias": planted[name]}, {}) if r.number == 8]
        return found

    assert row("congruent").status == "supported"
    assert row("null").status == "inconclusive"
    chance = row("chance")
    assert chance.status == "not measurable" and "validity: invalid" in chance.reason


def test_report_greys_an_invalid_gap_and_escapes_model_text(planted):
    section = render(planted["chance"])
    html = "".join(section.blocks)
    assert "cannot do the task" in html and 'class="muted"' in html
    assert "withheld" in next(iter(section.headline.values()))["congruence gap"]
    data = poisoned(planted["congruent"].to_json(), ["fake/bias-congruent"])
    html = "".join(render(BiasFindings.from_json(data)).blocks)
    assert_only_escaped(html)
    assert_figures_escaped(html)


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topics: [", "bias.yaml"),
        ("topics: []\npersonas: []\ndebias: []\n", "non-empty list"),
        ("colour: red\n", "unknown key"),
    ],
)
def test_a_bad_stimulus_file_is_one_error(tmp_path, text, message):
    path = tmp_path / "bias.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PersonascopeError, match=message):
        BiasStudy().settings({"data": str(path)})


def test_an_unknown_debias_id_is_an_error():
    with pytest.raises(PersonascopeError, match="unknown instruction"):
        BiasStudy().settings({"debias": ["pray"]})


def test_congruence_follows_the_stance():
    data = load_data()
    liberal = next(i for i in data.identities if i.id == "liberal_democrat")
    item = make_items(2, 0)[1]  # helps
    assert congruence(liberal, data.political[0], item) is True
    assert congruence(liberal, data.controls[0], item) is None


# --- an embedded model ------------------------------------------------------------------


@pytest.mark.slow
def test_embedded_base_model_quick(tmp_path):
    """The base model's prompt format on a real model (the planted models above are chat
    models); one model, because the two took 147 s together."""
    ctx = embedded_context(tmp_path, {"bias": {"items": 4}}, ["llamacpp/gemma3-270m"], quick=True)
    try:
        findings = run_study(ctx, BiasStudy())
    finally:
        ctx.store.close()
    assert list(findings.per_model()) == ["llamacpp/gemma3-270m"]
    for m in findings.per_model().values():
        assert m["validity"]["verdict"] in ("valid", "weak", "invalid")
        assert 0 < m["option_mass"] <= 1 and m["requests"] == 4 * 2 * (3 * 2 + 1)
    render(findings)
