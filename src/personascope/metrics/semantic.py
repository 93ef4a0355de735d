"""Semantic diversity of a set of embeddings: mean pairwise cosine distance, Vendi scores,
clusters at a similarity threshold and the nearest-neighbour distance distribution.

Inputs are (n, d) arrays; rows are L2-normalised here, so the kernel is cosine similarity
k(x, y) = <x, y> / (|x| |y|), with k(x, x) = 1 as the Vendi score requires. Nothing builds
an n x n matrix at large n: the mean pairwise distance and the Vendi score are exact at any
n through d x d sums; clusters and nearest neighbours are computed exactly on up to
``limit`` points (a seeded random subset beyond, recorded in the method).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from threadpoolctl import ThreadpoolController

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife, sample_indices

VENDI_ORDERS: tuple[float, ...] = (0.5, 1.0, 2.0, math.inf)
CLUSTER_THRESHOLD = 0.8
CLUSTER_LIMIT = 2000
NEIGHBOUR_LIMIT = 5000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_CHUNK = 1024
# eigenvalues <= this times the largest are rounding noise (Vendi of low-rank kernels)
EIGENVALUE_RTOL = 1e-10


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as float64 rows of unit length; a clear error for bad shapes or zeros."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise MetricInputError(f"expected a non-empty (n, d) array of vectors, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise MetricInputError("the vectors contain NaN or infinite values")
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        raise MetricInputError(f"vector {int(np.argmin(norms))} is all zeros (no direction)")
    return x / norms[:, None]


@cache
def _blas_threads() -> ThreadpoolController:
    """The BLAS/LAPACK thread pools, found once: finding them reads the process's loaded
    libraries, 1.7 ms a time, which was most of a jackknifed Vendi score's cost."""
    return ThreadpoolController()


def one_thread() -> AbstractContextManager[Any]:
    """A context in which BLAS and LAPACK run on one thread (see :func:`eigenvalues`)."""
    return _blas_threads().limit(limits=1)


def eigenvalues(matrix: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric matrix. Up to 1024 x 1024 LAPACK runs on one thread:
    on a shared 2-core machine its threads spin-wait and a 384 x 384 problem took 1-8 s
    instead of 0.03 s (measured); larger problems keep the default threading."""
    if len(matrix) > 1024:
        return np.linalg.eigvalsh(matrix)
    with one_thread():
        return np.linalg.eigvalsh(matrix)


def group_sums(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row sums of ``values`` per group: a (g, ...) array."""
    g = int(labels.max()) + 1
    onehot = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(g, len(labels))
    )
    return np.asarray(onehot @ values.reshape(len(labels), -1)).reshape(g, *values.shape[1:])


# --- mean pairwise cosine distance ----------------------------------------------------


def mean_cosine_distance_value(vectors: np.ndarray) -> float:
    """Mean cosine distance 1 - cos(x_i, x_j) over all pairs i != j, exactly, in O(n d):
    sum_{i != j} <u_i, u_j> = |sum_i u_i|^2 - sum_i |u_i|^2 for unit rows u_i."""
    u = unit_rows(vectors)
    n = len(u)
    if n < 2:
        raise MetricInputError(f"a pairwise distance needs at least 2 vectors, got {n}")
    total = u.sum(axis=0)
    return 1.0 - (total @ total - np.einsum("ij,ij->", u, u)) / (n * (n - 1))


def mean_cosine_distance(vectors: np.ndarray, jackknife: Jackknife) -> Estimate:
    """Mean pairwise cosine distance (e.g. Kirk et al. 2024's Sentence-BERT diversity):

        D = 1 - (|sum_i u_i|^2 - n) / (n (n - 1)),   u_i = x_i / |x_i|,

    the mean of 1 - cos over all pairs, exact at any n. 0 for identical vectors, 1 for
    mutually orthogonal ones (up to 2 for opposite ones). A U-statistic: its expectation
    does not depend on n.
    """
    u = unit_rows(vectors)
    n = len(u)
    value = mean_cosine_distance_value(u)
    labels = jackknife.labels(n)
    sums = group_sums(u, labels)
    squares = group_sums(np.einsum("ij,ij->i", u, u), labels)
    counts = np.bincount(labels).astype(float)
    rest = u.sum(axis=0) - sums
    m = n - counts
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.einsum("kd,kd->k", rest, rest) - (squares.sum() - squares)
        replicates = 1.0 - cross / (m * (m - 1))
    return jackknife.estimate(
        value, replicates, n, "exact (sum identity)", {"kernel": "cosine"}, bounds=(0.0, 2.0)
    )


# --- Vendi score ----------------------------------------------------------------------


