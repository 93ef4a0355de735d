"""Coverage of a reference population: definitions, edges, permutation test, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from personascope.errors import MetricInputError
from personascope.metrics.coverage import (
    coverage,
    coverage_metrics,
    energy_distance,
    logdet_ratio,
    uniformity,
    variance_ratio,
)
from personascope.metrics.estimate import Jackknife

JK = Jackknife(groups=8, seed=4)
rng = np.random.default_rng(11)
REFERENCE = rng.normal(size=(200, 3))


def test_coverage_matches_its_definition():
    generated = rng.normal(size=(50, 3)) * 0.5
    radius = 0.4
    dist = np.linalg.norm(REFERENCE[:, None, :] - generated[None, :, :], axis=2)
    expected = np.mean(dist.min(axis=1) <= radius)
    est = coverage(generated, REFERENCE, JK, radius=radius)
    assert est.value == pytest.approx(expected)
    assert est.ci[0] <= est.value <= est.ci[1]
    # default radius: each reference point's 5th-nearest-neighbour distance (Naeem et al.)
    ref_dist = np.linalg.norm(REFERENCE[:, None, :] - REFERENCE[None, :, :], axis=2)
    np.fill_diagonal(ref_dist, np.inf)
    radii = np.sort(ref_dist, axis=1)[:, 4]
    assert coverage(generated, REFERENCE, JK).value == pytest.approx(
        np.mean(dist.min(axis=1) <= radii)
    )


def test_coverage_edges():
    assert coverage(REFERENCE, REFERENCE, JK).value == 1.0
    assert coverage(REFERENCE + 100.0, REFERENCE, JK).value == 0.0
    # a collapsed population (one point, repeated) covers only the reference near it
    collapsed = np.zeros((100, 3))
    assert coverage(collapsed, REFERENCE, JK).value < 0.2


def test_coverage_in_cosine_space():
    ref = rng.normal(size=(60, 8))
    scaled = ref * 3.0  # same directions: cosine distance 0 (float32 blocks: error ~1e-6)
    est = coverage(scaled, ref, JK, metric="cosine", radius=1e-5)
    assert est.value == 1.0 and est.params["metric"] == "cosine"


def test_uniformity_is_high_for_a_spread_and_minimal_for_a_point():
    spread = uniformity(rng.normal(size=(300, 3)), REFERENCE, JK, cells=10)
    point = uniformity(np.zeros((50, 3)) + REFERENCE[0], REFERENCE, JK, cells=10)
    assert point.value == pytest.approx(1 / 10)
    assert spread.value > 0.7
    assert 0.1 <= spread.params["reference_uniformity"] <= 1.0


def test_variance_ratio_and_log_determinant_recover_known_scales():
    big = np.random.default_rng(5)
    ref = big.normal(size=(4000, 3))
    gen = big.normal(size=(4000, 3)) * np.array([1.0, 2.0, 0.5])
    out = variance_ratio(gen, ref, JK, names=["a", "b", "c"])
    ratios = {k: v.value for k, v in out["variance_ratio"].items()}
    assert ratios == pytest.approx({"a": 1.0, "b": 4.0, "c": 0.25}, rel=0.1)
    for est in out["variance_ratio"].values():
        assert est.ci[0] < est.value < est.ci[1]
    assert out["variance_ratio_geomean"].value == pytest.approx(1.0, rel=0.1)
    # log det: log(1 * 4 * 0.25) = 0; the same points squeezed 10x in 3 dims: 3 log(0.01)
    assert logdet_ratio(gen, ref, JK).value == pytest.approx(0.0, abs=0.1)
    assert logdet_ratio(ref * 0.1, ref, JK).value == pytest.approx(3 * math.log(0.01))


def test_degenerate_populations():
    flat = np.column_stack([rng.normal(size=50), rng.normal(size=50), np.zeros(50)])
    est = logdet_ratio(flat, REFERENCE, JK)
    assert est.value == -math.inf and est.ci is None
    assert est.to_dict()["value"] is None  # JSON has no infinity
    with pytest.raises(MetricInputError, match="more than 3 points"):
        logdet_ratio(REFERENCE[:3], REFERENCE, JK)
    with pytest.raises(MetricInputError, match="no variance"):
        variance_ratio(REFERENCE, np.ones((20, 3)), JK)


def brute_energy(a, b):
    def mean_dist(x, y, same):
        d = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
        return d.sum() / (len(x) * (len(x) - 1)) if same else d.mean()

    return 2 * mean_dist(a, b, False) - mean_dist(a, a, True) - mean_dist(b, b, True)


def test_energy_distance_value_and_permutation_test():
    same = energy_distance(REFERENCE[:100], REFERENCE[100:], JK)
    assert same.value == pytest.approx(brute_energy(REFERENCE[:100], REFERENCE[100:]))
    assert same.params["p_value"] > 0.05
    shifted = energy_distance(REFERENCE[:100] + 1.0, REFERENCE[100:], JK)
    assert shifted.value > 0.5
    assert shifted.params["p_value"] == pytest.approx(1 / 200)  # no permutation as extreme
    assert shifted.ci[0] > 0


def test_shape_errors_name_the_problem():
    with pytest.raises(MetricInputError, match="dimensions"):
        coverage(np.zeros((5, 2)), REFERENCE, JK)
    with pytest.raises(MetricInputError, match="n >= 2"):
        coverage(np.zeros((1, 3)), REFERENCE, JK)
    with pytest.raises(MetricInputError, match="NaN"):
        coverage(np.full((4, 3), np.nan), REFERENCE, JK)
    with pytest.raises(MetricInputError, match="metric"):
        coverage(REFERENCE, REFERENCE, JK, metric="manhattan")


def test_coverage_metrics_for_embeddings_project_the_determinant():
    ref = rng.normal(size=(80, 30))
    gen = ref[:40] + 0.1 * rng.normal(size=(40, 30))
    out = coverage_metrics(gen, ref, JK, metric="cosine")
    assert set(out) == {
        "coverage",
        "uniformity",
        "variance_ratio_geomean",
        "logdet_ratio",
        "energy_distance",
    }
    assert out["logdet_ratio"].params["dimensions"] == 10
