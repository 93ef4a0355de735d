"""The collapse index's trait reach on planted populations built from real people (issue 16).

Planted truth from the 19,719 IPIP-50 respondents (never committed; skipped when absent):
300 real people; copies of k real people (k = 5, 20, 60) filling 300 rows; the 300
people pulled toward the mean profile (x -> mean + 0.42 (x - mean), the pull that gave
the old index 0.58). The index must rank them humans < pulled < 60 < 20 < 5 copies with
intervals that do not overlap, and humans vs humans must sit at 0 with an interval
covering 0. Coverage and its same-n baseline are recomputed here with scipy's k-d tree.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from personascope.instruments.norms import load_norms
from personascope.metrics.estimate import Jackknife
from personascope.metrics.trait_reach import human_baseline
from personascope.studies import collapse_measures as cm

HUMAN = Path(__file__).resolve().parents[2] / "shared/data/human/ipip50_openpsychometrics.tsv"
SIGNS = {  # IPIP-50 keys (N keyed as Neuroticism), as in test_instruments_norms
    "O": [1, -1, 1, -1, 1, -1, 1, 1, 1, 1],
    "C": [1, -1, 1, -1, 1, -1, 1, -1, 1, 1],
    "E": [1, -1, 1, -1, 1, -1, 1, -1, 1, -1],
    "A": [-1, 1, -1, 1, -1, 1, -1, 1, 1, 1],
    "N": [1, -1, 1, -1, 1, 1, 1, 1, 1, 1],
}
N = 300
JK = Jackknife(seed=0)


@pytest.fixture(scope="module")
def people() -> np.ndarray:
    """O, C, E, A, N domain means of every complete respondent, computed with pandas."""
    if not HUMAN.is_file():
        pytest.skip(f"the human IPIP-50 data is not at {HUMAN} (it is never committed)")
    data = pd.read_csv(HUMAN, sep="\t")
    items = [f"{d}{i}" for d in SIGNS for i in range(1, 11)]
    data = data[(data[items] > 0).all(axis=1)]
    columns = []
    for d, signs in SIGNS.items():
        raw = data[[f"{d}{i}" for i in range(1, 11)]].to_numpy(float)
        columns.append(np.where(np.array(signs) > 0, raw, 6 - raw).mean(axis=1))
    return np.column_stack(columns)


@pytest.fixture(scope="module")
def populations(people: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    humans = people[rng.choice(len(people), N, replace=False)]
    out = {"humans": humans, "pulled": people.mean(axis=0) + 0.42 * (humans - people.mean(axis=0))}
    for k in (60, 20, 5):
        out[f"copies of {k}"] = np.repeat(
            people[rng.choice(len(people), k, replace=False)], N // k, axis=0
        )
    return out


@pytest.fixture(scope="module")
def baseline():
    norms = load_norms("ipip50")
    return human_baseline(norms, norms.sample(5000, 0), seed=0)


def _coverage(points: np.ndarray, reference: np.ndarray) -> float:
    """Share of reference points whose 5th nearest other reference point is no nearer
    than their nearest point of ``points`` (Naeem et al. 2020); the scores lie on a 0.1
    grid, so equal distances are common and count as covered (tolerance 1e-9)."""
    radii = cKDTree(reference).query(reference, k=6)[0][:, 5]
    nearest = cKDTree(points).query(reference, k=1)[0]
    return float(np.mean(nearest <= radii * (1 + 1e-9)))


def _index(traits: np.ndarray, baseline) -> dict:
    n = len(traits)
    components = cm.index_components(
        [None] * n, [None] * n, [None] * n, [None] * n, traits=traits, trait_baseline=baseline
    )
    return cm.collapse_index(components, n, JK)


def test_the_index_ranks_planted_populations_with_separated_intervals(populations, baseline):
    order = ["humans", "pulled", "copies of 60", "copies of 20", "copies of 5"]
    results = {name: _index(populations[name], baseline) for name in order}
    humans = results["humans"]["index"]
    assert humans["value"] < 0.05
    assert humans["low"] == 0.0  # covers 0
    for lower, higher in itertools.pairwise(order):
        assert results[lower]["index"]["high"] < results[higher]["index"]["low"], (
            lower,
            higher,
        )
    # copies of k people cover what k people cover: C(k) / B(300) by the test's k-d tree
    reference = baseline.reference
    b300 = np.mean([_coverage(baseline.sampler(N, 1000 + s), reference) for s in range(40)])
    for k in (5, 20, 60):
        expected = _coverage(populations[f"copies of {k}"], reference) / b300
        index = results[f"copies of {k}"]
        assert index["components"]["self-report traits"] == pytest.approx(expected, rel=0.03)
        assert index["index"]["value"] == pytest.approx(1 - expected, rel=0.03)


def test_the_diversity_command_reports_trait_reach_and_the_same_n_baseline(
    tmp_path, populations, baseline
):
    clones = populations["copies of 5"]
    path = tmp_path / "clones.jsonl"
    with path.open("w") as out:
        for i, row in enumerate(clones):
            traits = dict(zip("OCEAN", row.tolist(), strict=True))
            out.write(json.dumps({"description": f"persona {i % 5}", "traits": traits}) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "personascope.cli",
            "diversity",
            str(path),
            "--traits",
            "traits",
            "--against",
            "human",
            "--json",
            "--no-semantic",
            "--no-syntax",
            "--run-dir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    traits = json.loads(result.stdout)["traits"]
    base = traits["coverage_baseline"]
    reference = baseline.reference  # the CLI's reference: 5,000 draws from the norms, seed 0
    b300 = np.mean([_coverage(baseline.sampler(N, 2000 + s), reference) for s in range(40)])
    assert base["n"] == N
    assert base["mean"] == pytest.approx(b300, rel=0.02)
    assert base["range_95"][0] < base["mean"] < base["range_95"][1]
    covered = _coverage(clones, reference)
    assert base["coverage"] == pytest.approx(covered, abs=1e-12)
    assert traits["metrics"]["coverage"]["value"] == pytest.approx(covered, abs=1e-12)
    assert base["ratio"] == pytest.approx(covered / base["mean"], rel=1e-12)
    assert traits["trait_reach"]["value"] == pytest.approx(covered / b300, rel=0.02)
    assert traits["trait_reach"]["value"] < 0.05  # five people are not 300
