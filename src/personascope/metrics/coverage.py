"""How well a generated population covers a reference population, in any vector space:
trait vectors (Big-Five domain scores) or text embeddings.

``generated`` and ``reference`` are (n, d) and (m, d) arrays. ``metric`` is
``"euclidean"`` (trait scores) or ``"cosine"`` (embeddings: rows are L2-normalised and the
distance is 1 - cos). Every function is a two-sample statistic; its interval adds the
jackknife variances of both samples (see :mod:`personascope.metrics.estimate`). Large
samples are reduced to a seeded random subset of ``limit`` points where a statistic needs
pairwise distances, and the method says so.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife, sample_indices
from personascope.metrics.semantic import group_sums, one_thread, unit_rows

Metric = Literal["euclidean", "cosine"]

COVERAGE_K = 5
REFERENCE_LIMIT = 5000
ENERGY_LIMIT = 1000
PERMUTATIONS = 199
MAX_CELLS = 20
LOGDET_RTOL = 1e-9  # relative eigenvalue tolerance of a singular covariance
# a distance equal to the radius up to rounding counts as within it: on scores that lie on
# a grid (domain means of 1-5 answers) exact ties are common, and the rounding of the
# distance formula would otherwise decide them (a 3-7% change in coverage was measured)
TIE_RTOL, TIE_ATOL = 1e-9, 1e-12
_BLOCK_ENTRIES = 1 << 23  # distance-matrix entries computed at once (64 MiB of float64)


def _prepare(generated: np.ndarray, reference: np.ndarray, metric: Metric) -> tuple[Any, Any]:
    if metric not in ("euclidean", "cosine"):
        raise MetricInputError(f"metric must be 'euclidean' or 'cosine', not {metric!r}")
    arrays = []
    for name, values in (("generated", generated), ("reference", reference)):
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] == 0:
            raise MetricInputError(
                f"the {name} vectors must be an (n >= 2, d) array, got {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise MetricInputError(f"the {name} vectors contain NaN or infinite values")
        arrays.append(unit_rows(x) if metric == "cosine" else x)
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise MetricInputError(
            f"generated vectors have {arrays[0].shape[1]} dimensions, "
            f"reference vectors {arrays[1].shape[1]}"
        )
    return arrays[0], arrays[1]


def distances(a: np.ndarray, b: np.ndarray, metric: Metric) -> np.ndarray:
    """(len(a), len(b)) distances: Euclidean, or 1 - a.b for unit rows (cosine)."""
    if metric == "cosine":
        return 1.0 - a @ b.T
    squared = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :]
    return np.sqrt(np.maximum(squared - 2.0 * (a @ b.T), 0.0))


def _row_blocks(rows: int, columns: int) -> list[slice]:
    step = max(1, _BLOCK_ENTRIES // max(columns, 1))
    return [slice(s, min(s + step, rows)) for s in range(0, rows, step)]


def _compact(x: np.ndarray, metric: Metric) -> np.ndarray:
    """Unit vectors in float32 for the large cosine distance blocks (absolute error of
    1 - cos about 1e-6); Euclidean trait vectors stay in float64."""
    return x.astype(np.float32) if metric == "cosine" else x


def _nearest_by_group(
    queries: np.ndarray, points: np.ndarray, labels: np.ndarray, metric: Metric
) -> np.ndarray:
    """(len(queries), g): distance from each query to the nearest point of each group."""
    order = np.argsort(labels, kind="stable")
    g = int(labels.max()) + 1
    starts = np.searchsorted(labels[order], np.arange(g))
    queries, sorted_points = _compact(queries, metric), _compact(points[order], metric)
    out = np.empty((len(queries), g))
    for rows in _row_blocks(len(queries), len(points)):
        out[rows] = np.minimum.reduceat(distances(queries[rows], sorted_points, metric), starts, 1)
    return out


def _kth_neighbour_distance(points: np.ndarray, k: int, metric: Metric) -> np.ndarray:
    """Distance from each point to its k-th nearest *other* point."""
    if len(points) <= k:
        raise MetricInputError(f"a {k}-NN radius needs more than {k} reference points")
    out = np.empty(len(points))
    points = _compact(points, metric)
    for rows in _row_blocks(len(points), len(points)):
        block = distances(points[rows], points, metric)
        block[np.arange(block.shape[0]), np.arange(rows.start, rows.stop)] = np.inf
        out[rows] = np.partition(block, k - 1, axis=1)[:, k - 1]
    return out


def coverage(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    metric: Metric = "euclidean",
    radius: float | None = None,
    k: int = COVERAGE_K,
    limit: int = REFERENCE_LIMIT,
) -> Estimate:
    """Coverage: the share of reference points with a generated point within a radius,

        C = (1/m) sum_j 1[ min_i d(r_j, g_i) <= r_j* ],

    (ties, equal up to rounding, count as within the radius), with r_j* = ``radius``
    when given (the fixed-radius form of the Persona Generators work, Paglieri et al.
    2026), else the distance from r_j to its k-th nearest other
    reference point (coverage of Naeem et al. 2020, "Reliable Fidelity and Diversity
    Metrics for Generative Models", k = 5): a radius that adapts to the reference density,
    so that a second sample from the reference population scores near 1 - 2^-k at equal
    size. 1 = every region of the reference has a generated neighbour; 0 = none.
    """
    gen, ref = _prepare(generated, reference, metric)
    chosen, sampling = sample_indices(len(ref), limit, jackknife.seed)
    ref = ref[chosen]
    if radius is not None and radius < 0:
        raise MetricInputError(f"coverage radius must be >= 0, got {radius}")
    radii = (
        np.full(len(ref), radius) if radius is not None else _kth_neighbour_distance(ref, k, metric)
    )
    gen_labels = jackknife.labels(len(gen))
    ref_labels = jackknife.labels(len(ref), salt=1)
    best = _nearest_by_group(ref, gen, gen_labels, metric)
    radii = radii * (1 + TIE_RTOL) + TIE_ATOL
    covered = best.min(axis=1) <= radii
    g = best.shape[1]
    gen_replicates = [np.mean(np.delete(best, q, axis=1).min(axis=1) <= radii) for q in range(g)]
    ref_replicates = [covered[ref_labels != q].mean() for q in range(int(ref_labels.max()) + 1)]
    return jackknife.estimate_two_sample(
        float(covered.mean()),
        np.array(gen_replicates),
        np.array(ref_replicates),
        len(gen),
        f"reference: {sampling}",
        {
            "metric": metric,
            "radius": radius if radius is not None else f"{k}-NN distance within the reference",
            "reference_n": len(ref),
        },
        bounds=(0.0, 1.0),
    )


def _occupancy_uniformity(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p))) / len(counts))


def uniformity(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    metric: Metric = "euclidean",
    cells: int | None = None,
    limit: int = REFERENCE_LIMIT,
) -> Estimate:
    """Uniformity of the generated points over the reference population's regions.

    The reference is cut into K cells by k-means (K = ``cells``, default min(20, m/10));
    each generated point falls in the cell of its nearest centre, with shares p_c, and

        U = exp(-sum_c p_c log p_c) / K,

    the effective number of occupied cells (Hill number of order 1) over K: 1 when the
    generated points spread evenly over all cells, 1/K when all fall in one. The same
    value for the reference itself is in ``params`` for scale. The interval treats the
    cells as fixed (it is over the generated points).
    """
    from sklearn.cluster import KMeans

    gen, ref = _prepare(generated, reference, metric)
    chosen, sampling = sample_indices(len(ref), limit, jackknife.seed)
    ref = ref[chosen]
    k = cells if cells is not None else max(2, min(MAX_CELLS, len(ref) // 10))
    if not 2 <= k <= len(ref):
        raise MetricInputError(f"uniformity needs 2 <= cells <= {len(ref)} reference points")
    means = KMeans(n_clusters=k, n_init=2, random_state=jackknife.seed).fit(ref)
    assigned = means.predict(gen)
    counts = np.bincount(assigned, minlength=k).astype(float)
    labels = jackknife.labels(len(gen))
    by_group = np.stack(
        [np.bincount(assigned[labels == q], minlength=k) for q in range(labels.max() + 1)]
    )
    replicates = np.array([_occupancy_uniformity(counts - row) for row in by_group])
    return jackknife.estimate(
        _occupancy_uniformity(counts),
        replicates,
        len(gen),
        f"k-means cells on the reference ({sampling})",
        {
            "metric": metric,
            "cells": k,
            "reference_uniformity": _occupancy_uniformity(np.bincount(means.labels_, minlength=k)),
            "reference_n": len(ref),
        },
        bounds=(1.0 / k, 1.0),
    )


def _moments(x: np.ndarray, labels: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-group sums of x and of x^2 (``full``: of the outer products x x^T)."""
    if not full:
        return group_sums(x, labels), group_sums(x * x, labels)
    groups = range(int(labels.max()) + 1)
    return group_sums(x, labels), np.stack([x[labels == q].T @ x[labels == q] for q in groups])


def _variances(s1: np.ndarray, s2: np.ndarray, m: float, full: bool) -> np.ndarray:
    """Sample (co)variances (ddof 1) from the sums of x and of x^2 (or x x^T) over m rows."""
    mean_part = np.outer(s1, s1) if full else s1 * s1
    return (s2 - mean_part / m) / (m - 1)


def _leave_out(
    x: np.ndarray, labels: np.ndarray, statistic: Any, full: bool
) -> tuple[Any, list[Any]]:
    """``statistic`` of the (co)variance of x, and of x without each group."""
    s1, s2 = _moments(x, labels, full)
    t1, t2 = s1.sum(axis=0), s2.sum(axis=0)
    counts = np.bincount(labels)
    whole = statistic(_variances(t1, t2, len(x), full))
    parts = [
        statistic(_variances(t1 - s1[q], t2 - s2[q], len(x) - counts[q], full))
        for q in range(len(counts))
    ]
    return whole, parts


def variance_ratio(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    names: list[str] | None = None,
    per_dimension: bool = True,
) -> dict[str, Any]:
    """Per-dimension variance ratio var_gen(j) / var_ref(j) (sample variances, ddof 1)
    and their geometric mean exp(mean_j log ratio_j). Below 1 = the generated population
    is narrower than the reference along that dimension (collapse); above 1 = wider.
    Intervals are built on the log scale and exponentiated.
    """
    gen, ref = _prepare(generated, reference, "euclidean")
    if names is not None and len(names) != gen.shape[1]:
        raise MetricInputError(f"{len(names)} dimension names for {gen.shape[1]} dimensions")
    g_labels, r_labels = jackknife.labels(len(gen)), jackknife.labels(len(ref), salt=1)
    gen_var, gen_parts = _leave_out(gen, g_labels, np.asarray, full=False)
    ref_var, ref_parts = _leave_out(ref, r_labels, np.asarray, full=False)
    if np.any(ref_var <= 0):
        raise MetricInputError(f"reference dimension {int(np.argmin(ref_var))} has no variance")
    with np.errstate(divide="ignore"):
        log_ratio = np.log(gen_var) - np.log(ref_var)
        gen_reps = np.log(np.stack(gen_parts)) - np.log(ref_var)
        ref_reps = np.log(gen_var) - np.log(np.stack(ref_parts))
    params = {"reference_n": len(ref), "scale": "log for the interval"}

    def on_ratio(value: float, a: np.ndarray, b: np.ndarray, extra: dict[str, Any]) -> Estimate:
        est = jackknife.estimate_two_sample(value, a, b, len(gen), "exact", {**params, **extra})
        ci = None if est.ci is None else (math.exp(est.ci[0]), math.exp(est.ci[1]))
        return Estimate(math.exp(value), ci, est.n, est.method, est.params, est.note)

    out: dict[str, Any] = {
        "variance_ratio_geomean": on_ratio(
            float(log_ratio.mean()), gen_reps.mean(axis=1), ref_reps.mean(axis=1), {}
        )
    }
    if per_dimension:
        labels = names or [f"dim{j}" for j in range(gen.shape[1])]
        out["variance_ratio"] = {
            labels[j]: on_ratio(float(log_ratio[j]), gen_reps[:, j], ref_reps[:, j], {})
            for j in range(gen.shape[1])
        }
    return out


def _logdet(covariance: np.ndarray) -> float:
    """log det of a covariance matrix from its eigenvalues; -inf when it is singular, i.e.
    when its smallest eigenvalue is at most ``LOGDET_RTOL`` times its largest (a
    degenerate population's zero eigenvalues come out as rounding noise, about 1e-15,
    not as 0)."""
    with one_thread():  # see semantic.eigenvalues
        eig = np.linalg.eigvalsh(covariance)
    if eig[-1] <= 0 or eig[0] <= LOGDET_RTOL * eig[-1]:
        return -math.inf
    return float(np.sum(np.log(eig)))


def logdet_ratio(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    components: int | None = None,
) -> Estimate:
    """Log-determinant covariance ratio log det S_gen - log det S_ref (natural log): the
    log of the ratio of generalised variances (Wilks 1932), i.e. of the squared volumes
    of the two populations' covariance ellipsoids. 0 = same volume; negative = the
    generated population fills less volume (collapse); -inf when it is degenerate.

    ``components``: first project both samples on the top principal axes of the reference
    (needed for embeddings, where d is large); both samples need more points than
    dimensions.
    """
    gen, ref = _prepare(generated, reference, "euclidean")
    if components is not None:
        centre = ref.mean(axis=0)
        with one_thread():  # see semantic.eigenvalues
            _, vectors = np.linalg.eigh(np.cov(ref, rowvar=False))  # ascending eigenvalues
        axes = vectors[:, ::-1][:, : min(components, ref.shape[1])]
        gen, ref = (gen - centre) @ axes, (ref - centre) @ axes
    d = gen.shape[1]
    if min(len(gen), len(ref)) <= d:
        raise MetricInputError(
            f"a covariance determinant in {d} dimensions needs more than {d} points per "
            f"sample (got {len(gen)} and {len(ref)}); project on fewer components"
        )
    g_labels, r_labels = jackknife.labels(len(gen)), jackknife.labels(len(ref), salt=1)
    gen_ld, gen_parts = _leave_out(gen, g_labels, _logdet, full=True)
    ref_ld, ref_parts = _leave_out(ref, r_labels, _logdet, full=True)
    value = gen_ld - ref_ld
    return jackknife.estimate_two_sample(
        value,
        np.array(gen_parts) - ref_ld,
        gen_ld - np.array(ref_parts),
        len(gen),
        "exact",
        {"dimensions": d, "components": components, "reference_n": len(ref)},
    )


def energy_distance(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    metric: Metric = "euclidean",
    permutations: int = PERMUTATIONS,
    limit: int = ENERGY_LIMIT,
) -> Estimate:
    """Energy distance (Szekely & Rizzo 2013, "Energy statistics") with a permutation test:

        E = 2 mean_{i,j} |g_i - r_j| - mean_{i != i'} |g_i - g_i'| - mean_{j != j'} |r_j - r_j'|,

    Euclidean distances (chordal distances sqrt(2 - 2 cos) for ``"cosine"``). E is 0
    in expectation when the two populations have the same distribution, positive
    otherwise. ``params["p_value"]`` = (1 + #{permuted E >= observed E}) / (1 + P) over P
    random relabellings of the pooled sample.
    """
    gen, ref = _prepare(generated, reference, metric)
    g_idx, g_sampling = sample_indices(len(gen), limit, jackknife.seed)
    r_idx, r_sampling = sample_indices(len(ref), limit, jackknife.seed + 1)
    pooled = np.vstack([gen[g_idx], ref[r_idx]])
    n_a, n_b = len(g_idx), len(r_idx)
    dist = distances(pooled, pooled, "euclidean")
    np.fill_diagonal(dist, 0.0)

    g_labels = jackknife.labels(n_a)
    r_labels = jackknife.labels(n_b, salt=1)
    labels = np.concatenate([g_labels, g_labels.max() + 1 + r_labels])
    blocks = group_sums(group_sums(dist, labels).T, labels)
    sizes = np.bincount(labels).astype(float)
    n_groups_a = int(g_labels.max()) + 1
    in_a = np.arange(len(sizes)) < n_groups_a

    def from_blocks(keep: np.ndarray) -> float:
        a, b = keep & in_a, keep & ~in_a
        na, nb = sizes[a].sum(), sizes[b].sum()
        return float(
            2 * blocks[np.ix_(a, b)].sum() / (na * nb)
            - blocks[np.ix_(a, a)].sum() / (na * (na - 1))
            - blocks[np.ix_(b, b)].sum() / (nb * (nb - 1))
        )

    value = from_blocks(np.ones(len(sizes), dtype=bool))
    replicates = np.array([from_blocks(np.arange(len(sizes)) != q) for q in range(len(sizes))])
    gen_reps, ref_reps = replicates[:n_groups_a], replicates[n_groups_a:]

    rng = np.random.default_rng([jackknife.seed, 11])
    total = n_a + n_b
    assign = np.zeros((total, permutations))
    for p in range(permutations):
        assign[rng.permutation(total)[:n_a], p] = 1.0
    weighted = dist @ assign
    rows = dist.sum(axis=1)[:, None]
    within_a = (assign * weighted).sum(axis=0)
    across = ((1.0 - assign) * weighted).sum(axis=0)
    within_b = ((1.0 - assign) * (rows - weighted)).sum(axis=0)
    permuted = (
        2 * across / (n_a * n_b) - within_a / (n_a * (n_a - 1)) - within_b / (n_b * (n_b - 1))
    )
    p_value = (1 + int(np.sum(permuted >= value - 1e-12))) / (1 + permutations)
    return jackknife.estimate_two_sample(
        value,
        gen_reps,
        ref_reps,
        n_a,
        f"generated: {g_sampling}; reference: {r_sampling}",
        {
            "p_value": p_value,
            "permutations": permutations,
            "distance": "euclidean" if metric == "euclidean" else "chordal (unit vectors)",
            "reference_n": n_b,
        },
    )


def coverage_metrics(
    generated: np.ndarray,
    reference: np.ndarray,
    jackknife: Jackknife,
    *,
    metric: Metric = "euclidean",
    radius: float | None = None,
    names: list[str] | None = None,
    components: int | None = None,
) -> dict[str, Any]:
    """Every coverage metric of ``generated`` against ``reference`` (see each function).

    For embeddings (``metric="cosine"``) the per-dimension variance ratios are left out
    (only their geometric mean is kept) and the log-determinant uses ``components``
    principal axes of the reference (default 10).
    """
    embeddings = metric == "cosine"
    if embeddings:
        components = components or 10
    out: dict[str, Any] = {
        "coverage": coverage(generated, reference, jackknife, metric=metric, radius=radius),
        "uniformity": uniformity(generated, reference, jackknife, metric=metric),
    }
    out.update(
        variance_ratio(generated, reference, jackknife, names=names, per_dimension=not embeddings)
    )
    try:
        out["logdet_ratio"] = logdet_ratio(generated, reference, jackknife, components=components)
    except MetricInputError as exc:
        out["logdet_ratio"] = {"value": None, "note": str(exc)}
    out["energy_distance"] = energy_distance(generated, reference, jackknife, metric=metric)
    return out
