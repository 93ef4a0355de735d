"""The register study's measures, pure functions of style-feature arrays (docs/register.md).

Data are an array ``(T tasks, C contexts, S seeds, F features)`` per model (one row of
:data:`personascope.metrics.style.FEATURES` per response):

* :func:`register_range`: features standardised within the model (each z-scored over
  all its responses, so each counts once), then the crossed random-effects decomposition
  task x context with seeds as replicates (:func:`personascope.metrics.variance.crossed_anova`,
  vector data); register range = sigma^2_context / (sigma^2_task + sigma^2_context +
  sigma^2_task:context + sigma^2_seed), with its generalized pivotal interval;
* :func:`adherence`: per feature with an intended direction, Kendall's tau-b between the
  contexts' intended positions (times the feature's sign) and the contexts' measured mean
  feature values; adherence is the mean tau-b over those features, with a delete-a-group
  jackknife interval over the T x S (task, seed) replicate rows;
* :func:`identity_share`: with several models, the same decomposition over model x task x
  context (features standardised over all models' responses): the model share is how
  much of the style is "who wrote it", the context share "for whom".

A response with no word has undefined features: it is replaced by the mean of its
cell's other responses (or of the feature) and counted; above ``MAX_IMPUTED`` of the
responses the measures are withheld with that reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from personascope.metrics.estimate import Estimate, Jackknife, estimate_dict
from personascope.metrics.variance import crossed_anova, estimate_components

MAX_IMPUTED = 0.25


@dataclass(frozen=True)
class Prepared:
    """Standardised features, the features used and dropped, and the imputed count."""

    z: np.ndarray
    used: list[str]
    dropped: list[str]
    imputed: int
    responses: int

    def withheld(self) -> str | None:
        if self.imputed > MAX_IMPUTED * self.responses:
            return (
                f"{self.imputed} of {self.responses} responses have no word (features "
                f"undefined), more than {MAX_IMPUTED:.0%}"
            )
        if not self.used:
            return "every style feature is constant across this model's responses"
        return None


def impute(values: np.ndarray) -> tuple[np.ndarray, int]:
    """NaN responses (axis -2 = replicates) replaced by their cell's mean, else the
    feature's mean over everything; and how many responses were replaced."""
    x = np.array(values, dtype=float)
    missing = np.isnan(x).any(axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cell or feature
        cell = np.nanmean(x, axis=-2, keepdims=True)
        grand = np.nanmean(x.reshape(-1, x.shape[-1]), axis=0)
    cell = np.where(np.isnan(cell), grand, cell)
    x = np.where(np.isnan(x), np.broadcast_to(cell, x.shape), x)
    return np.nan_to_num(x), int(missing.sum())


def prepare(values: np.ndarray, names: Sequence[str]) -> Prepared:
    """Impute, then z-score each feature over all responses; constant features dropped."""
    x, imputed = impute(values)
    flat = x.reshape(-1, x.shape[-1])
    sd = flat.std(axis=0, ddof=1)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(flat).max(axis=0))
    z = (x[..., keep] - flat.mean(axis=0)[keep]) / sd[keep]
    used = [n for n, k in zip(names, keep, strict=True) if k]
    dropped = [n for n, k in zip(names, keep, strict=True) if not k]
    return Prepared(z, used, dropped, imputed, int(np.prod(x.shape[:-1])))


def _withheld(reason: str, n: int) -> dict[str, Any]:
    return estimate_dict(None, None, n, "withheld", note=reason)


