"""Scoring and reliability: hand-computed cases, population truths, and pingouin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from personascope.instruments.derived import derived_type
from personascope.instruments.inventory import load_inventory
from personascope.instruments.norms import load_norms
from personascope.instruments.reliability import (
    alpha_from_cov,
    cronbach_alpha,
    item_covariance,
    mcdonald_omega,
    omega_from_cov,
)
from personascope.instruments.scoring import (
    expected_answers,
    keyed_scores,
    score_answers,
    score_distributions,
)

HUMAN = Path(__file__).resolve().parents[2] / "shared/data/human/ipip50_openpsychometrics.tsv"


def test_expected_answer_and_reverse_keying_by_hand():
    probs = np.array([[0.0, 0.0, 0.5, 0.5, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]])
    assert expected_answers(probs).tolist() == pytest.approx([3.5, 3.0])
    raw = np.array([[4.0, 2.0, 5.0]])
    assert keyed_scores(raw, np.array([1, -1, -1]), 5).tolist() == [[4.0, 4.0, 1.0]]


def test_domain_and_facet_scores_by_hand():
    inv = load_inventory("ipip_neo_120")
    raw = np.full((1, 120), 3.0)
    # facet N5 (Immoderation): "Go on binges" (+), three reverse-keyed items
    n5 = inv.facet_indices("N5")
    raw[0, n5] = [5, 1, 1, 2]
    scores = score_answers(inv, raw)
    assert scores.facet[0, inv.facets.index("N5")] == pytest.approx((5 + 5 + 5 + 4) / 4)
    n = inv.domains.index("N")
    assert scores.domain[0, n] == pytest.approx((20 * 3 + 19) / 24)


def test_missing_answers_are_left_out_of_the_mean():
    inv = load_inventory("mini_ipip")
    raw = np.full((2, 20), np.nan)
    e = inv.domain_indices("E")  # E1 (+), E2 (-), E7 (+), E4 (-)
    raw[0, e[:2]] = [5, 1]
    scores = score_answers(inv, raw)
    assert scores.domain[0, inv.domains.index("E")] == 5.0
    assert np.isnan(scores.domain[1]).all()


def test_answers_outside_the_scale_are_rejected():
    with pytest.raises(ValueError, match=r"1\.\.5"):
        score_answers(load_inventory("mini_ipip"), np.full((1, 20), 6.0))


def test_distributions_of_one_hot_answers_score_like_answers():
    inv = load_inventory("ipip50")
    rng = np.random.default_rng(1)
    raw = rng.integers(1, 6, size=(7, 50)).astype(float)
    one_hot = np.eye(5)[raw.astype(int) - 1]
    assert np.allclose(score_distributions(inv, one_hot).domain, score_answers(inv, raw).domain)


def _congeneric(loadings: np.ndarray, uniquenesses: np.ndarray) -> np.ndarray:
    return np.outer(loadings, loadings) + np.diag(uniquenesses)


def test_omega_recovers_a_one_factor_population():
    lam = np.array([0.9, 0.7, 0.5, 0.3, 0.6])
    psi = np.array([0.3, 0.5, 0.8, 0.9, 0.4])
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    omega, converged = omega_from_cov(_congeneric(lam, psi))
    assert converged
    assert omega == pytest.approx(truth, abs=1e-6)


def test_alpha_equals_omega_under_tau_equivalence_and_is_lower_otherwise():
    equal = _congeneric(np.full(6, 0.7), np.full(6, 0.5))
    assert alpha_from_cov(equal) == pytest.approx(omega_from_cov(equal)[0], abs=1e-9)
    unequal = _congeneric(np.array([0.9, 0.2, 0.8, 0.3, 0.7, 0.1]), np.full(6, 0.5))
    assert alpha_from_cov(unequal) < omega_from_cov(unequal)[0]


def test_alpha_and_its_interval_match_pingouin_on_simulated_data():
    rng = np.random.default_rng(7)
    factor = rng.normal(size=(300, 1))
    x = factor @ np.array([[0.8, 0.6, 0.7, 0.4]]) + rng.normal(size=(300, 4))
    ours = cronbach_alpha(x)
    value, interval = pg.cronbach_alpha(pd.DataFrame(x))
    assert ours["alpha"] == pytest.approx(value, abs=1e-10)
    assert [round(ours["low"], 3), round(ours["high"], 3)] == pytest.approx(interval)
    # with missing answers (pingouin's interval keeps the n before deletion; ours does not)
    x[rng.random(x.shape) < 0.05] = np.nan
    for policy in ("listwise", "pairwise"):
        value, _ = pg.cronbach_alpha(pd.DataFrame(x), nan_policy=policy)
        assert cronbach_alpha(x, policy)["alpha"] == pytest.approx(value, abs=1e-10)


def test_pairwise_covariance_equals_pandas():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4))
    x[rng.random(x.shape) < 0.2] = np.nan
    cov, _ = item_covariance(x, "pairwise")
    assert np.allclose(cov, pd.DataFrame(x).cov().to_numpy())


def test_constant_answers_give_nan_not_a_number_that_looks_fine():
    x = np.full((10, 4), 4.0)
    assert np.isnan(cronbach_alpha(x)["alpha"])
    assert np.isnan(mcdonald_omega(x)["omega"])


def test_omega_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 1)) @ np.full((1, 5), 0.7) + rng.normal(size=(400, 5))
    result = mcdonald_omega(x, n_boot=200, seed=1)
    assert result["low"] < result["omega"] < result["high"]


def test_human_alpha_equals_pingouin_to_three_decimals():
    if not HUMAN.is_file():
        pytest.skip(f"the human IPIP-50 data is not at {HUMAN} (it is never committed)")
    inv = load_inventory("ipip50")
    data = pd.read_csv(HUMAN, sep="\t")
    raw = data[list(inv.item_ids)].to_numpy(float)
    raw[raw == 0] = np.nan
    assert raw.shape[0] == 19719
    keyed = score_answers(inv, raw).keyed
    for d in inv.domains:
        x = keyed[:, inv.domain_indices(d)]
        expected, _ = pg.cronbach_alpha(pd.DataFrame(x), nan_policy="listwise")
        assert round(cronbach_alpha(x)["alpha"], 3) == round(expected, 3), d


def test_derived_type_splits_at_the_human_mean():
    norms = load_norms("ipip50")
    mean = dict(zip(norms.domains, norms.mean))
    above = {d: v + 0.1 for d, v in mean.items()}
    assert derived_type(above, norms)["type"] == "ENFJ"
    below = {d: v - 0.1 for d, v in mean.items()}
    result = derived_type(below, norms)
    assert result["type"] == "ISTP"
    e = norms.index("E")
    assert result["letters"]["E"]["clarity"] == pytest.approx(0.1 / norms.sd[e], abs=1e-3)
    assert "not an MBTI" in result["label"]
    assert derived_type({**mean, "E": float("nan")}, norms)["type"] is None
    assert derived_type(dict.fromkeys("OCEAN", 3.2))["type"] == "ENFJ"  # midpoint 3
