"""The percentile bootstrap over independent units (Efron & Tibshirani 1993, ch. 13)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n_units: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(indices)`` over resampled units.

    ``statistic`` receives an array of ``n_units`` unit indices drawn with replacement
    (``numpy.random.default_rng(seed)``); replicates that come out NaN (e.g. a resample
    with constant targets) are dropped. (NaN, NaN) when none is finite.
    """
    rng = np.random.default_rng(seed)
    draws = np.array(
        [statistic(rng.integers(0, n_units, n_units)) for _ in range(n_boot)], dtype=float
    )
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)