def register_range(
    values: np.ndarray, names: Sequence[str], n_draws: int, seed: int
) -> dict[str, Any]:
    """Register range and the other shares of a (T, C, S, F) feature array."""
    prepared = prepare(values, names)
    base = {
        "features_used": prepared.used,
        "features_dropped": prepared.dropped,
        "imputed_responses": prepared.imputed,
    }
    reason = prepared.withheld()
    if reason is not None:
        return {**base, "register_range": _withheld(reason, prepared.responses), "reason": reason}
    anova = crossed_anova(prepared.z, ["task", "context"], "seed", multivariate=True)
    vc = estimate_components(anova, n_draws=n_draws, seed=seed)
    return {
        **base,
        "register_range": vc.share("context").to_dict(),
        "task_share": vc.share("task").to_dict(),
        "interaction_share": vc.share("task:context").to_dict(),
        "seed_share": vc.share("seed").to_dict(),
        "components": vc.to_dict(),
    }


def _tau(intended: np.ndarray, measured: np.ndarray) -> float:
    if np.ptp(measured) == 0 or np.ptp(intended) == 0:
        return float("nan")
    return float(stats.kendalltau(intended, measured, variant="b").statistic)


def adherence(
    values: np.ndarray,
    names: Sequence[str],
    positions: Mapping[str, np.ndarray],
    directions: Mapping[str, tuple[str, int]],
    jackknife: Jackknife,
) -> dict[str, Any]:
    """Register adherence of a (T, C, S, F) feature array (module docstring).

    ``positions[dimension]`` is each context's intended level; ``directions[feature]`` is
    (dimension, sign)."""
    x, _ = impute(values)
    t, c, s, _ = x.shape
    rows = np.moveaxis(x, 1, 2).reshape(t * s, c, len(names))  # (unit, context, feature)
    labels = jackknife.labels(t * s)
    rated = [f for f in names if f in directions]

    def tau_of(feature: str, keep: np.ndarray) -> float:
        dimension, sign = directions[feature]
        means = rows[keep, :, names.index(feature)].mean(axis=0)
        return _tau(sign * np.asarray(positions[dimension], dtype=float), means)

    def overall(keep: np.ndarray) -> float:
        taus = [tau_of(f, keep) for f in rated]
        finite = [v for v in taus if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    everything = np.ones(t * s, dtype=bool)
    method = "Kendall tau-b, intended vs measured order of contexts"
    per_feature = {}
    for f in rated:
        value = tau_of(f, everything)
        per_feature[f] = _estimate(
            value,
            jackknife,
            lambda keep, f=f: tau_of(f, keep),
            labels,
            t * s,
            method,
            {"dimension": directions[f][0], "sign": directions[f][1]},
        )
    value = overall(everything)
    means = rows.mean(axis=0)
    return {
        "adherence": _estimate(
            value, jackknife, overall, labels, t * s, f"mean over features of {method}", {}
        ),
        "per_feature": per_feature,
        "context_means": {f: means[:, names.index(f)].tolist() for f in names},
    }


def _estimate(
    value: float,
    jackknife: Jackknife,
    statistic: Any,
    labels: np.ndarray,
    n: int,
    method: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    if not np.isfinite(value):
        return estimate_dict(
            None, None, n, method, note="undefined: the measured (or intended) order is flat"
        )
    estimate: Estimate = jackknife.estimate(
        value, jackknife.replicate(statistic, labels), n, method, params, bounds=(-1.0, 1.0)
    )
    return estimate.to_dict()


def identity_share(
    values: Mapping[str, np.ndarray], names: Sequence[str], n_draws: int, seed: int
) -> dict[str, Any]:
    """Model, context and model x context shares over several models' (T, C, S, F) arrays."""
    stacked = np.stack(list(values.values()))
    prepared = prepare(stacked, names)
    reason = prepared.withheld()
    if reason is not None:
        return {"compared": False, "reason": reason}
    anova = crossed_anova(prepared.z, ["model", "task", "context"], "seed", multivariate=True)
    vc = estimate_components(anova, n_draws=n_draws, seed=seed)
    return {
        "compared": True,
        "models": list(values),
        "features_used": prepared.used,
        "model_share": vc.share("model").to_dict(),
        "context_share": vc.share("context").to_dict(),
        "model_context_share": vc.share("model:context").to_dict(),
        "components": vc.to_dict(),
    }
