"""Iterative proportional fitting to marginal tables, and inconsistent marginals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from personascope.errors import InputFileError
from personascope.personas.marginals import MarginalsConfig, ipf, read_seed_table
from personascope.personas.strategies import load_strategy
from personascope.personas.strategies.base import unit_rng
from personascope.personas.strategies.describe import MarginalsStrategy

SEED_CSV = """gender,age_group,weight
female,young,30
female,old,10
male,young,10
male,old,50
"""


def write_config(tmp_path, marginals, seed=SEED_CSV):
    (tmp_path / "seed.csv").write_text(seed)
    path = tmp_path / "marginals.yaml"
    path.write_text(f"seed_table: seed.csv\nweight_column: weight\nmarginals:\n{marginals}")
    return path


def fitted(strategy: MarginalsStrategy) -> dict[tuple[str, str], float]:
    rows = strategy.seed_table.rows
    return {(r["gender"], r["age_group"]): w for r, w in zip(rows, strategy.fit.weights)}


def test_ipf_meets_the_margins_and_keeps_the_seed_odds_ratio(tmp_path):
    path = write_config(
        tmp_path,
        "  - {attributes: [gender], totals: {female: 600, male: 400}}\n"
        "  - {attributes: [age_group], totals: {young: 500, old: 500}}\n",
    )
    strategy = load_strategy("marginals", path)
    assert isinstance(strategy, MarginalsStrategy) and strategy.fit.converged
    w = fitted(strategy)
    assert w[("female", "young")] + w[("female", "old")] == pytest.approx(600)
    assert w[("female", "young")] + w[("male", "young")] == pytest.approx(500)
    # IPF rescales rows and columns, so the seed's cross-product ratio is unchanged.
    seed_odds = (30 * 50) / (10 * 10)
    odds = (
        w[("female", "young")] * w[("male", "old")] / (w[("female", "old")] * w[("male", "young")])
    )
    assert odds == pytest.approx(seed_odds)


def test_a_crosstab_marginal_is_met_exactly(tmp_path):
    path = write_config(
        tmp_path,
        "  - attributes: [gender, age_group]\n"
        "    totals: {female: {young: 1, old: 2}, male: {young: 3, old: 4}}\n",
    )
    w = fitted(load_strategy("marginals", path))
    assert w == pytest.approx(
        {("female", "young"): 1, ("female", "old"): 2, ("male", "young"): 3, ("male", "old"): 4}
    )


def test_personas_follow_the_fitted_distribution(tmp_path):
    path = write_config(tmp_path, "  - {attributes: [gender], totals: {female: 90, male: 10}}\n")
    strategy = load_strategy("marginals", path)
    genders = [strategy.profile(unit_rng(0, i))[0]["gender"] for i in range(2000)]
    share = genders.count("female") / len(genders)
    assert abs(share - 0.9) < 0.03


@pytest.mark.parametrize(
    ("marginals", "message"),
    [
        (
            "  - {attributes: [gender], totals: {female: 600, male: 400}}\n"
            "  - {attributes: [age_group], totals: {young: 500, old: 700}}\n",
            r"marginals\.1\.totals sum to 1200 but marginals\.0\.totals sum to 1000",
        ),
        (
            "  - {attributes: [gender], totals: {female: 5, male: 4, other: 1}}\n",
            r"marginals\.0\.totals: other has a target of 1 but no seed row",
        ),
        (
            "  - {attributes: [gender], totals: {female: 5}}\n",
            r"seed table value male of gender has no target",
        ),
        (
            "  - {attributes: [region], totals: {north: 5}}\n",
            r"'region' is not a seed table column",
        ),
        ("  - {attributes: [gender], totals: {female: -5, male: 4}}\n", r"must be finite and >= 0"),
        (
            "  - {attributes: [gender, age_group], totals: {female: 5, male: 4}}\n",
            r"expected 2 nested levels",
        ),
    ],
)
def test_inconsistent_marginals_name_file_and_field(tmp_path, marginals, message):
    path = write_config(tmp_path, marginals)
    with pytest.raises(InputFileError, match=message) as info:
        load_strategy("marginals", path)
    assert str(path) in str(info.value)


def test_seed_table_errors_name_the_csv_line(tmp_path):
    path = write_config(
        tmp_path,
        "  - {attributes: [gender], totals: {female: 1, male: 1}}\n",
        seed="gender,age_group,weight\nfemale,young,1\nmale,old,lots\n",
    )
    with pytest.raises(InputFileError, match=r"seed\.csv:3: weight 'lots' is not a number"):
        load_strategy("marginals", path)


def test_ipf_reports_non_convergence():
    config = MarginalsConfig.model_validate(
        {
            "rows": [{"a": "x", "b": "u"}, {"a": "y", "b": "v"}],
            "marginals": [
                {"attributes": ["a"], "totals": {"x": 1, "y": 1}},
                {"attributes": ["a", "b"], "totals": {"x": {"u": 0.5}, "y": {"v": 1.5}}},
            ],
        }
    )
    seed = read_seed_table(config, Path("inline.yaml"))
    result = ipf(seed, config.marginals, "inline.yaml", max_iterations=50)
    assert not result.converged and result.max_abs_error > 0.1
    assert np.isfinite(result.weights).all()
