"""Internal consistency of a scale: Cronbach's alpha and McDonald's omega.

Both take a (respondents x items) matrix of *keyed* item scores, NaN = missing.
Missing data: ``nan_policy="listwise"`` drops respondents with any missing item;
``"pairwise"`` computes each covariance from the respondents who answered both items
(as ``pandas.DataFrame.cov`` and pingouin's default do).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

from personascope.instruments.bootstrap import bootstrap_ci

NanPolicy = Literal["listwise", "pairwise"]

# communality cap for principal-axis factoring (guards against Heywood cases)
MAX_COMMUNALITY = 0.995


def item_covariance(x: np.ndarray, nan_policy: NanPolicy = "listwise") -> tuple[np.ndarray, int]:
    """Sample covariance (ddof 1) of the item columns, and the n it rests on.

    With ``pairwise``, entry (i, j) uses the rows where both i and j are present and n
    is the number of rows with at least two answered items.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"need a (respondents, items >= 2) matrix, got shape {x.shape}")
    if nan_policy == "listwise":
        rows = x[np.isfinite(x).all(axis=1)]
        if rows.shape[0] < 2:
            raise ValueError("fewer than two complete respondents")
        return np.cov(rows, rowvar=False, ddof=1), rows.shape[0]
    present = np.isfinite(x)
    filled = np.where(present, x, 0.0)
    m = present.astype(float)
    n_pair = m.T @ m
    if (n_pair < 2).any():
        raise ValueError("some pair of items has fewer than two common respondents")
    sum_x = filled.T @ m  # sum_x[i, j] = sum of x_i over rows where j is present too
    sum_xy = filled.T @ filled
    cov = (sum_xy - sum_x * sum_x.T / n_pair) / (n_pair - 1)
    return cov, int((present.sum(axis=1) >= 2).sum())


def alpha_from_cov(cov: np.ndarray) -> float:
    """Cronbach (1951): ``alpha = k / (k - 1) * (1 - trace(C) / sum(C))`` for k items."""
    k = cov.shape[0]
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def cronbach_alpha(
    x: np.ndarray, nan_policy: NanPolicy = "listwise", level: float = 0.95
) -> dict[str, float]:
    """Cronbach's alpha with Feldt's confidence interval.

    ``alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(sum_i x_i))`` (Cronbach 1951),
    computed from the item covariance matrix C as ``k/(k-1) * (1 - tr C / 1'C1)``. The
    interval is Feldt's (Feldt, Woodruff & Salih 1987): with ``F`` quantiles on
    ``(n - 1, (n - 1)(k - 1))`` degrees of freedom,
    ``[1 - (1 - alpha) F_{1-a/2}, 1 - (1 - alpha) F_{a/2}]``.
    Returns ``{"alpha", "low", "high", "n", "k"}``; NaN when the total variance is 0
    (every respondent gave the same total, e.g. one answer to every item).
    """
    cov, n = item_covariance(x, nan_policy)
    k = cov.shape[0]
    alpha = alpha_from_cov(cov)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    low = 1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(tail, df1, df2)
    return {"alpha": alpha, "low": float(low), "high": float(high), "n": n, "k": k}


def one_factor_loadings(
    corr: np.ndarray, max_iter: int = 500, tol: float = 1e-9
) -> tuple[np.ndarray, bool]:
    """Loadings of a one-factor model by iterated principal-axis factoring.

    Start from squared multiple correlations ``h2_i = 1 - 1 / (R^-1)_ii`` as
    communalities (the largest absolute correlation of the item where R is singular);
    repeat: put ``h2`` on the diagonal of R, take the leading eigenpair
    ``(e, v)``, set ``lambda = sqrt(e) v`` and ``h2 = lambda^2`` (capped at 0.995) until
    the communalities change by less than ``tol``. Returns the loadings (sign chosen so
    their sum is positive) and whether the iteration converged.
    """
    fallback = np.max(np.abs(corr - np.eye(len(corr))), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            h2 = 1 - 1 / np.diag(np.linalg.inv(corr))
        except np.linalg.LinAlgError:
            h2 = fallback
    # a singular R (fewer respondents than items) has no SMCs: use the largest |r|
    h2 = np.clip(np.where(np.isfinite(h2) & (h2 >= 0), h2, fallback), 0.0, MAX_COMMUNALITY)
    loadings = np.sqrt(h2)
    for _ in range(max_iter):
        reduced = corr.copy()
        np.fill_diagonal(reduced, h2)
        values, vectors = np.linalg.eigh(reduced)
        loadings = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        new_h2 = np.clip(loadings**2, 0.0, MAX_COMMUNALITY)
        if np.max(np.abs(new_h2 - h2)) < tol:
            h2 = new_h2
            break
        h2 = new_h2
    else:
        return (loadings if loadings.sum() >= 0 else -loadings), False
    return (loadings if loadings.sum() >= 0 else -loadings), True


def omega_from_cov(cov: np.ndarray) -> tuple[float, bool]:
    """McDonald's omega (total) of the unit-weighted sum score, from the item covariances.

    One-factor model ``C = lambda lambda' + Psi`` fitted to the correlation matrix by
    :func:`one_factor_loadings`; loadings and uniquenesses are put back on the item
    scale (``lambda_i = l_i s_i``, ``psi_i = (1 - l_i^2) s_i^2`` with ``s_i`` the item
    SD). Then ``omega = (sum_i lambda_i)^2 / ((sum_i lambda_i)^2 + sum_i psi_i)``
    (McDonald 1999, Test Theory: A Unified Treatment, ch. 6). Items with zero variance
    make the correlation undefined: the result is then NaN.
    """
    sd = np.sqrt(np.diag(cov))
    if (sd <= 0).any():
        return float("nan"), False
    corr = cov / np.outer(sd, sd)
    standardized, converged = one_factor_loadings(corr)
    lam = standardized * sd
    psi = (1 - standardized**2) * sd**2
    common = lam.sum() ** 2
    return float(common / (common + psi.sum())), converged


def mcdonald_omega(
    x: np.ndarray,
    nan_policy: NanPolicy = "listwise",
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """McDonald's omega total (see :func:`omega_from_cov`) with a bootstrap interval.

    With ``n_boot > 0`` the interval is the percentile bootstrap over respondents
    (rows resampled with replacement, ``numpy.random.default_rng(seed)``); otherwise
    ``low``/``high`` are NaN. Returns ``{"omega", "low", "high", "n", "k", "converged"}``.
    """
    x = np.asarray(x, dtype=float)
    cov, n = item_covariance(x, nan_policy)
    omega, converged = omega_from_cov(cov)
    low = high = float("nan")
    if n_boot > 0:
        rows = x if nan_policy == "pairwise" else x[np.isfinite(x).all(axis=1)]

        def replicate(indices: np.ndarray) -> float:
            try:
                return omega_from_cov(item_covariance(rows[indices], nan_policy)[0])[0]
            except ValueError:
                return float("nan")

        low, high = bootstrap_ci(replicate, rows.shape[0], n_boot, seed, level)
    return {
        "omega": omega,
        "low": low,
        "high": high,
        "n": n,
        "k": cov.shape[0],
        "converged": bool(converged),
    }
