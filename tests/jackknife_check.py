"""An independent delete-a-group jackknife interval, written out for the tests."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def jackknife_ci(value, replicates, level=0.95, bounds=(-math.inf, math.inf)):
    reps = np.asarray(replicates, dtype=float)
    g = len(reps)
    se = math.sqrt((g - 1) / g * np.sum((reps - reps.mean()) ** 2))
    half = stats.t.ppf(0.5 + level / 2, g - 1) * se
    return max(value - half, bounds[0]), min(value + half, bounds[1])
