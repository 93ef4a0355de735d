"""``personascope audit`` killed with SIGKILL mid-collapse and mid-adoption, then run again:
the same summary as an uninterrupted run (timings aside), and only the requests missing
from the store are executed."""

from __future__ import annotations

import json
import signal
from typing import Any

import yaml

from personascope.store import Store
from personascope.testing.clitools import run_cli, run_until

# One model, two studies, at the smallest size that still measures something. Collapse
# generates 12 personas in batches of 8; the first kill comes after the first batch.
CONFIG = {
    "quick": True,
    "models": ["llamacpp/smollm2-135m-instruct"],
    "studies": ["collapse", "adoption"],
    "adoption": {"wordings": ["accuracy"], "ladder_levels": [1, 9], "n_boot": 100},
}
TIMINGS = ("study_seconds", "wall_s", "elapsed_s", "seconds")


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def stored(run_dir) -> int:
    with Store(run_dir, read_only=True) as store:
        return store.count_results()


def test_audit_killed_mid_collapse_and_mid_adoption_resumes_to_the_same_summary(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    reference = tmp_path / "reference"
    done = run_cli("audit", "--config", str(config), "--out", str(reference), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    total = stored(reference)

    run = tmp_path / "run"
    args = ["audit", "--config", str(config), "--out", str(run)]
    code, _ = run_until(args, done=8, label="personas llamacpp/smollm2")
    assert code == -signal.SIGKILL
    after_collapse_kill = stored(run)
    assert 8 <= after_collapse_kill < 12  # killed before collapse generated its 12 personas
    code, _ = run_until(args, done=32, label="mini_ipip")  # the adoption administration
    assert code == -signal.SIGKILL
    after_adoption_kill = stored(run)
    assert after_collapse_kill < after_adoption_kill < total

    done = run_cli(*args, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with Store(run, read_only=True) as store:
        last = store.runs()[-1]
    assert last["info"]["executed"] == total - after_adoption_kill  # only the missing ones
    assert stored(run) == total
    summaries = [json.loads((d / "summary.json").read_text()) for d in (reference, run)]
    assert without_timings(summaries[1]) == without_timings(summaries[0])