def vendi_from_eigenvalues(eigenvalues: np.ndarray, q: float = 1.0) -> float:
    """Vendi score of order q from the eigenvalues of K / n (normalised to sum 1):

        VS_q = exp( 1/(1-q) * log sum_i lambda_i^q ),
        VS_1 = exp( -sum_i lambda_i log lambda_i ),   VS_inf = 1 / max_i lambda_i,

    the exponential of the Renyi entropy of the spectrum (Friedman & Dieng 2023, "The
    Vendi Score", TMLR; Pasarkar & Dieng 2023, "Cousins of the Vendi Score"). It is the
    effective number of distinct items: n for n mutually orthogonal items, 1 for n copies.

    Eigenvalues at or below ``EIGENVALUE_RTOL`` times the largest are rounding noise of a
    low-rank kernel (about 1e-17) and are dropped: for q < 1, lambda^q would inflate them
    (at q = 0.1 each adds (1e-17)^0.1 = 0.02 to sum lambda^q). VS_0 is then the numerical
    rank, and the kernel and embedding forms agree.
    """
    if q < 0:
        raise MetricInputError(f"Vendi order q must be >= 0, got {q}")
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.size == 0 or lam.max() <= 0:
        raise MetricInputError("the kernel has no positive eigenvalue")
    lam = lam[lam > EIGENVALUE_RTOL * lam.max()]
    lam = lam / lam.sum()
    if math.isinf(q):
        return float(1.0 / lam.max())
    if q == 1.0:
        return float(np.exp(-np.sum(lam * np.log(lam))))
    return float(np.exp(np.log(np.sum(lam**q)) / (1.0 - q)))


def vendi_score(
    vectors: np.ndarray | None = None, *, kernel: np.ndarray | None = None, q: float = 1.0
) -> float:
    """Vendi score of order ``q`` of ``vectors`` (cosine kernel) or of a given ``kernel``.

    With a kernel matrix K (n x n, symmetric, unit diagonal; dense or ``scipy.sparse``)
    the eigenvalues of K / n are computed exactly. With vectors, K = U U^T for the unit
    rows U, and when n > d the same nonzero eigenvalues come from the d x d matrix
    U^T U / n (the dual form): O(n d^2) time and O(d^2) memory instead of O(n^3) and
    O(n^2).
    """
    if (vectors is None) == (kernel is None):
        raise MetricInputError("give either vectors or a kernel matrix, not both or neither")
    if kernel is not None:
        k = kernel.toarray() if sparse.issparse(kernel) else np.asarray(kernel, dtype=float)
        k = np.asarray(k, dtype=float)
        if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
            raise MetricInputError(f"a kernel must be a square matrix, got shape {k.shape}")
        if not np.allclose(k, k.T, atol=1e-8):
            raise MetricInputError("the kernel matrix is not symmetric")
        if not np.allclose(np.diag(k), 1.0, atol=1e-6):
            raise MetricInputError("the Vendi score needs a kernel with k(x, x) = 1")
        return vendi_from_eigenvalues(eigenvalues(k / len(k)), q)
    u = unit_rows(vectors)
    n, d = u.shape
    gram = u.T @ u if n > d else u @ u.T
    return vendi_from_eigenvalues(eigenvalues(gram / n), q)


def vendi(
    vectors: np.ndarray, jackknife: Jackknife, orders: Sequence[float] = VENDI_ORDERS
) -> dict[str, Estimate]:
    """Vendi scores of each order with jackknife intervals, in the dual (d x d) form when
    n > d: the leave-group-out matrices are the total minus one group's U_k^T U_k (each
    product in float32, summed in float64: relative error about 1e-6).

    The Vendi score is a set-level metric: its expectation grows with n toward the
    population value (and never exceeds min(n, d)); compare populations at matched n.
    """
    u = unit_rows(vectors)
    n, d = u.shape
    labels = jackknife.labels(n)
    g = int(labels.max()) + 1
    if n > d:
        order = np.argsort(labels, kind="stable")
        edges = np.searchsorted(labels[order], np.arange(g + 1))
        grouped = u[order].astype(np.float32)  # float32 products, float64 sums
        blocks = np.stack(
            [(grouped[a:b].T @ grouped[a:b]).astype(np.float64) for a, b in pairwise(edges)]
        )
        total = blocks.sum(axis=0)
        spectrum = eigenvalues(total / n)
        counts = np.bincount(labels, minlength=g)
        left_out = [eigenvalues((total - blocks[k]) / (n - counts[k])) for k in range(g)]
        form = "dual d x d form"
    else:
        gram = u @ u.T
        spectrum = eigenvalues(gram / n)
        left_out = []
        for k in range(g):
            keep = labels != k
            left_out.append(eigenvalues(gram[np.ix_(keep, keep)] / keep.sum()))
        form = "kernel n x n form"
    out = {}
    for q in orders:
        replicates = np.array([vendi_from_eigenvalues(lam, q) for lam in left_out])
        out[f"vendi_q{_order_name(q)}"] = jackknife.estimate(
            vendi_from_eigenvalues(spectrum, q),
            replicates,
            n,
            f"exact ({form})",
            {"q": "inf" if math.isinf(q) else q, "kernel": "cosine"},
            bounds=(1.0, float(min(n, d))),
        )
    return out


