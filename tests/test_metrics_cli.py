"""``personascope diversity`` as a user runs it: tables, JSON, comparisons, bad files."""

from __future__ import annotations

import json
import math

import pytest

from personascope.metrics.embedding import embedder_name, text_hash
from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli

TEXTS = [
    "Maria is a nurse from Lisbon who loves hiking.",
    "Tom repairs clocks in Leeds and plays chess on Sundays.",
    "Aiko studies marine biology in Osaka and is shy.",
    "Kwame drives a night bus in Accra and writes poems.",
    "Elena is a retired judge who bakes bread at night.",
    "Sam is a creative graphic designer who loves coffee.",
]
FAST = ["--no-semantic", "--no-syntax"]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_json_output_has_every_lexical_metric(tmp_path):
    file = write(tmp_path / "p.jsonl", [{"description": t} for t in TEXTS])
    done = run_cli("diversity", str(file), "--json", *FAST)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    metrics = report["panel"]["metrics"]
    distinct_2 = metrics["distinct_2"]
    assert distinct_2["n"] == 6 and distinct_2["low"] < distinct_2["high"]
    assert "self_bleu" in metrics and "vendi_q1" not in metrics


def test_tables_by_default_and_a_custom_field(tmp_path):
    file = write(tmp_path / "p.jsonl", [{"bio": t, "prompt": i % 2} for i, t in enumerate(TEXTS)])
    done = run_cli("diversity", str(file), "--field", "bio", "--by", "prompt", *FAST)
    assert done.returncode == 0, done.stderr
    assert "distinct_2" in done.stdout and "per-input vs across-input" in done.stdout


def test_against_a_reference_file_with_trait_vectors(tmp_path):
    rows = [{"description": t, "traits": {"O": i, "C": i % 3}} for i, t in enumerate(TEXTS)]
    other = [
        {"description": t + " Really.", "traits": {"C": 2 * i, "O": -i}}
        for i, t in enumerate(TEXTS)
    ]
    mine, theirs = write(tmp_path / "a.jsonl", rows), write(tmp_path / "b.jsonl", other * 2)
    done = run_cli(
        "diversity", str(mine), "--against", str(theirs), "--traits", "traits", "--json", *FAST
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["comparison"]["matching"]["n"] == 6
    trait_metrics = report["traits"]["metrics"]
    assert set(trait_metrics["variance_ratio"]) == {"O", "C"}
    # E = 2 mean |g - r| - mean_{i != i'} |g - g'| - mean_{j != j'} |r - r'| (Szekely &
    # Rizzo 2013), recomputed here over the (O, C) vectors matched by name
    mine_v = [(i, i % 3) for i in range(6)]
    theirs_v = [(-i, 2 * i) for i in range(6)] * 2
    energy = trait_metrics["energy_distance"]
    expected = (
        2 * mean_distance(mine_v, theirs_v)
        - mean_distance(mine_v, mine_v, skip_self=True)
        - mean_distance(theirs_v, theirs_v, skip_self=True)
    )
    assert energy["value"] == pytest.approx(expected, rel=1e-9)
    # (1 + #{permuted E >= observed}) / (1 + 199): O >= 0 against O <= 0 sets the two
    # samples apart, so few of the 199 relabellings reach the observed E
    permutations = energy["params"]["permutations"]
    assert permutations == 199
    assert energy["params"]["p_value"] * (1 + permutations) == pytest.approx(
        round(energy["params"]["p_value"] * (1 + permutations))
    )
    assert energy["params"]["p_value"] < 0.05


def mean_distance(a, b, skip_self=False):
    """Mean Euclidean distance over pairs of ``a`` x ``b`` (i != j with ``skip_self``)."""
    pairs = [
        math.dist(x, y)
        for i, x in enumerate(a)
        for j, y in enumerate(b)
        if not (skip_self and i == j)
    ]
    return sum(pairs) / len(pairs)


def test_malformed_jsonl_names_the_line(tmp_path):
    file = tmp_path / "bad.jsonl"
    file.write_text(json.dumps({"description": TEXTS[0]}) + "\n\n{oops\n", encoding="utf-8")
    done = run_cli("diversity", str(file), *FAST)
    assert done.returncode == 1
    assert "bad.jsonl:3: not valid JSON" in one_error_line(done.stderr)
    single = write(tmp_path / "one.jsonl", [{"description": TEXTS[0]}])
    done = run_cli("diversity", str(single), *FAST)
    assert "at least 2 texts, got 1" in one_error_line(done.stderr)


def test_the_full_panel_caches_embeddings_in_the_run_folder(tmp_path):
    file = write(tmp_path / "p.jsonl", [{"description": t} for t in TEXTS])
    run_dir = tmp_path / "run"
    done = run_cli("diversity", str(file), "--json", "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    panel = json.loads(done.stdout)["panel"]
    assert panel["metrics"]["vendi_q1"]["n"] == 6 and "pos_compression_ratio" in panel["metrics"]
    with Store(run_dir) as store:
        stored = store.get_embeddings(panel["embedder"], [text_hash(t) for t in TEXTS])
    assert len(stored) == 6 and panel["embedder"].startswith(embedder_name())


def test_against_the_human_big_five_norms(tmp_path):
    # a collapsed population: everyone near one profile, as small aligned models answer
    rows = [
        {"description": t, "traits": {"O": 4.0 + 0.01 * i, "C": 3.9, "E": 3.2, "A": 4.1, "N": 2.5}}
        for i, t in enumerate(TEXTS * 3)
    ]
    file = write(tmp_path / "p.jsonl", rows)
    done = run_cli(
        "diversity", str(file), "--against", "human", "--traits", "traits", "--json", *FAST
    )
    assert done.returncode == 0, done.stderr
    traits = json.loads(done.stdout)["traits"]
    assert traits["reference"].startswith("human IPIP-50 norms")
    metrics = traits["metrics"]
    assert set(metrics["variance_ratio"]) == {"O", "C", "E", "A", "N"}
    assert metrics["coverage"]["value"] < 0.1  # one profile covers little of the humans
    assert metrics["variance_ratio_geomean"]["value"] < 0.01
    assert metrics["energy_distance"]["params"]["p_value"] < 0.01
    missing = run_cli("diversity", str(file), "--against", "human", *FAST)
    assert "--traits" in one_error_line(missing.stderr)
