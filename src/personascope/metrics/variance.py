"""Variance decomposition: ANOVA estimators of crossed random effects, ICC(1), persona SNR.

Is the variety a model shows across personas character or noise? The question is a
generalizability-theory one (Cronbach et al. 1972; Brennan 2001): how much of the
variance of an observation belongs to the persona, and how much to the prompt wording,
the sampling seed, the item and their interactions.

**Design.** A balanced, fully crossed design of random factors (e.g. persona x
paraphrase x item), optionally with ``r`` replicates nested in every cell (e.g. sampling
seeds) and optionally with vector observations (e.g. 384-d sentence embeddings). Data
are an array with one axis per factor, then the replicate axis, then the vector axis.

**Sums of squares.** For an effect B (a non-empty set of factors) let ``m_B`` be the
cell means of the B-margin (the data averaged over every other factor and the
replicates), and ``x_B`` its interaction contrast: ``m_B`` centred along each axis of
B in turn (the Moebius inversion of the margins). With N observations in all,

    SS_B = (N / prod_{f in B} n_f) * sum x_B^2,    df_B = prod_{f in B} (n_f - 1),

and the within-cell term ``SS_w = sum (y - cell mean)^2`` with ``df_w = cells (r - 1)``.
Without replicates the highest interaction is confounded with the error and is called
the residual. Mean squares ``MS = SS / df``; for vectors the SS is summed over the
dimensions (the trace of the SS matrix), so each component is the trace of that
effect's covariance matrix, i.e. the total (squared Euclidean) variance it contributes.

**ANOVA (expected-mean-squares) estimator.** With every factor random (Cornfield &
Tukey 1956), ``E[MS_B] = sigma_w^2 + sum_{C >= B} c_C sigma_C^2`` with
``c_C = r * prod_{f not in C} n_f``. Solving this triangular system gives the unbiased
ANOVA estimators (Searle, Casella & McCulloch 1992, *Variance Components*, ch. 4); for
balanced data they equal the REML estimates whenever all are non-negative (ibid. §6.7;
checked against statsmodels ``MixedLM`` in the tests). Negative estimates are set to 0
for shares and ratios (the usual convention, Brennan 2001 §3.4) and reported as raw.

**Intervals: generalized pivotal quantities** (Weerahandi 1993; for crossed
measurement designs Hamada & Weerahandi 2000; Burdick, Borror & Montgomery 2005).
Under normality the mean squares are independent and ``df MS / E[MS] ~ chi^2_df``.
Each draw replaces ``E[MS_j]`` by ``R_j = MS_j df_j / U_j``, ``U_j ~ chi^2_{df_j}``,
solves the EMS system with the R's, truncates the components at 0, and evaluates any
function (a component, a share, a ratio); the interval is the (a/2, 1 - a/2)
percentile range of the draws. Components known exactly (e.g. the within-request
variance of an answer computed from option probabilities) enter every draw as
constants.

**Vector data.** The trace of a Wishart matrix is approximated by a scaled chi-square
with ``df * d_eff`` degrees of freedom, ``d_eff = (tr S)^2 / tr(S^2)`` (Box 1954;
Satterthwaite 1946), where S is the effect's expected mean-square matrix; ``tr S`` and
``tr S^2`` are estimated without bias from the mean-square matrix M with df v
(``tr S^2 = v (v tr M^2 - (tr M)^2) / ((v - 1)(v + 2))``, ``(tr S)^2 = (tr M)^2 -
2 tr S^2 / v``; Srivastava 2005). With v < 5 these estimates are too noisy (on planted
data a paraphrase facet with v = 2 got intervals covering 84 % instead of 95 %), so the
plug-in ``(tr M)^2 / tr M^2`` is used, which is biased low and errs on the wide side.
The tests measure the coverage this gives on planted multivariate data.

**ICC(1) and ICC(1,k)** (Shrout & Fleiss 1979, case 1; McGraw & Wong 1996, ICC(1) and
ICC(k)): n targets (personas), each measured k times (runs), one-way random model,

    ICC(1)   = (MSB - MSW) / (MSB + (k - 1) MSW),     ICC(1,k) = (MSB - MSW) / MSB,

with the exact F intervals: ``F0 = MSB/MSW``, ``FL = F0 / F_{1-a/2}(n-1, n(k-1))``,
``FU = F0 F_{1-a/2}(n(k-1), n-1)``; ICC(1) in ``[(FL-1)/(FL+k-1), (FU-1)/(FU+k-1)]``,
ICC(1,k) in ``[1 - 1/FL, 1 - 1/FU]``. For vector data MSB and MSW are traces and the
degrees of freedom are multiplied by d_eff as above.

**Persona signal-to-noise ratio**: between-persona variance / within-persona
variance, a ratio of sums of components (:meth:`VarianceComponents.ratio`); in a
one-way layout it is ICC(1) / (1 - ICC(1)).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, jsonable

DEFAULT_DRAWS = 10_000
DEFAULT_LEVEL = 0.95
RESIDUAL = "residual"
MIN_DF_UNBIASED = 5  # below this, d_eff uses the (conservative) plug-in estimate


@dataclass(frozen=True)
class Term:
    """One line of the ANOVA table.

    ``name`` is the effect (``"persona"``, ``"persona:paraphrase"``), the within-cell
    term (named after the replicate factor) or ``"residual"`` (the highest interaction
    confounded with error). ``eff_df`` is ``df * d_eff`` (equal to ``df`` for scalar
    data), the degrees of freedom used for intervals.
    """

    name: str
    factors: tuple[str, ...]
    ss: float
    df: int
    eff_df: float

    @property
    def ms(self) -> float:
        return self.ss / self.df


@dataclass(frozen=True)
class Anova:
    """A balanced crossed random-effects ANOVA: its table and the EMS solution.

    ``coefficients[c, j]``: component c = sum_j coefficients[c, j] * MS_j, so that
    ``components = coefficients @ [t.ms for t in terms]`` (the ANOVA estimators).
    Components and terms share names and order.
    """

    factors: tuple[str, ...]
    levels: tuple[int, ...]
    replicates: int
    within: str | None
    dims: int
    terms: tuple[Term, ...]
    coefficients: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    @property
    def n_obs(self) -> int:
        return int(np.prod(self.levels)) * self.replicates

    def raw_components(self) -> np.ndarray:
        """ANOVA estimates, possibly negative."""
        return self.coefficients @ np.array([t.ms for t in self.terms])

    def table(self) -> list[dict[str, Any]]:
        return [
            {
                "term": t.name,
                "ss": t.ss,
                "df": t.df,
                "ms": t.ms,
                "eff_df": t.eff_df,
            }
            for t in self.terms
        ]


def effect_name(factors: Sequence[str]) -> str:
    return ":".join(factors)


def _center(x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    for axis in axes:
        x = x - x.mean(axis=axis, keepdims=True)
    return x


def _effective_dims(gram_sq: float, trace: float, df: int, dims: int) -> float:
    """d_eff = (tr S)^2 / tr S^2 from a mean-square matrix M with ``df`` (Box 1954).

    ``gram_sq = tr(M^2)``, ``trace = tr M``; unbiased estimates of tr S^2 and (tr S)^2
    when df >= MIN_DF_UNBIASED (Srivastava 2005), otherwise the plug-in, which is
    biased low (wider intervals); clipped to [1, dims].
    """
    if dims == 1 or trace <= 0 or gram_sq <= 0:
        return 1.0
    if df >= MIN_DF_UNBIASED:
        s2 = df * (df * gram_sq - trace**2) / ((df - 1) * (df + 2))
        s1_sq = trace**2 - 2 * s2 / df
        ratio = s1_sq / s2 if s2 > 0 and s1_sq > 0 else float(dims)
    else:
        ratio = trace**2 / gram_sq
    return float(min(max(ratio, 1.0), dims))


def _matrix_terms(rows: np.ndarray, scale: float, df: int) -> tuple[float, float]:
    """tr M and tr M^2 of M = scale * rows^T rows / df, without forming a d x d matrix
    when there are fewer rows than dimensions."""
    small = rows @ rows.T if rows.shape[0] <= rows.shape[1] else rows.T @ rows
    trace = scale * float(np.trace(small)) / df
    gram_sq = (scale / df) ** 2 * float(np.sum(small * small))
    return trace, gram_sq


def crossed_anova(
    data: np.ndarray,
    factors: Sequence[str],
    within: str | None = None,
    multivariate: bool = False,
) -> Anova:
    """The ANOVA table and EMS estimators of a balanced, fully crossed random design.

    ``data`` has one axis per name in ``factors`` (each >= 2 levels), then, when
    ``within`` names a replicate factor (e.g. ``"seed"``), an axis of >= 2 replicates
    nested in every cell, then, when ``multivariate``, a vector axis. Every value must
    be finite (the design must be balanced). See the module docstring for formulas.
    """
    y = np.asarray(data, dtype=float)
    m = len(factors)
    if len(set(factors)) != m or m == 0:
        raise MetricInputError(f"factors must be distinct and non-empty, got {list(factors)}")
    expected = m + (within is not None) + multivariate
    if y.ndim != expected:
        raise MetricInputError(
            f"expected a {expected}-d array (factors {list(factors)}"
            f"{', ' + within if within else ''}{', dims' if multivariate else ''}), "
            f"got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise MetricInputError("the design must be balanced: every cell needs a finite value")
    if not multivariate:
        y = y[..., None]
    if within is None:
        y = y[..., None, :]
    levels = tuple(int(n) for n in y.shape[:m])
    reps, dims = int(y.shape[m]), int(y.shape[m + 1])
    small = [f for f, n in zip(factors, levels) if n < 2]
    if small:
        raise MetricInputError(f"every factor needs >= 2 levels; {', '.join(small)} has fewer")
    if within is not None and reps < 2:
        raise MetricInputError(f"{within}: replicates need >= 2 per cell, got {reps}")
    n_obs = int(np.prod(levels)) * reps
    cell_means = y.mean(axis=m)
    effects = [
        combo for size in range(1, m + 1) for combo in itertools.combinations(range(m), size)
    ]
    terms: list[Term] = []
    for combo in effects:
        others = tuple(a for a in range(m) if a not in combo)
        margin = cell_means.mean(axis=others) if others else cell_means
        contrast = _center(margin, range(len(combo)))
        scale = n_obs / float(np.prod([levels[a] for a in combo]))
        rows = contrast.reshape(-1, dims)
        df = int(np.prod([levels[a] - 1 for a in combo]))
        ss = scale * float(np.sum(rows * rows))
        trace, gram_sq = _matrix_terms(rows, scale, df)
        names = tuple(factors[a] for a in combo)
        top = len(combo) == m and within is None
        terms.append(
            Term(
                RESIDUAL if top else effect_name(names),
                names,
                ss,
                df,
                df * _effective_dims(gram_sq, trace, df, dims),
            )
        )
    if within is not None:
        resid = (y - cell_means[..., None, :]).reshape(-1, dims)
        df = int(np.prod(levels)) * (reps - 1)
        trace, gram_sq = _matrix_terms(resid, 1.0, df)
        terms.append(
            Term(
                within,
                (within,),
                float(np.sum(resid * resid)),
                df,
                df * _effective_dims(gram_sq, trace, df, dims),
            )
        )
    # EMS matrix: E[MS_j] = sum_c A[j, c] sigma_c^2
    k = len(terms)
    ems = np.zeros((k, k))
    for j, combo in enumerate(effects):
        for c, other in enumerate(effects):
            if set(combo) <= set(other):
                ems[j, c] = reps * np.prod([levels[a] for a in range(m) if a not in other])
    if within is not None:
        ems[:, -1] = 1.0
    return Anova(
        tuple(factors),
        levels,
        reps,
        within,
        dims,
        tuple(terms),
        np.linalg.inv(ems),
    )


@dataclass(frozen=True)
class VarianceComponents:
    """Variance components with generalized-pivotal draws for intervals.

    ``estimates`` are the ANOVA estimates truncated at 0 (``raw`` untruncated; known
    components equal in both); ``draws[b, c]`` the b-th generalized pivotal draw of
    component c (truncated at 0). ``known`` names the components given as constants.
    """

    names: tuple[str, ...]
    estimates: np.ndarray
    raw: np.ndarray
    draws: np.ndarray
    known: tuple[str, ...]
    level: float
    seed: int
    n_obs: int
    design: dict[str, Any] = field(default_factory=dict)

    def _weights(self, weights: Mapping[str, float] | Sequence[str]) -> np.ndarray:
        if not isinstance(weights, Mapping):
            weights = dict.fromkeys(weights, 1.0)
        unknown = sorted(set(weights) - set(self.names))
        if unknown:
            raise MetricInputError(
                f"unknown variance component(s) {unknown}; known: {list(self.names)}"
            )
        return np.array([float(weights.get(n, 0.0)) for n in self.names])

    @property
    def method(self) -> str:
        return (
            "ANOVA (expected mean squares) estimator, negatives set to 0; "
            f"generalized pivotal interval ({self.draws.shape[0]} draws)"
        )

    def _params(self) -> dict[str, Any]:
        return {
            **self.design,
            "level": self.level,
            "draws": int(self.draws.shape[0]),
            "draw_seed": self.seed,
        }

    def _interval(self, values: np.ndarray) -> tuple[float, float] | None:
        finite = values[np.isfinite(values)]
        if finite.size < 0.9 * values.size:
            return None
        alpha = 1 - self.level
        lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
        return float(lo), float(hi)

    def total(self, weights: Mapping[str, float] | Sequence[str] | None = None) -> Estimate:
        """A weighted sum of components (all of them, unweighted, by default)."""
        w = self._weights(weights if weights is not None else self.names)
        return Estimate(
            float(w @ self.estimates),
            self._interval(self.draws @ w),
            self.n_obs,
            self.method,
            self._params(),
        )

    def component(self, name: str) -> Estimate:
        return self.total({name: 1.0})

    def ratio(
        self,
        numerator: Mapping[str, float] | Sequence[str],
        denominator: Mapping[str, float] | Sequence[str] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> Estimate:
        """(weighted sum of components) / (another weighted sum; default: all of them).

        With the default denominator this is a share of the total variance; with the
        within-persona components it is the persona signal-to-noise ratio.
        """
        num = self._weights(numerator)
        den = self._weights(denominator if denominator is not None else self.names)
        top, bottom = float(num @ self.estimates), float(den @ self.estimates)
        value = top / bottom if bottom > 0 else float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = (self.draws @ num) / (self.draws @ den)
        ci = self._interval(draws) if np.isfinite(value) else None
        if ci is not None and bounds is not None:
            ci = (max(ci[0], bounds[0]), min(ci[1], bounds[1]))
        note = None if ci is not None else "no interval: the denominator is 0"
        return Estimate(value, ci, self.n_obs, self.method, self._params(), note)

    def share(self, name: str | Sequence[str]) -> Estimate:
        """Share of the total variance belonging to one component (or several)."""
        names = [name] if isinstance(name, str) else list(name)
        return self.ratio(names, None, bounds=(0.0, 1.0))

    def to_dict(self) -> dict[str, Any]:
        """Each component's estimate, raw estimate, share, each with its interval."""
        out: dict[str, Any] = {}
        for i, name in enumerate(self.names):
            est = self.component(name)
            shr = self.share(name)
            out[name] = {
                "estimate": est.to_dict(),
                "raw": float(self.raw[i]),
                "share": shr.to_dict(),
                "known": name in self.known,
            }
        return jsonable(out)


