"""Point estimates with confidence intervals that stay valid for set-level metrics.

Most diversity metrics are properties of a *set* of texts (distinct-n, Vendi, compression,
number of clusters): their expected value depends on how many texts there are, and the
plain bootstrap (resampling texts with replacement) is biased for them, because the
duplicates it creates look like collapse. A 95% bootstrap interval of [0.51, 0.69] around
a distinct-2 of 0.91 was seen on 60 real personas.

Every interval here is a delete-a-group jackknife (Quenouille 1956; Tukey 1958; Efron &
Stein 1981). The n units (texts, vectors, or prompts) are assigned at random, with a
recorded seed, to g groups of near-equal size; the statistic is recomputed with each group
left out (``theta_k``), and

    SE^2 = (g - 1) / g * sum_k (theta_k - mean_k theta_k)^2,
    CI   = theta_hat +- t_{g-1, (1+level)/2} * SE.

The estimand is the expected value of the statistic at the observed n (for set-level
metrics that is the only n-free-of-assumptions target: compare populations at matched n).
No resampled set ever contains a duplicate, and by the Efron-Stein inequality the
jackknife variance is, in expectation, at least the true variance of any symmetric
statistic of independent units, so the interval errs on the wide side. With g = n it is
the ordinary delete-one jackknife; for a mean of independent units it is the usual
t-interval. Two-sample statistics (coverage, energy distance) add the jackknife variances
of both samples (Arvesen 1969) and use Satterthwaite's degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from personascope.errors import MetricInputError

DEFAULT_GROUPS = 20
DEFAULT_LEVEL = 0.95


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays turned into Python numbers and lists.

    Non-finite floats become ``None`` (JSON has no NaN or infinity).
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


@dataclass(frozen=True)
class Estimate:
    """A metric value, its confidence interval (or ``None``), its n and how it was made.

    ``n`` is the number of units the value was computed on (texts, vectors, prompts; for
    a two-sample statistic the generated sample, with the reference size in ``params``).
    ``method`` names the computation and the interval, e.g. ``"exact; jackknife(20)"``.
    """

    value: float
    ci: tuple[float, float] | None
    n: int
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored encoding, :func:`estimate_dict` (plus ``params`` and ``note``)."""
        out = estimate_dict(self.value, self.ci, self.n, self.method, params=self.params)
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate:
        """The estimate a stored :func:`estimate_dict` encodes (None values stay None)."""
        low, high = data.get("low"), data.get("high")
        return cls(
            value=data.get("value"),  # type: ignore[arg-type]
            ci=None if low is None or high is None else (low, high),
            n=int(data.get("n") or 0),
            method=str(data.get("method") or ""),
            params=dict(data.get("params") or {}),
            note=data.get("note"),
        )


def estimate_dict(
    value: float | None,
    ci: Sequence[float | None] | None,
    n: int,
    method: str,
    **extra: Any,
) -> dict[str, Any]:
    """The one JSON encoding of every estimate personascope stores or prints:
    ``{"value", "low", "high", "n", "method", ...extra}``, non-finite numbers as None
    (an undefined interval bound is None)."""
    low, high = (None, None) if ci is None else (ci[0], ci[1])
    return {
        "value": jsonable(value),
        "low": jsonable(low),
        "high": jsonable(high),
        "n": int(n),
        "method": method,
        **{key: jsonable(v) for key, v in extra.items()},
    }


def jackknife_se(replicates: np.ndarray) -> float:
    """Delete-a-group jackknife standard error: sqrt((g-1)/g * sum (theta_k - mean)^2)."""
    reps = np.asarray(replicates, dtype=float)
    g = len(reps)
    return math.sqrt((g - 1) / g * float(np.sum((reps - reps.mean()) ** 2)))


