"""Trait reach: how much of a human population's trait space a population of personas
covers, relative to what the same number of real people cover.

Coverage (:func:`personascope.metrics.coverage.coverage`; Naeem et al. 2020, "Reliable
Fidelity and Diversity Metrics for Generative Models", k = 5) grows with the number n of
generated points: 300 real people cover about a quarter of a 5,000-person reference, 5,000
cover nearly all of it. So it is read against a baseline at the same n:

    B(n)  = mean_b C(H_b),   H_b = n people drawn afresh from the human population
            (b = 1..D, independent of the reference sample R),
    reach = C(G) / B(n),

with C(X) = (1/m) sum_j 1[ min_{x in X} |r_j - x| <= r_j* ] (ties up to rounding count
as covered) and r_j* the distance from r_j to its k-th nearest other point of R. Reach is
1 for a population as varied as real people, and about B(c) / B(n) (roughly c / n) for n
personas that are copies of c distinct ones: unlike per-dimension spread (SD or variance
ratios, or a log-determinant), which one wide axis can inflate, a copy covers no new
region however far from the others it lies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import cKDTree

from personascope.errors import MetricInputError
from personascope.metrics.coverage import (
    COVERAGE_K,
    TIE_ATOL,
    TIE_RTOL,
    _kth_neighbour_distance,
)
from personascope.metrics.estimate import Estimate, Jackknife

if TYPE_CHECKING:
    from personascope.instruments.norms import ScaleNorms

BASELINE_DRAWS = 100
# draws(n, seed): n points from the reference population, independent for each seed
Sampler = Callable[[int, int], np.ndarray]


@dataclass
class CoverageBaseline:
    """A reference sample with its k-NN radii, and what n people from the same population
    cover of it (computed on demand for each n and cached)."""

    reference: np.ndarray
    radii: np.ndarray
    sampler: Sampler
    description: str
    k: int = COVERAGE_K
    draws: int = BASELINE_DRAWS
    seed: int = 0
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        reference: np.ndarray,
        sampler: Sampler,
        description: str,
        *,
        k: int = COVERAGE_K,
        draws: int = BASELINE_DRAWS,
        seed: int = 0,
    ) -> CoverageBaseline:
        ref = np.asarray(reference, dtype=float)
        if ref.ndim != 2 or not np.all(np.isfinite(ref)):
            raise MetricInputError("the reference must be a finite (m, d) array")
        if draws < 2:
            raise MetricInputError(f"the coverage baseline needs >= 2 draws, got {draws}")
        radii = _kth_neighbour_distance(ref, k, "euclidean")
        return cls(ref, radii, sampler, description, k, draws, seed)

    def covered(self, points: np.ndarray) -> float:
        """C(points): share of reference points with a point within their radius."""
        x = np.asarray(points, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.reference.shape[1]:
            raise MetricInputError(
                f"expected (n, {self.reference.shape[1]}) trait vectors, got shape {x.shape}"
            )
        nearest = cKDTree(x).query(self.reference, k=1)[0]  # exact Euclidean nearest
        return float(np.mean(nearest <= self.radii * (1 + TIE_RTOL) + TIE_ATOL))

    def values(self, n: int) -> np.ndarray:
        """C(H_b) for the D baseline draws of n people."""
        if n < 1:
            raise MetricInputError("the coverage baseline needs n >= 1")
        if n not in self._cache:
            seeds = np.random.default_rng([self.seed, 13, n]).integers(2**32, size=self.draws)
            self._cache[n] = np.array([self.covered(self.sampler(n, int(s))) for s in seeds])
        return self._cache[n]

    def reach(self, points: np.ndarray) -> float:
        """C(points) / B(len(points))."""
        return self.covered(points) / float(self.values(len(points)).mean())

    def summary(self, n: int, observed: float | None = None) -> dict[str, Any]:
        """B(n) with the 2.5-97.5% range over draws (and the ratio C / B(n) if given)."""
        values = self.values(n)
        out: dict[str, Any] = {
            "n": n,
            "mean": float(values.mean()),
            "range_95": [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))],
            "draws": self.draws,
            "population": self.description,
            "reference_n": len(self.reference),
        }
        if observed is not None:
            out["coverage"] = observed
            out["ratio"] = observed / out["mean"]
        return out


def trait_reach(
    generated: np.ndarray, baseline: CoverageBaseline, jackknife: Jackknife
) -> Estimate:
    """Reach = C(generated) / B(n), with a delete-a-group jackknife interval over the
    generated points (each replicate against the baseline at its own n; the reference
    and baseline are held fixed, their spread is in :meth:`CoverageBaseline.summary`)."""
    x = np.asarray(generated, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise MetricInputError(f"trait reach needs at least 2 trait vectors, got shape {x.shape}")
    labels = jackknife.labels(len(x))
    return jackknife.estimate(
        baseline.reach(x),
        jackknife.replicate(lambda keep: baseline.reach(x[keep]), labels),
        len(x),
        "coverage / mean coverage of n people from the reference population",
        {
            "baseline_draws": baseline.draws,
            "reference_n": len(baseline.reference),
            "k": baseline.k,
            "population": baseline.description,
        },
        (0.0, np.inf),
    )


def human_baseline(norms: ScaleNorms, reference: np.ndarray, seed: int = 0) -> CoverageBaseline:
    """The baseline of the human norms: ``reference`` is a sample from ``norms`` and each
    baseline draw is a fresh sample from them (:meth:`ScaleNorms.sample`)."""
    return CoverageBaseline.build(
        reference,
        norms.sample,
        f"human {norms.inventory} norms ({norms.n} respondents; Gaussian-copula draws)",
        seed=seed,
    )
