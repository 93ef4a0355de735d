"""Attribute statistics of the collapse lab against hand-computed values (no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from personascope.lab import attributes as attr
from personascope.metrics.estimate import Jackknife
from personascope.reference.population import Distribution

JK = Jackknife(seed=0)


def test_entropy_unique_and_repeat_shares_by_hand():
    assert attr.entropy_bits(["a", "b", "c", "d"]) == pytest.approx(2.0)
    assert attr.entropy_bits(["a", "a", "b", "b"]) == pytest.approx(1.0)
    assert attr.entropy_bits(["a"] * 5) == 0.0
    # p = (1/2, 1/4, 1/4): H = 1/2 + 2 * 1/4 * 2 = 1.5 bits
    assert attr.entropy_bits(["a", "a", "b", "c"]) == pytest.approx(1.5)
    assert attr.unique_share(["a", "a", "b", "c"]) == pytest.approx(0.75)
    assert attr.repeat_share(["a", "a", "b", "c"]) == pytest.approx(0.5)
    assert attr.repeat_share(["a", "b"]) == 0.0


def test_reference_mass_and_total_variation_by_hand():
    probs = {"x": 0.5, "y": 0.3, "z": 0.2}
    assert attr.reference_mass(["x", "x", "q"], probs) == pytest.approx(0.5)
    assert attr.reference_mass(["x", "y", "z"], probs) == pytest.approx(1.0)
    # observed (x 1/2, q 1/2) vs reference: 1/2 (|.5-.5| + .3 + .2 + .5) = 0.5
    assert attr.total_variation(["x", "q"], probs) == pytest.approx(0.5)


def test_names_and_values_are_normalised():
    assert attr.first_name("Mary-Ann O'Neil") == "mary-ann"
    assert attr.first_name("  José Ruiz") == "josé"
    assert attr.first_name(None) is None and attr.first_name("42") is None
    assert attr.normalize_value("  School  Teacher. ") == "school teacher"
    assert attr.age_band(17) is None and attr.age_band(18) == "18-24"
    assert attr.age_band(80) == "75+"


def test_a_collapsed_population_scores_low_with_intervals_that_hold_the_value():
    diverse = [f"name{i}" for i in range(40)]
    collapsed = ["john"] * 30 + ["mary"] * 10
    d = attr.categorical_summary(diverse, JK)
    c = attr.categorical_summary([*collapsed, None], JK)
    assert d["entropy_bits"]["value"] == pytest.approx(math.log2(40))
    assert d["repeat_share"]["value"] == 0.0 and d["unique_share"]["value"] == 1.0
    # p = (3/4, 1/4): H = 0.8113 bits
    assert c["entropy_bits"]["value"] == pytest.approx(0.8112781, abs=1e-6)
    assert c["n"] == 40 and c["missing"] == 1
    assert c["top"][0] == ["john", 30]
    low, high = c["entropy_bits"]["low"], c["entropy_bits"]["high"]
    assert low <= c["entropy_bits"]["value"] <= high and high < d["entropy_bits"]["value"]
    assert c["repeat_share"]["value"] == 1.0
    assert c["top_share"]["value"] == 0.75 and d["top_share"]["value"] == 1 / 40


def test_pooled_adjectives_keep_each_persona_together():
    groups = [("kind", "warm"), ("kind",), (), ("shy", "kind", "bold")]
    out = attr.pooled_summary(groups, JK)
    assert out["n"] == 3 and out["n_values"] == 6
    assert out["unique_share"]["value"] == pytest.approx(4 / 6)
    assert out["top"][0] == ["kind", 3]


def test_age_summary_against_hand_values_and_reference_bands():
    ages = [20, 30, 40, 16, None]
    reference = Distribution((20, 30, 40), np.array([0.25, 0.5, 0.25]), "test")
    out = attr.age_summary(ages, JK, reference)
    assert out["n"] == 4 and out["missing"] == 1
    assert out["mean"]["value"] == pytest.approx(26.5)
    assert out["sd"]["value"] == pytest.approx(
        np.sqrt(((20 - 26.5) ** 2 + 3.5**2 + 13.5**2 + 10.5**2) / 3)
    )
    assert out["under_18_share"]["value"] == pytest.approx(0.25)
    # bands 18-24, 25-34, 35-44 observed 1/3 each vs reference 1/4, 1/2, 1/4
    assert out["bands"]["total_variation"]["value"] == pytest.approx(1 / 6)
    # SD of the reference: values 20, 30, 40 with p .25, .5, .25 -> sqrt(50)
    assert attr.distribution_sd(reference) == pytest.approx(math.sqrt(50))


def test_reference_expectation_matches_the_exact_expected_number_of_distinct_values():
    """For n draws from a uniform reference of K values, E[distinct] = K (1 - (1 - 1/K)^n)."""
    k, n = 50, 30
    reference = Distribution(tuple(range(k)), np.full(k, 1 / k), "uniform")
    out = attr.reference_expectation(reference, n, {"unique_share": attr.unique_share}, draws=400)
    exact = k * (1 - (1 - 1 / k) ** n) / n
    assert out["unique_share"]["mean"] == pytest.approx(exact, rel=0.02)
    low, high = out["unique_share"]["range95"]
    assert low < exact < high
    again = attr.reference_expectation(reference, n, {"unique_share": attr.unique_share})
    assert again == attr.reference_expectation(reference, n, {"unique_share": attr.unique_share})