@dataclass(frozen=True)
class Jackknife:
    """How intervals are made: ``groups`` (g), the grouping ``seed`` and the ``level``."""

    groups: int = DEFAULT_GROUPS
    seed: int = 0
    level: float = DEFAULT_LEVEL

    def __post_init__(self) -> None:
        if self.groups < 2:
            raise MetricInputError(f"jackknife groups must be >= 2, got {self.groups}")
        if not 0.0 < self.level < 1.0:
            raise MetricInputError(f"confidence level must be in (0, 1), got {self.level}")

    def labels(self, n: int, salt: int = 0) -> np.ndarray:
        """Random group of each of ``n`` units: g = min(groups, n) near-equal groups.

        ``salt`` gives a second, independent grouping from the same seed (for the other
        sample of a two-sample statistic).
        """
        if n < 2:
            raise MetricInputError(f"an interval needs at least 2 units, got {n}")
        g = min(self.groups, n)
        rng = np.random.default_rng([self.seed, salt])
        labels = np.empty(n, dtype=np.intp)
        labels[rng.permutation(n)] = np.arange(n) % g
        return labels

    def interval(
        self, value: float, replicates: np.ndarray, bounds: tuple[float, float] | None = None
    ) -> tuple[float, float] | None:
        """``value +- t_{g-1} * SE`` clipped to ``bounds``; ``None`` if a replicate is undefined."""
        reps = np.asarray(replicates, dtype=float)
        if len(reps) < 2 or not np.all(np.isfinite(reps)) or not math.isfinite(value):
            return None
        half = stats.t.ppf(0.5 + self.level / 2, len(reps) - 1) * jackknife_se(reps)
        return _clip((value - half, value + half), bounds)

    def interval_two_sample(
        self,
        value: float,
        replicates_a: np.ndarray,
        replicates_b: np.ndarray,
        bounds: tuple[float, float] | None = None,
    ) -> tuple[float, float] | None:
        """Two-sample jackknife: SE^2 = SE_a^2 + SE_b^2, Satterthwaite degrees of freedom."""
        a = np.asarray(replicates_a, dtype=float)
        b = np.asarray(replicates_b, dtype=float)
        if min(len(a), len(b)) < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return None
        if not math.isfinite(value):
            return None
        va, vb = jackknife_se(a) ** 2, jackknife_se(b) ** 2
        if va + vb == 0.0:
            return _clip((value, value), bounds)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = stats.t.ppf(0.5 + self.level / 2, df) * math.sqrt(va + vb)
        return _clip((value - half, value + half), bounds)

    def estimate(
        self,
        value: float,
        replicates: np.ndarray,
        n: int,
        computation: str,
        params: dict[str, Any] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> Estimate:
        """An :class:`Estimate` with the jackknife interval of ``replicates``."""
        ci = self.interval(value, replicates, bounds)
        return Estimate(
            float(value),
            ci,
            n,
            f"{computation}; jackknife({len(replicates)} groups)",
            {**(params or {}), "level": self.level, "jackknife_seed": self.seed},
            _interval_note(ci),
        )

    def estimate_two_sample(
        self,
        value: float,
        replicates_a: np.ndarray,
        replicates_b: np.ndarray,
        n: int,
        computation: str,
        params: dict[str, Any] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> Estimate:
        """An :class:`Estimate` with the two-sample jackknife interval."""
        ci = self.interval_two_sample(value, replicates_a, replicates_b, bounds)
        groups = f"{len(replicates_a)} + {len(replicates_b)} groups"
        return Estimate(
            float(value),
            ci,
            n,
            f"{computation}; two-sample jackknife({groups})",
            {**(params or {}), "level": self.level, "jackknife_seed": self.seed},
            _interval_note(ci),
        )

    def replicate(self, statistic: Callable[[np.ndarray], float], labels: np.ndarray) -> np.ndarray:
        """``statistic(keep)`` for each group left out; ``keep`` is a boolean mask."""
        g = int(labels.max()) + 1
        return np.array([statistic(labels != k) for k in range(g)], dtype=float)


def _interval_note(ci: tuple[float, float] | None) -> str | None:
    if ci is None:
        return "no interval: a leave-group-out value is undefined (too few units)"
    if ci[0] == ci[1]:
        return (
            "zero-width interval: every leave-group-out value is equal (the metric sits at "
            "a bound, e.g. nothing repeats); it understates the uncertainty"
        )
    return None


def _clip(interval: tuple[float, float], bounds: tuple[float, float] | None) -> tuple[float, float]:
    lo, hi = float(interval[0]), float(interval[1])
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return lo, hi


def sample_indices(n: int, limit: int, seed: int) -> tuple[np.ndarray, str]:
    """All of ``range(n)`` when n <= limit, else a seeded random subset of ``limit`` indices
    (sorted); with the words that say which, for an estimate's ``method``."""
    if n < 2:
        raise MetricInputError(f"this metric needs at least 2 items, got {n}")
    if n <= limit:
        return np.arange(n), "exact"
    chosen = np.sort(np.random.default_rng([seed, 7]).choice(n, size=limit, replace=False))
    return chosen, f"exact on a random subset of {limit} of {n} (seed {seed})"