def _order_name(q: float) -> str:
    if math.isinf(q):
        return "inf"
    return str(int(q)) if float(q).is_integer() else str(q)


# --- clusters at a similarity threshold -----------------------------------------------


def _components(adjacency: np.ndarray) -> np.ndarray:
    return connected_components(sparse.csr_matrix(adjacency), directed=False)[1]


def clusters(
    vectors: np.ndarray,
    jackknife: Jackknife,
    threshold: float = CLUSTER_THRESHOLD,
    limit: int = CLUSTER_LIMIT,
) -> dict[str, Estimate]:
    """Clusters of texts whose cosine similarity chains above ``threshold``.

    Two texts are linked when cos >= threshold; clusters are the connected components of
    that graph (single linkage cut at 1 - threshold). Reported: the number of clusters
    (n for texts all farther apart than the threshold, 1 when all are near-copies) and
    the share of texts in the largest one. Both are set-level: compare at matched n.
    """
    u = unit_rows(vectors)
    chosen, sampling = sample_indices(len(u), limit, jackknife.seed)
    u = u[chosen]
    adjacency = (u @ u.T) >= threshold
    labels = jackknife.labels(len(u))

    def summary(keep: np.ndarray) -> tuple[float, float]:
        components = _components(adjacency[np.ix_(keep, keep)])
        sizes = np.bincount(components)
        return float(len(sizes)), float(sizes.max() / keep.sum())

    count, largest = summary(np.ones(len(u), dtype=bool))
    g = int(labels.max()) + 1
    replicates = np.array([summary(labels != k) for k in range(g)])
    params = {"threshold": threshold, "linkage": "single", "kernel": "cosine"}
    return {
        "clusters": jackknife.estimate(count, replicates[:, 0], len(u), sampling, params),
        "largest_cluster_share": jackknife.estimate(
            largest, replicates[:, 1], len(u), sampling, params, bounds=(0.0, 1.0)
        ),
    }


# --- nearest-neighbour distances ------------------------------------------------------


def _nearest_by_group(u: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(n, g): each point's largest cosine similarity to another point of each group."""
    g = int(labels.max()) + 1
    members = [np.flatnonzero(labels == k) for k in range(g)]
    best = np.full((len(u), g), -np.inf)
    for start in range(0, len(u), _CHUNK):
        rows = slice(start, min(start + _CHUNK, len(u)))
        sims = u[rows] @ u.T
        sims[np.arange(sims.shape[0]), np.arange(rows.start, rows.stop)] = -np.inf
        for k, cols in enumerate(members):
            best[rows, k] = sims[:, cols].max(axis=1)
    return best


def nearest_neighbours(
    vectors: np.ndarray, jackknife: Jackknife, limit: int = NEIGHBOUR_LIMIT, bins: int = 20
) -> dict[str, object]:
    """Cosine distance from each text to its nearest other text.

    ``nn_distance_mean`` (an :class:`Estimate`) and ``nn_distance_distribution`` (its
    quantiles and a histogram on [0, max]). Small distances mean near-duplicates. Nearest
    neighbours get closer as n grows: a set-level metric, compare at matched n. Computed
    in row chunks (no n x n matrix); the leave-group-out values come from each point's
    nearest neighbour within every group.
    """
    u = unit_rows(vectors)
    if len(u) < 3:
        raise MetricInputError(f"nearest-neighbour distances need at least 3 vectors, got {len(u)}")
    chosen, sampling = sample_indices(len(u), limit, jackknife.seed)
    u = u[chosen]
    labels = jackknife.labels(len(u))
    best = _nearest_by_group(u, labels)
    distances = 1.0 - best.max(axis=1)
    g = best.shape[1]
    replicates = np.empty(g)
    for k in range(g):
        keep = labels != k
        others = np.delete(best[keep], k, axis=1)
        replicates[k] = np.mean(1.0 - others.max(axis=1))
    counts, edges = np.histogram(distances, bins=bins, range=(0.0, max(distances.max(), 1e-9)))
    return {
        "nn_distance_mean": jackknife.estimate(
            float(distances.mean()), replicates, len(u), sampling, {"kernel": "cosine"}
        ),
        "nn_distance_distribution": {
            "n": len(u),
            "method": sampling,
            "quantiles": {str(q): float(np.quantile(distances, q)) for q in QUANTILES},
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        },
    }
