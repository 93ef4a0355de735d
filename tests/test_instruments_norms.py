"""Human norms: the shipped figures against the raw data, T-scores, percentiles, sampling."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personascope.instruments.inventory import item_subset, load_inventory
from personascope.instruments.norms import (
    acquiescence,
    item_spread,
    load_norms,
    norms_for,
    sample_reference,
)
from personascope.instruments.validity import references

HUMAN = Path(__file__).resolve().parents[2] / "shared/data/human/ipip50_openpsychometrics.tsv"
SIGNS = {  # Neuroticism direction: the codebook's emotional-stability keys, reversed
    "E": [1, -1, 1, -1, 1, -1, 1, -1, 1, -1],
    "N": [1, -1, 1, -1, 1, 1, 1, 1, 1, 1],
    "A": [-1, 1, -1, 1, -1, 1, -1, 1, 1, 1],
    "C": [1, -1, 1, -1, 1, -1, 1, -1, 1, 1],
    "O": [1, -1, 1, -1, 1, -1, 1, 1, 1, 1],
}


@pytest.fixture(scope="module")
def human_domains() -> pd.DataFrame:
    """Domain scores computed here with pandas from the raw file, independently of the package."""
    if not HUMAN.is_file():
        pytest.skip(f"the human IPIP-50 data is not at {HUMAN} (it is never committed)")
    data = pd.read_csv(HUMAN, sep="\t")
    items = [f"{d}{i}" for d in SIGNS for i in range(1, 11)]
    data = data[(data[items] > 0).all(axis=1)]
    out = {}
    for d, signs in SIGNS.items():
        cols = data[[f"{d}{i}" for i in range(1, 11)]].to_numpy(float)
        keyed = np.where(np.array(signs) > 0, cols, 6 - cols)
        out[d] = keyed.mean(axis=1)
    return pd.DataFrame(out)


def test_shipped_norms_equal_an_independent_computation(human_domains):
    norms = load_norms("ipip50")
    assert norms.n == len(human_domains) == 19718
    for d in norms.domains:
        j = norms.index(d)
        assert norms.mean[j] == pytest.approx(human_domains[d].mean(), abs=1e-9)
        assert norms.sd[j] == pytest.approx(human_domains[d].std(), abs=1e-9)
    expected = human_domains[list(norms.domains)].corr().to_numpy()
    assert np.allclose(norms.correlation, expected, atol=1e-9)


def test_percentiles_are_mid_ranks_of_the_human_scores(human_domains):
    norms = load_norms("ipip50")
    for d in ("E", "N"):
        values = human_domains[d].to_numpy()
        for x in (2.0, 3.1, 4.5):
            expected = 100 * ((values < x - 1e-9).mean() + 0.5 * (np.abs(values - x) < 1e-9).mean())
            row = np.full(5, np.nan)
            row[norms.index(d)] = x
            assert norms.percentiles(row)[norms.index(d)] == pytest.approx(expected, abs=1e-9)


def test_t_scores_and_percentile_order():
    norms = load_norms("ipip50")
    assert np.allclose(norms.t_scores(norms.mean), 50.0)
    assert np.allclose(norms.t_scores(norms.mean + norms.sd), 60.0)
    low, high = norms.percentiles(np.full(5, 2.0)), norms.percentiles(np.full(5, 4.0))
    assert (low < high).all() and (low > 0).all() and (high < 100).all()
    assert np.isnan(norms.percentiles(np.full(5, np.nan))).all()


def test_reference_sample_has_human_margins_and_correlations():
    norms = load_norms("ipip50")
    sample = sample_reference(40_000, seed=3)
    assert sample.shape == (40_000, 5)
    assert np.allclose(sample.mean(axis=0), norms.mean, atol=0.02)
    assert np.allclose(sample.std(axis=0), norms.sd, atol=0.02)
    assert np.allclose(np.corrcoef(sample, rowvar=False), norms.correlation, atol=0.03)
    # every value is a possible IPIP-50 domain score
    assert np.allclose(sample * 10, np.round(sample * 10))
    assert np.array_equal(sample_reference(10, seed=3), sample_reference(10, seed=3))


def test_mini_ipip_has_its_own_norms_and_neo_has_none():
    assert load_norms("mini_ipip").n == 19718
    assert load_norms("mini_ipip").grid.tolist() == [1 + j / 4 for j in range(17)]
    assert load_norms("ipip_neo_120") is None


def test_shortened_forms_have_their_own_norms():
    """The first k items per domain (a study's items_per_domain) are normed as given."""
    mini = load_inventory("mini_ipip")
    two = norms_for(item_subset(mini, 2))
    assert two is not None and two.inventory == "mini_ipip:first-2-per-domain"
    assert two.grid.tolist() == [1 + j / 2 for j in range(9)]
    assert norms_for(item_subset(mini, 3)) is not None
    assert norms_for(item_subset(load_inventory("ipip50"), 9)) is not None
    # a mean of fewer positively correlated items spreads more than the whole scale's
    assert (two.sd > load_norms("mini_ipip").sd).all()
    # and the human item spread of 2 answers is not that of 10 (what validity compares to)
    short = references(item_subset(mini, 2))["E"]
    assert short.label == "mini_ipip:first-2-per-domain human norms"
    assert short.spread_median != references(load_inventory("ipip50"))["E"].spread_median


def test_norms_refuse_an_inventory_with_other_items():
    inv = load_inventory("ipip50")
    changed = dataclasses.replace(inv, content_hash="sha256:other")
    assert norms_for(inv) is not None
    assert norms_for(changed) is None


def test_answer_style_indices_by_hand():
    raw = np.array([[5.0, 5.0, 4.0, 4.0], [5.0, 1.0, 5.0, 1.0]])
    keys = np.array([1, -1, 1, -1])
    # agreeing with both poles: (4.5 + 4.5) / 2 - 3 = 1.5; mirrored answers: 0
    assert acquiescence(raw, keys, 5).tolist() == [1.5, 0.0]
    assert item_spread(raw).tolist() == [0.5, 2.0]
