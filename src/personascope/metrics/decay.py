"""Commitment curves: a spread measured at each turn of C conversations, and its decay rate.

For C independent conversations and turns t = 0 .. T-1, ``y[c, t]`` is a spread of the
persona the model expresses after t turns of its own history (e.g. the entropy of an
answer distribution, or the dispersion of regenerated self-descriptions).

* **Curve**: the mean over conversations at each turn, ``ybar_t``, with the
  t-interval over conversations (conversations are the independent units; for a mean
  this is also the delete-one jackknife interval).
* **Decay rate**: the least-squares fit of ``ybar_t = y0 * exp(-lambda t)``:
  for a fixed lambda the best y0 is ``sum_t ybar_t e^{-lambda t} / sum_t e^{-2 lambda t}``,
  and lambda minimises the profile sum of squares (bounded search in
  ``[-LAMBDA_BOUND, LAMBDA_BOUND]``). lambda > 0: the spread narrows as the model
  commits to a character (lambda = 0.1 is about 10 % per turn; half-life
  ``ln 2 / lambda`` turns); lambda < 0: it widens; 0: no change. A floor the spread
  decays towards is not identifiable from a handful of turns and is not fitted: lambda
  describes the turns measured, not an asymptote.
* **Intervals** for y0 and lambda: the delete-one-conversation jackknife (Quenouille
  1956; Tukey 1958), ``SE^2 = (C-1)/C sum_c (theta_(c) - mean theta)^2`` and
  ``theta_hat +- t_{C-1} SE`` (see :mod:`personascope.metrics.estimate`).

The "superposition of simulacra" reading (Shanahan, McDonell & Reynolds 2023, *Role play
with large language models*, Nature 623) predicts narrowing with history; the functions
here only measure.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import optimize, stats

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife, estimate_dict, jsonable

LAMBDA_BOUND = 5.0


def exponential_fit(turns: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(y0, lambda) of the least-squares fit ``values ~ y0 exp(-lambda turns)``.

    Profile least squares over lambda in [-LAMBDA_BOUND, LAMBDA_BOUND]; a curve that is 0
    everywhere returns (0, 0).
    """
    t = np.asarray(turns, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape or t.ndim != 1 or len(t) < 2:
        raise MetricInputError(f"need >= 2 turns with one value each, got {t.shape}, {y.shape}")
    if not np.all(np.isfinite(y)):
        raise MetricInputError("every turn needs a finite value to fit a decay")
    if not np.any(y):
        return 0.0, 0.0

    def y0(lam: float) -> float:
        e = np.exp(-lam * t)
        return float(y @ e / (e @ e))

    def sse(lam: float) -> float:
        return float(np.sum((y - y0(lam) * np.exp(-lam * t)) ** 2))

    result = optimize.minimize_scalar(
        sse, bounds=(-LAMBDA_BOUND, LAMBDA_BOUND), method="bounded", options={"xatol": 1e-8}
    )
    lam = float(result.x)
    return y0(lam), lam


def mean_curve(
    values: np.ndarray, level: float = 0.95, bounds: tuple[float, float] | None = None
) -> list[dict[str, Any]]:
    """Per turn: mean over conversations and its t-interval (C >= 2), clipped to
    ``bounds`` (the measure's range) when given."""
    y = np.asarray(values, dtype=float)
    c = y.shape[0]
    out = []
    for t in range(y.shape[1]):
        col = y[:, t][np.isfinite(y[:, t])]
        mean = float(col.mean()) if col.size else float("nan")
        if col.size >= 2:
            half = (
                stats.t.ppf(0.5 + level / 2, col.size - 1) * col.std(ddof=1) / math.sqrt(col.size)
            )
            lo, hi = mean - half, mean + half
            if bounds is not None:
                lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
            ci: tuple[float, float] | None = (lo, hi)
        else:
            ci = None
        out.append(estimate_dict(mean, ci, int(col.size), "mean; t interval", turn=t, of=c))
    return jsonable(out)


def decay_rate(values: np.ndarray, level: float = 0.95) -> dict[str, Estimate]:
    """``y0`` and ``lambda`` of the mean curve of ``values[c, t]`` with jackknife intervals.

    Rows are conversations (>= 2), columns turns 0..T-1 (>= 2); every value finite.
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2:
        raise MetricInputError(f"need >= 2 conversations x >= 2 turns, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise MetricInputError("every conversation needs a finite value at every turn")
    c, n_turns = y.shape
    turns = np.arange(n_turns, dtype=float)
    y0, lam = exponential_fit(turns, y.mean(axis=0))
    jack = Jackknife(groups=c, level=level)
    labels = np.arange(c)
    fits = np.array([exponential_fit(turns, y[labels != k].mean(axis=0)) for k in range(c)])
    params = {"turns": n_turns, "conversations": c, "model": "y0 * exp(-lambda * turn)"}
    at_bound = bool(np.any(np.abs(fits[:, 1]) >= LAMBDA_BOUND - 1e-6))
    note = f"a fit reached the bound |lambda| = {LAMBDA_BOUND}" if at_bound else None
    method = "least squares on the mean curve"
    lam_est = jack.estimate(lam, fits[:, 1], c, method, params)
    return {
        "y0": jack.estimate(y0, fits[:, 0], c, method, params),
        "lambda": replace(lam_est, note=note or lam_est.note),
    }
