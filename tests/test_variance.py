"""Variance decomposition, ICC(1) and persona SNR against planted truth and other libraries.

Planted truth: data simulated with known variance components; the estimators must be
unbiased and their intervals must cover the truth at close to the nominal 95 % over
repeated seeds. Cross-checks: ICC(1) equals pingouin's; the ANOVA estimates equal the
REML estimates of statsmodels' MixedLM on balanced data; small tables worked by hand.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from personascope.errors import MetricInputError
from personascope.metrics.variance import (
    crossed_anova,
    estimate_components,
    icc_oneway,
)

SIGMA_PRI = {
    "p": 1.0,
    "r": 0.3,
    "i": 0.5,
    "p:r": 0.2,
    "p:i": 0.4,
    "r:i": 0.1,
    "residual": 0.5,
}


def simulate_pri(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """persona x paraphrase x item with every main effect and interaction planted."""
    p, r, i = shape
    s = {k: np.sqrt(v) for k, v in SIGMA_PRI.items()}
    return (
        rng.normal(0, s["p"], (p, 1, 1))
        + rng.normal(0, s["r"], (1, r, 1))
        + rng.normal(0, s["i"], (1, 1, i))
        + rng.normal(0, s["p:r"], (p, r, 1))
        + rng.normal(0, s["p:i"], (p, 1, i))
        + rng.normal(0, s["r:i"], (1, r, i))
        + rng.normal(0, s["residual"], (p, r, i))
    )


def raw(anova) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return dict(zip(anova.names, anova.raw_components()))


def random_covariance(rng: np.random.Generator, d: int, trace: float, decay: float) -> np.ndarray:
    """A rotated covariance with exponentially decaying eigenvalues and a given trace."""
    eigen = np.exp(-decay * np.arange(d))
    eigen *= trace / eigen.sum()
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q @ np.diag(eigen) @ q.T


# --- worked by hand ------------------------------------------------------------------


def test_one_way_icc_by_hand():
    # targets (1, 3) and (5, 7): grand mean 4, target means 2 and 6
    # SS_between = 2 * (4 + 4) = 16 (df 1); SS_within = 4 * 1 = 4 (df 2) -> MSW = 2
    icc = icc_oneway(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert icc.msb == pytest.approx(16.0)
    assert icc.msw == pytest.approx(2.0)
    assert icc.icc1 == pytest.approx(14 / 18)
    assert icc.icck == pytest.approx(14 / 16)
    assert icc.f == pytest.approx(8.0)


def test_two_way_components_by_hand():
    # 2 x 2 crossed, no replicates: y = [[0, 2], [4, 10]]
    # grand 4; row means 1, 7; column means 2, 6
    # SS_a = 2*(9+9) = 36, SS_b = 2*(4+4) = 16, SS_total = 16+4+0+36 = 56, SS_res = 4
    anova = crossed_anova(np.array([[0.0, 2.0], [4.0, 10.0]]), ["a", "b"])
    ms = {t.name: t.ms for t in anova.terms}
    assert ms == pytest.approx({"a": 36.0, "b": 16.0, "residual": 4.0})
    # sigma_a = (MS_a - MS_res) / n_b, sigma_b = (MS_b - MS_res) / n_a
    assert raw(anova) == pytest.approx({"a": 16.0, "b": 6.0, "residual": 4.0})


# --- other libraries -----------------------------------------------------------------


def test_icc1_equals_pingouin():
    pd = pytest.importorskip("pandas")
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(7)
    table = rng.normal(0, 1, (15, 1)) + rng.normal(0, 0.9, (15, 4))
    long = pd.DataFrame(
        [(t, r, table[t, r]) for t in range(15) for r in range(4)],
        columns=["target", "run", "score"],
    )
    ref = pg.intraclass_corr(long, targets="target", raters="run", ratings="score")
    ref = ref.set_index("Type")
    ours = icc_oneway(table)
    assert ours.icc1 == pytest.approx(ref.loc["ICC(1,1)", "ICC"], abs=1e-12)
    assert ours.icck == pytest.approx(ref.loc["ICC(1,k)", "ICC"], abs=1e-12)
    assert ours.f == pytest.approx(ref.loc["ICC(1,1)", "F"], rel=1e-12)
    assert (ours.df1, ours.df2) == (ref.loc["ICC(1,1)", "df1"], ref.loc["ICC(1,1)", "df2"])
    # pingouin rounds its intervals to 2 decimals
    assert ours.icc1_ci == pytest.approx(tuple(ref.loc["ICC(1,1)", "CI95"]), abs=0.0051)
    assert ours.icck_ci == pytest.approx(tuple(ref.loc["ICC(1,k)", "CI95"]), abs=0.0051)


def test_anova_equals_reml_on_balanced_data():
    pd = pytest.importorskip("pandas")
    smf = pytest.importorskip("statsmodels.formula.api")
    rng = np.random.default_rng(3)
    p, r, s = 8, 3, 3
    y = (
        rng.normal(0, 1, (p, 1, 1))
        + rng.normal(0, 0.7, (1, r, 1))
        + rng.normal(0, 0.5, (p, r, 1))
        + rng.normal(0, 0.6, (p, r, s))
    )
    ours = raw(crossed_anova(y, ["p", "r"], "s"))
    assert min(ours.values()) > 0  # REML = ANOVA only when every estimate is positive
    frame = pd.DataFrame(
        [(a, b, c, y[a, b, c]) for a in range(p) for b in range(r) for c in range(s)],
        columns=["p", "r", "s", "y"],
    )
    frame["group"] = 1
    frame["pr"] = frame.p.astype(str) + "_" + frame.r.astype(str)
    model = smf.mixedlm(
        "y ~ 1",
        frame,
        groups="group",
        re_formula="0",
        vc_formula={"p": "0+C(p)", "r": "0+C(r)", "pr": "0+C(pr)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=True, method="lbfgs")
    reml = dict(zip(model.exog_vc.names, fit.vcomp))
    assert ours["p"] == pytest.approx(reml["p"], rel=1e-3)
    assert ours["r"] == pytest.approx(reml["r"], rel=1e-3)
    assert ours["p:r"] == pytest.approx(reml["pr"], rel=1e-3)
    assert ours["s"] == pytest.approx(fit.scale, rel=1e-3)


# --- structure -------------------------------------------------------------------------


def test_vector_components_are_sums_over_dimensions():
    rng = np.random.default_rng(11)
    y = rng.normal(size=(5, 3, 2, 4)) + rng.normal(size=(5, 1, 1, 4))
    vector = crossed_anova(y, ["p", "r"], "seed", multivariate=True)
    per_dim = [crossed_anova(y[..., k], ["p", "r"], "seed").raw_components() for k in range(4)]
    assert vector.raw_components() == pytest.approx(np.sum(per_dim, axis=0))


def test_persona_shift_moves_only_the_persona_component():
    rng = np.random.default_rng(5)
    y = simulate_pri(rng, (6, 3, 4))
    shifted = y + rng.normal(0, 3, (6, 1, 1))
    before = raw(crossed_anova(y, "pri"))
    after = raw(crossed_anova(shifted, "pri"))
    assert after["p"] > before["p"] + 1
    for name in ("r", "i", "p:r", "p:i", "r:i", "residual"):
        assert after[name] == pytest.approx(before[name], abs=1e-9)


def test_known_component_enters_shares_as_a_constant():
    rng = np.random.default_rng(2)
    anova = crossed_anova(simulate_pri(rng, (6, 3, 4)), "pri")
    plain = estimate_components(anova, n_draws=500)
    with_sampling = estimate_components(anova, {"sampling": 2.0}, n_draws=500)
    total = plain.total().value
    assert with_sampling.total().value == pytest.approx(total + 2.0)
    assert with_sampling.share("sampling").value == pytest.approx(2.0 / (total + 2.0))
    lo, hi = with_sampling.component("sampling").ci
    assert lo == hi == 2.0


def test_negative_estimates_are_truncated_but_reported():
    # no persona effect at all, tiny design: the raw persona estimate is often negative
    rng = np.random.default_rng(0)
    for _ in range(50):
        anova = crossed_anova(rng.normal(size=(3, 3)), ["p", "r"])
        if anova.raw_components()[0] < 0:
            break
    else:
        pytest.fail("no negative estimate in 50 tries")
    vc = estimate_components(anova, n_draws=200)
    assert vc.raw[0] < 0 and vc.estimates[0] == 0.0
    assert vc.to_dict()["p"]["raw"] < 0
    assert vc.share("p").value == 0.0


def test_bad_input_raises_metric_input_error():
    with pytest.raises(MetricInputError, match="balanced"):
        crossed_anova(np.array([[1.0, np.nan], [2.0, 3.0]]), ["p", "r"])
    with pytest.raises(MetricInputError, match="2 levels"):
        crossed_anova(np.ones((1, 3)), ["p", "r"])
    with pytest.raises(MetricInputError, match="3-d"):
        crossed_anova(np.ones((3, 3)), ["p", "r"], "seed")
    with pytest.raises(MetricInputError, match="ICC needs"):
        icc_oneway(np.ones((5, 1)))
    anova = crossed_anova(np.arange(9.0).reshape(3, 3), ["p", "r"])
    with pytest.raises(MetricInputError, match="unknown variance component"):
        estimate_components(anova, n_draws=200).share("persona")


# --- planted truth: unbiasedness and coverage --------------------------------------------


def test_anova_estimates_are_unbiased():
    rng = np.random.default_rng(1)
    draws = np.array(
        [crossed_anova(simulate_pri(rng, (8, 3, 5)), "pri").raw_components() for _ in range(600)]
    )
    names = crossed_anova(simulate_pri(rng, (8, 3, 5)), "pri").names
    truth = np.array([SIGMA_PRI[n] for n in names])
    se = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - truth) < 4 * se), (draws.mean(axis=0), truth)


def coverage(hits: list[bool]) -> float:
    return float(np.mean(hits))


def test_generalized_intervals_cover_planted_components():
    """persona x paraphrase x item, 200 datasets: persona share, component and SNR."""
    rng = np.random.default_rng(2024)
    total = sum(SIGMA_PRI.values())
    within = ("r", "p:r", "r:i", "residual")
    true_snr = SIGMA_PRI["p"] / sum(SIGMA_PRI[n] for n in within)
    share_hits, comp_hits, snr_hits = [], [], []
    for k in range(200):
        vc = estimate_components(
            crossed_anova(simulate_pri(rng, (10, 3, 6)), "pri"), n_draws=2000, seed=k
        )
        share, comp, snr = vc.share("p"), vc.component("p"), vc.ratio(["p"], within)
        share_hits.append(share.ci[0] <= SIGMA_PRI["p"] / total <= share.ci[1])
        comp_hits.append(comp.ci[0] <= SIGMA_PRI["p"] <= comp.ci[1])
        snr_hits.append(snr.ci[0] <= true_snr <= snr.ci[1])
    # nominal 0.95; binomial SE with 200 datasets is 0.015
    for name, hits in (("share", share_hits), ("component", comp_hits), ("snr", snr_hits)):
        assert 0.90 <= coverage(hits) <= 0.99, (name, coverage(hits))


def test_generalized_intervals_cover_planted_vector_components():
    """persona x paraphrase x seed with 32-d anisotropic vectors (an embedding stand-in)."""
    d = 32
    setup = np.random.default_rng(99)
    covariances = {
        "p": random_covariance(setup, d, 0.2, 0.2),
        "r": random_covariance(setup, d, 0.05, 0.3),
        "p:r": random_covariance(setup, d, 0.05, 0.05),
        "seed": random_covariance(setup, d, 0.5, 0.02),
    }
    factors = {name: np.linalg.cholesky(c) for name, c in covariances.items()}
    traces = {name: float(np.trace(c)) for name, c in covariances.items()}
    true_share = traces["p"] / sum(traces.values())
    rng = np.random.default_rng(8)
    p, r, s = 10, 3, 3

    def draw(shape: tuple[int, ...], name: str) -> np.ndarray:
        return rng.normal(size=(*shape, d)) @ factors[name].T

    share_hits, seed_hits, icc_hits = [], [], []
    for k in range(200):
        y = draw((p, 1, 1), "p") + draw((1, r, 1), "r") + draw((p, r, 1), "p:r")
        y = y + draw((p, r, s), "seed")
        vc = estimate_components(
            crossed_anova(y, ["p", "r"], "seed", multivariate=True), n_draws=2000, seed=k
        )
        share, seed = vc.share("p"), vc.component("seed")
        share_hits.append(share.ci[0] <= true_share <= share.ci[1])
        seed_hits.append(seed.ci[0] <= traces["seed"] <= seed.ci[1])
        # one-way ICC with no paraphrase facet: persona + seed only
        one_way = draw((p, 1), "p") + draw((p, 9), "seed")
        icc = icc_oneway(one_way)
        true_icc = traces["p"] / (traces["p"] + traces["seed"])
        icc_hits.append(icc.icc1_ci[0] <= true_icc <= icc.icc1_ci[1])
    for name, hits in (("share", share_hits), ("seed", seed_hits), ("icc", icc_hits)):
        assert 0.89 <= coverage(hits) <= 0.99, (name, coverage(hits))


def test_icc_f_interval_covers_planted_icc():
    rng = np.random.default_rng(31)
    true_icc = 1.0 / (1.0 + 2.25)
    hits = []
    for _ in range(400):
        table = rng.normal(0, 1, (12, 1)) + rng.normal(0, 1.5, (12, 4))
        ci = icc_oneway(table).icc1_ci
        hits.append(ci[0] <= true_icc <= ci[1])
    assert 0.92 <= coverage(hits) <= 0.98
