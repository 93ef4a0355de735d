"""``personascope score``: a table of answers in, domain scores, alpha and omega out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from personascope.instruments.inventory import load_inventory
from personascope.testing.clitools import one_error_line, run_cli

HUMAN = Path(__file__).resolve().parents[2] / "shared/data/human/ipip50_openpsychometrics.tsv"


def _table(tmp_path: Path, rows: list[dict[str, str]], name: str = "answers.csv") -> Path:
    inv = load_inventory("mini_ipip")
    header = ["respondent", *inv.item_ids]
    lines = [",".join(header)]
    for n, row in enumerate(rows):
        lines.append(",".join([f"r{n}"] + [row.get(i, "3") for i in inv.item_ids]))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scores_a_small_table_by_hand(tmp_path):
    # E items: E1 (+), E2 (-), E7 (+), E4 (-); respondent 0 is an extravert (5, 1, 5, 1),
    # respondent 1 answers 4, 2, 0 (missing), "" (missing)
    rows = [
        {"E1": "5", "E2": "1", "E7": "5", "E4": "1"},
        {"E1": "4", "E2": "2", "E7": "0", "E4": ""},
        {"E1": "1", "E2": "5", "E7": "2", "E4": "4"},
    ]
    result = run_cli("score", "--inventory", "mini_ipip", str(_table(tmp_path, rows)), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    e = summary["domains"]["E"]
    scores = [5.0, 4.0, (1 + 1 + 2 + 2) / 4]
    assert e["n"] == 3
    assert e["mean"] == pytest.approx(np.mean(scores), abs=1e-4)
    assert e["sd"] == pytest.approx(np.std(scores, ddof=1), abs=1e-4)
    assert summary["n_missing_answers"] == 2
    assert summary["ignored_columns"] == ["respondent"]
    assert summary["content_hash"] == load_inventory("mini_ipip").content_hash
    assert summary["domains"]["O"]["mean"] == 3.0  # everything else answered 3


def test_the_table_view_prints_every_domain(tmp_path):
    rows = [{"E1": str(1 + n % 5), "A4": str(1 + (n * 2) % 5)} for n in range(12)]
    result = run_cli("score", "--inventory", "mini_ipip", str(_table(tmp_path, rows)))
    assert result.returncode == 0, result.stderr
    for code in "OCEAN":
        assert f"\n│ {code} " in result.stdout


def test_a_bad_answer_names_the_line_and_the_column(tmp_path):
    rows = [{"E1": "5"}, {"C5": "7"}]
    result = run_cli("score", "--inventory", "mini_ipip", str(_table(tmp_path, rows)))
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "answers.csv:3: column C5: '7' is not an answer 1-5" in line


def test_missing_item_columns_and_unknown_inventories_are_errors(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("E1,A4\n1,2\n")
    line = one_error_line(run_cli("score", "--inventory", "mini_ipip", str(path)).stderr)
    assert "few.csv:1: no column for item(s) C5, N8" in line
    line = one_error_line(run_cli("score", "--inventory", "nope", str(path)).stderr)
    assert "unknown inventory 'nope'" in line


def test_human_data_alpha_through_the_command_equals_pingouin():
    if not HUMAN.is_file():
        pytest.skip(f"the human IPIP-50 data is not at {HUMAN} (it is never committed)")
    result = run_cli("score", "--inventory", "mini_ipip", str(HUMAN), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    inv = load_inventory("mini_ipip")
    data = pd.read_csv(HUMAN, sep="\t")[list(inv.item_ids)].replace(0, np.nan)
    for item in inv.items:
        if item.key < 0:
            data[item.id] = 6 - data[item.id]
    for d in inv.domains:
        expected, _ = pg.cronbach_alpha(data[[i.id for i in inv.items if i.domain == d]])
        assert summary["domains"][d]["alpha"]["value"] == pytest.approx(expected, abs=5e-4), d
        omega = summary["domains"][d]["omega"]
        assert omega["low"] <= omega["value"] <= omega["high"]
