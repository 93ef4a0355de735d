"""benchmarks/bench_decode_width.py runs end to end on both embedded models (two steps per
width, one round): a row per model and width with a positive time, and the ceiling at
width 1 exactly 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_decode_width.py"


def test_short_run_prints_every_width_of_both_models():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "2", "--rounds", "1", "--context", "8"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()[1:]]
    timed = [row for row in rows if len(row) == 5]
    assert [(row[0], int(row[1])) for row in timed] == [
        (model, width)
        for model in ("llamacpp/smollm2-135m-instruct", "llamacpp/gemma3-270m")
        for width in range(1, 9)
    ]
    assert all(float(row[2]) > 0 for row in timed)
    assert [row[4] for row in timed if row[1] == "1"] == ["1.00x", "1.00x"]
    widths = [int(row[2]) for row in rows if len(row) == 3]
    assert len(widths) == 2 and all(1 <= w <= 8 for w in widths)
