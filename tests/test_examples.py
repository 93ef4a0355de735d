"""The notebook-style example runs as a user would run it, and says what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "notebook.py"


def test_the_notebook_example_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    # the diversity table of the generated personas, then the adoption slopes, one per domain
    assert lines[0].split() == ["metric", "value", "low", "high", "n"]
    slopes = [line for line in lines if ".slope" in line]
    assert sorted(s.split()[0] for s in slopes) == sorted(
        f"conditions.accuracy.domains.{d}.slope" for d in "OCEAN"
    )
    figure = tmp_path / "out" / "adoption_slopes.html"
    assert figure.stat().st_size > 100_000  # plotly.js is inline: the figure opens offline
    assert (tmp_path / "out" / "personas.jsonl").read_text().count("\n") == 8
