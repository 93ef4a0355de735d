"""Fidelity statistics on planted judgements (the judge's answers are the planted truth)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from personascope.models.base import ChoiceResult
from personascope.personas.fidelity import (
    AttributeTarget,
    agreement_table,
    choose_options,
    judgements,
    lexicon_agreement,
    overall_fidelity,
    plan_judgements,
    shown_order,
    wilson_interval,
)
from personascope.studies.scaffold import pareto_front

COLOURS = ("red", "green", "blue", "black")


def planted(n, answer):
    """n personas, one 4-option target each; ``answer(item) -> chosen option``."""
    rng = np.random.default_rng(0)
    items = [
        (
            f"p{i}",
            f"text {i}",
            AttributeTarget("colour", "Which colour?", COLOURS[int(rng.integers(4))], COLOURS),
        )
        for i in range(n)
    ]
    planned = plan_judgements("chat", items)
    results = []
    for item in planned:
        chosen = answer(item)
        logprobs = tuple(0.0 if o == chosen else -6.0 for o in item.shown)
        results.append(ChoiceResult(logprobs, option_mass=0.9))
    return judgements(planned, results)


def test_a_perfect_judge_and_a_position_habit():
    perfect = agreement_table(planted(40, lambda item: item.target.value))["colour"]
    assert perfect["accuracy"] == 1.0 and perfect["chance_corrected"] == pytest.approx(1.0)
    assert perfect["chance"] == 0.25 and perfect["verdict"] == "valid"
    assert perfect["mean_p_assigned"] > 0.99
    habit = agreement_table(planted(40, lambda item: item.shown[0]))["colour"]
    assert habit["position_bias"] == 1.0 and habit["verdict"].startswith(
        "invalid: the judge picks option 1"
    )
    # options are shuffled per persona, so a position habit lands near chance, not at 0 or 1
    assert 0.1 < habit["accuracy"] < 0.45


def test_overall_fidelity_and_its_bootstrap_interval():
    found = planted(60, lambda item: item.target.value if item.persona_id < "p3" else item.shown[0])
    overall = overall_fidelity(found)
    table = agreement_table(found)["colour"]
    assert overall["value"] == pytest.approx(table["chance_corrected"])
    assert overall["low"] < overall["value"] < overall["high"]
    assert overall["n_personas"] == 60


def test_wilson_matches_statsmodels():
    for k, n in [(0, 10), (3, 10), (10, 10), (57, 200)]:
        assert wilson_interval(k, n) == pytest.approx(
            proportion_confint(k, n, method="wilson"), abs=1e-6
        )


def test_option_selection_and_order_are_stable():
    many = tuple(f"o{i}" for i in range(12))
    options = choose_options("o7", many, "persona-1", max_options=5)
    assert len(options) == 5 and "o7" in options
    assert options == choose_options("o7", many, "persona-1", max_options=5)
    assert [o for o in many if o in options] == list(options)  # natural order kept
    target = AttributeTarget("x", "q", "o7", options)
    order = shown_order(target, "persona-1")
    assert sorted(order) == sorted(options) and order == shown_order(target, "persona-1")
    with pytest.raises(ValueError, match="not among its options"):
        AttributeTarget("x", "q", "z", ("a", "b"))


def test_lexicon_agreement_on_planted_texts():
    items = [
        ("A talkative, bold and energetic host.", {"E": 70.0}),
        ("Talkative and assertive.", {"E": 62.0}),
        ("Shy, quiet and withdrawn.", {"E": 30.0}),
        ("A reserved, timid clerk.", {"E": 38.0}),
        ("Nothing about personality here.", {"E": 45.0}),
    ]
    table = lexicon_agreement(items)["E"]
    assert table["coverage"] == pytest.approx(4 / 5)
    assert table["sign_agreement"] == 1.0 and table["n_signed"] == 4
    # T ranks (4, 3, 1, 2) against lexicon scores (1, 1, -1, -1): rho = 4 / sqrt(5 * 4)
    assert table["spearman"]["value"] == pytest.approx(2 / np.sqrt(5))


def test_pareto_front():
    points = {"a": (0.2, 0.9), "b": (0.5, 0.5), "c": (0.4, 0.4), "d": (0.9, 0.1), "e": (0.5, 0.5)}
    assert pareto_front(points) == {"a", "b", "d", "e"}
