"""Target vs measured trait scores: does a model take the personality it is asked for?

Pure functions of target and measured domain scores (on the inventory's answer scale),
used by the adoption study. Confidence intervals resample the independent units (the
personas) with replacement (:func:`personascope.instruments.bootstrap.bootstrap_ci`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def spearman(target: np.ndarray, measured: np.ndarray) -> float:
    """Spearman's rank correlation (Pearson correlation of mid-ranks); NaN if one is constant."""
    target, measured = np.asarray(target, float), np.asarray(measured, float)
    if target.size < 2 or np.ptp(target) == 0 or np.ptp(measured) == 0:
        return float("nan")
    return float(stats.spearmanr(target, measured).statistic)


def slope(target: np.ndarray, measured: np.ndarray) -> float:
    """OLS slope of measured on target, ``cov(t, m) / var(t)``.

    1 when the measured score moves one scale point per scale point of target; below 1
    when measured profiles are pulled toward a common (default) answer; NaN when the
    targets do not vary.
    """
    target, measured = np.asarray(target, float), np.asarray(measured, float)
    if target.size < 2 or target.var() == 0:
        return float("nan")
    covariance = ((target - target.mean()) * (measured - measured.mean())).mean()
    return float(covariance / target.var())


def hit_rate(target: np.ndarray, measured: np.ndarray, midpoint: float) -> float:
    """Share of targets off the midpoint whose measured score lies on the same side.

    ``mean over {t != c} of [sign(m - c) == sign(t - c)]`` with ``c`` the scale
    midpoint; 0.5 is what a coin would give. NaN when no target is off the midpoint.
    """
    target, measured = np.asarray(target, float), np.asarray(measured, float)
    off = target != midpoint
    if not off.any():
        return float("nan")
    return float(np.mean(np.sign(measured[off] - midpoint) == np.sign(target[off] - midpoint)))


def discrimination(target: np.ndarray, measured: np.ndarray, midpoint: float) -> float:
    """AUC of high- vs low-target personas: ``P(m_high > m_low) + P(m_high = m_low) / 2``.

    Over all pairs of a persona with target above and one with target below the
    midpoint (the Mann-Whitney U statistic over n_high * n_low). 0.5 when the measured
    score does not tell high targets from low ones; NaN without both kinds.
    """
    target, measured = np.asarray(target, float), np.asarray(measured, float)
    high, low = measured[target > midpoint], measured[target < midpoint]
    if high.size == 0 or low.size == 0:
        return float("nan")
    diff = high[:, None] - low[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def movement_ratio(targets: np.ndarray, measured: np.ndarray, default: np.ndarray) -> float:
    """How far measured profiles move from the default, relative to their targets.

    ``mean_p ||m_p - d|| / mean_p ||t_p - d||`` with ``d`` the model's profile without a
    persona (Euclidean distance over domains, in scale points). 1: profiles move as far
    from the default as asked; near 0: every persona stays at the default (default
    pull). NaN when the targets sit on the default.
    """
    targets, measured = np.asarray(targets, float), np.asarray(measured, float)
    default = np.asarray(default, float)
    asked = np.linalg.norm(targets - default, axis=1).mean()
    if asked == 0:
        return float("nan")
    return float(np.linalg.norm(measured - default, axis=1).mean() / asked)
