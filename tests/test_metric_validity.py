"""Defects found by a held-out check (issue 16): a degenerate log-determinant, Vendi on
low-rank kernels, EAD orders without n-grams and the per-input panel's tokenization.
Expected values are computed here by hand or by the formulas, not by the code under test."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import sparse

from personascope.metrics.by_input import ead_mean_value
from personascope.metrics.coverage import logdet_ratio
from personascope.metrics.estimate import Jackknife
from personascope.metrics.panel import PanelSettings, by_input_panel
from personascope.metrics.semantic import vendi_score

JK = Jackknife(seed=0)
V = 50257


def test_logdet_of_five_people_repeated_is_minus_infinity_and_json_null():
    rng = np.random.default_rng(3)
    five = np.repeat(rng.normal(3.0, 0.7, size=(5, 5)), 60, axis=0)  # rank-4 covariance
    reference = rng.normal(3.0, 0.7, size=(2000, 5))
    est = logdet_ratio(five, reference, JK)
    assert est.value == -math.inf
    assert est.ci is None
    assert json.loads(json.dumps(est.to_dict()))["value"] is None


def test_logdet_of_a_full_rank_population_is_the_slogdet_difference():
    rng = np.random.default_rng(4)
    gen, ref = rng.normal(size=(300, 5)) * 0.5, rng.normal(size=(2000, 5))
    expected = (
        np.linalg.slogdet(np.cov(gen, rowvar=False))[1]
        - np.linalg.slogdet(np.cov(ref, rowvar=False))[1]
    )
    assert logdet_ratio(gen, ref, JK).value == pytest.approx(expected, abs=1e-9)


def test_vendi_of_a_constant_kernel_is_one_at_every_order():
    for q in (0.0, 0.1, 0.5, 1.0, 2.0):
        assert vendi_score(kernel=np.ones((100, 100)), q=q) == pytest.approx(1.0, abs=1e-9)


def _repeated_directions(counts: list[int], d: int = 20) -> np.ndarray:
    """Copies of len(counts) orthonormal directions, direction i repeated counts[i] times."""
    basis = np.linalg.qr(np.random.default_rng(5).normal(size=(d, len(counts))))[0].T
    return np.repeat(basis, counts, axis=0)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 1.0, 2.0])
def test_vendi_of_a_rank_8_set_equals_the_renyi_formula_in_both_forms(q):
    counts = [1, 2, 3, 4, 5, 6, 7, 12]
    vectors = _repeated_directions(counts)
    # K / n has eigenvalues c_i / n: VS_q = (sum p_i^q)^(1/(1-q)), VS_1 = exp(H), VS_0 = 8
    p = np.array(counts) / sum(counts)
    expected = math.exp(-(p * np.log(p)).sum()) if q == 1.0 else (p**q).sum() ** (1 / (1 - q))
    kernel = vectors @ vectors.T
    assert vendi_score(vectors, q=q) == pytest.approx(expected, rel=1e-9)
    assert vendi_score(kernel=kernel, q=q) == pytest.approx(expected, rel=1e-9)
    assert vendi_score(kernel=kernel, q=q) <= 8 + 1e-9


def test_vendi_accepts_a_sparse_kernel():
    assert vendi_score(kernel=sparse.identity(7, format="csr"), q=1.0) == pytest.approx(7.0)
    counts = [2, 3]
    dense = _repeated_directions(counts) @ _repeated_directions(counts).T
    # two blocks of ones (2 and 3 copies): eigenvalues 2/5 and 3/5
    h = -(0.4 * math.log(0.4) + 0.6 * math.log(0.6))
    assert vendi_score(kernel=sparse.csr_matrix(dense)) == pytest.approx(math.exp(h))


def _ead(unique: int, count: int, vocab: int) -> float:
    """EAD_n = N_unique / (V (1 - ((V - 1) / V)^C)) (Liu et al. 2022, eq. 3)."""
    return unique / (vocab * (1 - ((vocab - 1) / vocab) ** count))


def test_ead_mean_counts_orders_without_ngrams_as_zero():
    texts = ["i am going", "i am going", "lets go i i"]
    # order 1: 10 tokens, 5 types; 2: 7 bigrams, 5 distinct; 3: 4 trigrams, 3 distinct;
    # 4: 1 four-gram; 5: none (counts 0, Kirk et al. 2024)
    parts = [_ead(5, 10, V), _ead(5, 7, V), _ead(3, 4, V), _ead(1, 1, V), 0.0]
    expected = sum(parts) / 5
    assert expected == pytest.approx(0.593, abs=1e-3)
    assert ead_mean_value(texts, V, 5) == pytest.approx(expected, rel=1e-9)


def test_by_input_panel_uses_the_tokenization_and_records_it():
    texts = ["yes, sir.", "yes sir", "no, madam.", "no madam"]
    labels = ["a", "a", "b", "b"]
    settings = PanelSettings(tokenization="whitespace", max_n=2, jackknife=Jackknife(seed=0))
    out = by_input_panel(texts, labels, settings, None)
    per_input = out["ead_mean"]["per_input"]
    assert per_input["params"]["tokenization"] == "whitespace"
    assert per_input["params"]["vocab_size"] == 50_000
    # whitespace tokens: {"yes,", "sir.", "yes", "sir"} and {"no,", "madam.", "no", "madam"}:
    # order 1: 4 tokens, 4 types; order 2: 2 bigrams, 2 distinct (per input)
    one_input = (_ead(4, 4, 50_000) + _ead(2, 2, 50_000)) / 2
    assert per_input["value"] == pytest.approx(one_input, rel=1e-9)
