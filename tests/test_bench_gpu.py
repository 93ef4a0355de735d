"""benchmarks/bench_gpu.py --tiny: the GPU benchmark runs end to end on the CPU, and its
three paths (plain transformers loop, hf/ with and without prefix sharing) compute the
same option log-probabilities (float32 on the CPU: to rounding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"


def test_tiny_run_prints_rates_and_the_paths_agree(tmp_path):
    out = tmp_path / "figures.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--tiny", "--json", str(out), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["prompts"] == 3 * 12
    assert figures["device"] == "cpu" and figures["dtype"] == "float32"
    for path in ("plain", "shared", "unshared"):
        assert figures[f"{path}_prompts_s"] > 0
    for pair in ("shared_vs_plain", "unshared_vs_plain", "shared_vs_unshared"):
        agreement = figures[f"{pair}_agreement"]
        assert agreement["max_abs_diff"] < 1e-4, pair
        assert agreement["argmax_agree"] == 1.0, pair
    assert "b/a =" in done.stdout and "c/a =" in done.stdout