def estimate_components(
    anova: Anova,
    known: Mapping[str, float] | None = None,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> VarianceComponents:
    """ANOVA estimates of every component and their generalized pivotal draws.

    ``known`` adds components computed exactly rather than estimated (their names must
    differ from the ANOVA terms); they enter every draw as the same constant.
    """
    known = dict(known or {})
    clash = sorted(set(known) & set(anova.names))
    if clash:
        raise MetricInputError(f"known component(s) {clash} are also ANOVA terms")
    if any(not np.isfinite(v) or v < 0 for v in known.values()):
        raise MetricInputError(f"known components must be finite and >= 0, got {known}")
    if n_draws < 100:
        raise MetricInputError(f"need >= 100 draws for an interval, got {n_draws}")
    raw = anova.raw_components()
    ms = np.array([t.ms for t in anova.terms])
    nu = np.array([t.eff_df for t in anova.terms])
    rng = np.random.default_rng(seed)
    chi = rng.chisquare(nu, size=(n_draws, len(nu)))
    pivots = ms * nu / chi
    draws = np.maximum(pivots @ anova.coefficients.T, 0.0)
    names = anova.names + tuple(known)
    constants = np.array(list(known.values()), dtype=float)
    design = {
        "factors": list(anova.factors),
        "levels": list(anova.levels),
        "replicates": anova.replicates,
        "within": anova.within,
        "dims": anova.dims,
    }
    return VarianceComponents(
        names=names,
        estimates=np.concatenate([np.maximum(raw, 0.0), constants]),
        raw=np.concatenate([raw, constants]),
        draws=np.concatenate([draws, np.broadcast_to(constants, (n_draws, len(known)))], axis=1),
        known=tuple(known),
        level=level,
        seed=seed,
        n_obs=anova.n_obs,
        design=design,
    )


@dataclass(frozen=True)
class OneWayICC:
    """ICC(1) and ICC(1,k) of a targets x runs table, with F intervals."""

    icc1: float
    icc1_ci: tuple[float, float]
    icck: float
    icck_ci: tuple[float, float]
    f: float
    df1: float
    df2: float
    n: int
    k: int
    msb: float
    msw: float
    level: float

    def estimates(self) -> dict[str, Estimate]:
        params = {
            "n_targets": self.n,
            "k_runs": self.k,
            "F": self.f,
            "df1": self.df1,
            "df2": self.df2,
            "level": self.level,
        }
        method = "one-way random effects (Shrout & Fleiss 1979 case 1); F interval"
        return {
            "icc1": Estimate(self.icc1, _finite_ci(self.icc1_ci), self.n, method, params),
            "icc1k": Estimate(self.icck, _finite_ci(self.icck_ci), self.n, method, params),
        }


def _finite_ci(ci: tuple[float, float]) -> tuple[float, float] | None:
    return ci if all(np.isfinite(ci)) else None


def icc_oneway(table: np.ndarray, level: float = DEFAULT_LEVEL) -> OneWayICC:
    """ICC(1) and ICC(1,k) of ``table`` (n targets, k runs[, d dims]); see module docs.

    A 3-d table holds vectors: mean squares are traces, degrees of freedom are scaled
    by the effective number of dimensions (an approximation, see the module docs).
    """
    y = np.asarray(table, dtype=float)
    if y.ndim not in (2, 3):
        raise MetricInputError(f"expected a (targets, runs[, dims]) table, got shape {y.shape}")
    n, k = y.shape[:2]
    if n < 2 or k < 2:
        raise MetricInputError(f"ICC needs >= 2 targets and >= 2 runs, got {n} x {k}")
    anova = crossed_anova(y, ["target"], "run", multivariate=y.ndim == 3)
    between, within = anova.terms
    msb, msw = between.ms, within.ms
    icc1 = (msb - msw) / (msb + (k - 1) * msw) if msb + (k - 1) * msw > 0 else float("nan")
    icck = (msb - msw) / msb if msb > 0 else float("nan")
    df1, df2 = between.eff_df, within.eff_df
    if msw > 0:
        f0 = msb / msw
        q = 1 - (1 - level) / 2
        fl = f0 / stats.f.ppf(q, df1, df2)
        fu = f0 * stats.f.ppf(q, df2, df1)
        icc1_ci = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
        icck_ci = (1 - 1 / fl, 1 - 1 / fu)
    else:  # no within-target variance: no F distribution, no interval
        f0 = float("inf")
        icc1_ci = icck_ci = (float("nan"), float("nan"))
    return OneWayICC(
        float(icc1),
        (float(icc1_ci[0]), float(icc1_ci[1])),
        float(icck),
        (float(icck_ci[0]), float(icck_ci[1])),
        float(f0),
        float(df1),
        float(df2),
        n,
        k,
        float(msb),
        float(msw),
        level,
    )
