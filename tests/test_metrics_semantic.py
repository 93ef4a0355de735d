"""Semantic metrics on vectors: exact identities, Vendi edge cases, brute-force agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jackknife_check import jackknife_ci
from personascope.errors import MetricInputError
from personascope.metrics import semantic
from personascope.metrics.estimate import Jackknife
from personascope.metrics.semantic import (
    VENDI_ORDERS,
    clusters,
    mean_cosine_distance,
    nearest_neighbours,
    vendi,
    vendi_from_eigenvalues,
    vendi_score,
)

JK = Jackknife(groups=5, seed=2)


def brute_cosine_distance(x):
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(u)
    return float(np.mean([1 - u[i] @ u[j] for i in range(n) for j in range(n) if i != j]))


def test_mean_cosine_distance_is_exact_and_its_leave_outs_are_right():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(31, 6)) + 0.3
    est = mean_cosine_distance(x, JK)
    assert est.value == pytest.approx(brute_cosine_distance(x))
    labels = JK.labels(31)
    reps = [brute_cosine_distance(x[labels != k]) for k in range(5)]
    assert est.ci == pytest.approx(jackknife_ci(est.value, reps))


def test_cosine_distance_edges():
    assert mean_cosine_distance(np.tile([1.0, 2.0, 3.0], (6, 1)), JK).value == pytest.approx(0.0)
    assert mean_cosine_distance(np.eye(7), JK).value == pytest.approx(1.0)
    assert mean_cosine_distance(np.vstack([np.eye(3), -np.eye(3)]), JK).value == pytest.approx(1.2)


@pytest.mark.parametrize("q", VENDI_ORDERS)
def test_vendi_of_identity_kernel_is_n_and_of_all_ones_is_1(q):
    assert vendi_score(kernel=np.eye(9), q=q) == pytest.approx(9.0)
    assert vendi_score(kernel=np.ones((9, 9)), q=q) == pytest.approx(1.0)
    assert vendi_score(np.eye(9), q=q) == pytest.approx(9.0)  # orthogonal vectors
    assert vendi_score(np.ones((12, 4)), q=q) == pytest.approx(1.0)  # copies


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.sampled_from(VENDI_ORDERS), st.integers(0, 99))
def test_dual_form_equals_the_kernel_form(n, d, q, seed):
    x = np.random.default_rng(seed).normal(size=(n, d))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    kernel = np.clip(u @ u.T, -1, 1)
    np.fill_diagonal(kernel, 1.0)
    assert vendi_score(x, q=q) == pytest.approx(vendi_score(kernel=kernel, q=q), rel=1e-6)


def test_vendi_of_order_1_is_the_exponential_of_the_spectral_entropy():
    lam = np.array([0.5, 0.25, 0.25])
    assert vendi_from_eigenvalues(lam, 1.0) == pytest.approx(math.exp(-np.sum(lam * np.log(lam))))
    assert vendi_from_eigenvalues(lam, 2.0) == pytest.approx(1 / np.sum(lam**2))
    assert vendi_from_eigenvalues(lam, math.inf) == pytest.approx(2.0)
    assert vendi_from_eigenvalues(lam, 0.5) == pytest.approx(np.sum(np.sqrt(lam)) ** 2)


def test_vendi_intervals_use_both_forms_and_match_recomputation():
    rng = np.random.default_rng(3)
    for n, form in ((40, "dual"), (5, "kernel")):
        x = rng.normal(size=(n, 8))
        out = vendi(x, JK)
        est = out["vendi_q1"]
        assert form in est.method
        assert est.value == pytest.approx(vendi_score(x, q=1.0))
        labels = JK.labels(n)
        reps = [vendi_score(x[labels != k], q=1.0) for k in range(5)]
        bounds = (1.0, float(min(n, 8)))
        assert est.ci == pytest.approx(jackknife_ci(est.value, reps, bounds=bounds))


def test_kernel_and_vector_validation():
    with pytest.raises(MetricInputError, match="k\\(x, x\\) = 1"):
        vendi_score(kernel=2 * np.eye(3))
    with pytest.raises(MetricInputError, match="symmetric"):
        vendi_score(kernel=np.array([[1.0, 0.2], [0.1, 1.0]]))
    with pytest.raises(MetricInputError, match="either"):
        vendi_score()
    with pytest.raises(MetricInputError, match="all zeros"):
        mean_cosine_distance(np.array([[1.0, 0.0], [0.0, 0.0]]), JK)
    with pytest.raises(MetricInputError, match="NaN"):
        mean_cosine_distance(np.array([[1.0, np.nan], [0.0, 1.0]]), JK)
    with pytest.raises(MetricInputError, match="shape"):
        mean_cosine_distance(np.ones(5), JK)


def test_clusters_at_a_threshold():
    same = clusters(np.tile([0.2, 0.9], (10, 1)), JK)
    assert same["clusters"].value == 1 and same["largest_cluster_share"].value == 1.0
    apart = clusters(np.eye(8), JK)
    assert apart["clusters"].value == 8 and apart["largest_cluster_share"].value == 1 / 8
    rng = np.random.default_rng(1)
    two = np.vstack(
        [[1, 0, 0] + 0.01 * rng.normal(size=(6, 3)), [0, 0, 1] + 0.01 * rng.normal(size=(4, 3))]
    )
    out = clusters(two, JK, threshold=0.9)
    assert out["clusters"].value == 2 and out["largest_cluster_share"].value == 0.6
    assert out["clusters"].params["threshold"] == 0.9


def test_nearest_neighbour_distances_match_brute_force():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(37, 5))
    out = nearest_neighbours(x, JK)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    nn = 1 - sims.max(axis=1)
    assert out["nn_distance_mean"].value == pytest.approx(nn.mean())
    labels = JK.labels(37)
    reps = []
    for k in range(5):
        keep = labels != k
        reps.append(np.mean(1 - sims[np.ix_(keep, keep)].max(axis=1)))
    assert out["nn_distance_mean"].ci == pytest.approx(jackknife_ci(nn.mean(), reps))
    dist = out["nn_distance_distribution"]
    assert dist["quantiles"]["0.5"] == pytest.approx(np.median(nn))
    assert sum(dist["histogram"]["counts"]) == 37


def test_large_inputs_are_subsampled_and_say_so(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 4))
    out = clusters(x, JK, limit=100)
    assert out["clusters"].n == 100 and "subset of 100 of 300" in out["clusters"].method
    monkeypatch.setattr(semantic, "_CHUNK", 7)  # exercise the chunked nearest-neighbour loop
    chunked = nearest_neighbours(x, JK, limit=120)
    assert chunked["nn_distance_mean"].n == 120
    monkeypatch.setattr(semantic, "_CHUNK", 1024)
    assert nearest_neighbours(x, JK, limit=120)["nn_distance_mean"].value == pytest.approx(
        chunked["nn_distance_mean"].value
    )


def test_one_thread_limits_every_blas_pool_and_restores_it():
    """The eigensolvers run inside ``one_thread`` (a controller found once and reused). It
    limits the BLAS pools (LAPACK's); OpenMP pools that other libraries load later, such as
    torch's, are not its business."""
    from threadpoolctl import threadpool_info

    def blas() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas()
    assert before
    for _ in range(2):  # the cached controller still limits on its second use
        with semantic.one_thread():
            assert blas() == [1] * len(before)
        assert blas() == before
