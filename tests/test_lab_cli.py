"""``personascope lab`` end to end, as a user runs it: a tiny lab (2 DPO steps on the real
Gemma, a few samples), its findings, report and model ids, a resumed rerun, and the
one-line errors."""

from __future__ import annotations

import json
import signal

import pytest

from escaping import assert_only_escaped, poisoned
from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli, run_until

TINY = [
    "lab",
    "--quick",
    "--samples", "4",
    "--eval-samples", "2",
    "--steps", "2",
    "--every", "2",
]  # fmt: skip
TAG = "gemma3-270m-dpo-quick"


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-cli")
    patch = pytest.MonkeyPatch()
    patch.setenv("PERSONASCOPE_LAB_HOME", str(root / "home"))
    yield root
    patch.undo()


@pytest.fixture(scope="module")
def lab_run(lab_env):
    out = lab_env / "run"
    done = run_cli(*TINY, "--out", str(out), timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_unknown_reward_is_one_line_before_any_work(tmp_path):
    done = run_cli("lab", "--reward", "kindness", "--out", str(tmp_path / "x"))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "'kindness'" in line and "polish, typicality" in line
    assert not (tmp_path / "x").exists()


def test_tiny_lab_stores_findings_report_and_model_ids(lab_run):
    out, done = lab_run
    summary = json.loads((out / "summary.json").read_text())["studies"]["lab"]
    assert [c["step"] for c in summary["checkpoints"]] == [0, 2]
    assert [c["model_id"] for c in summary["checkpoints"]] == [f"lab/{TAG}-0", f"lab/{TAG}-2"]
    assert summary["reward"]["name"] == "typicality"
    data = summary["data"]
    assert data["counts"]["generated"] == 16 and summary["data"]["n_pairs"] >= 4
    assert len((out / "pairs.jsonl").read_text().splitlines()) == data["n_pairs"]
    assert "reward_length_spearman" in data["length_confound"]
    assert summary["training"]["log"][0]["loss"] == pytest.approx(0.6931, abs=1e-3)
    assert set(summary["stages"]) == {
        "convert", "sample", "score", "train", "register", "evaluate", "analyse"
    }  # fmt: skip
    assert all(s["peak_rss_mb"] < 8 * 1024 for s in summary["stages"].values())
    for checkpoint in summary["checkpoints"]:
        metrics = checkpoint["metrics"]
        assert metrics["attributes"]["n"] == 4  # 2 held-out frames x 2 seeds
        assert metrics["text"]["truncated_to_words"] >= 1
        assert metrics["typicality"]["value"] < 0
    assert summary["evaluation"]["frames"] != data["train_frames"]
    curve = summary["curves"]["first_name_entropy"]
    assert [p["step"] for p in curve["points"]] == [0, 2] and curve["reference"] > 0
    with Store(out, read_only=True) as store:
        assert store.findings("lab")[("lab", "findings")]["tag"] == TAG
    html = (out / "report.html").read_text()
    assert 'id="lab"' in html and f"lab/{TAG}-2" in html and "Gemma" in html
    assert f"lab/{TAG}-2" in done.stdout


def test_a_checkpoint_id_works_as_a_model_outside_the_lab(lab_run):
    from personascope.models.base import GenerationRequest, SamplerSettings, TextPrompt
    from personascope.models.providers import load_model, resolve

    spec = resolve(f"lab/{TAG}-2", n_threads=1)
    model = load_model(spec)
    try:
        assert model.info.model_id == f"lab/{TAG}-2" and model.info.kind == "base"
        assert model.info.extra["lab_checkpoint"]["step"] == 2
        (result,) = model.generate(
            [GenerationRequest(TextPrompt("Profile 2\nName:"), SamplerSettings(max_tokens=4))]
        )
        assert result.token_ids
    finally:
        model.close()


def test_running_again_resumes_from_the_store(lab_run):
    out, _ = lab_run
    again = run_cli(*TINY, "--out", str(out), timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())["studies"]["lab"]
    assert summary["training"]["steps_run_now"] == 0
    with Store(out, read_only=True) as store:
        runs = store.runs()
    assert len(runs) == 2 and runs[-1]["info"]["executed"] == 0


def test_too_few_distinct_samples_is_one_line(lab_run):
    out, _ = lab_run
    done = run_cli(*TINY[:3], "1", *TINY[4:], "--out", str(out), timeout=600)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "too few distinct samples" in line and "--samples" in line


def test_planted_markup_in_the_lab_section_is_escaped(lab_run):
    from personascope.report.sections import render_json

    out, _ = lab_run
    with Store(out, read_only=True) as store:
        stored = store.findings("lab")[("lab", "findings")]
    model_ids = [stored["base_model"], *(c["model_id"] for c in stored["checkpoints"])]
    section = render_json("lab", poisoned(stored, model_ids))
    assert_only_escaped("".join(str(b) for b in section.blocks))


# what differs between two runs of the same lab besides the results: clocks and paths
RUN_ONLY = (
    "stages", "dir", "resumed_from_step", "steps_run_now", "seconds_per_step", "timings_s"
)  # fmt: skip


def results_only(value):
    if isinstance(value, dict):
        return {
            k: results_only(v)
            for k, v in value.items()
            if k not in RUN_ONLY and "runtime" not in k and "per_second" not in k
        }
    if isinstance(value, list):
        return [results_only(v) for v in value]
    return value


def test_killed_while_sampling_and_while_training_then_rerun(lab_run, tmp_path, monkeypatch):
    reference, _ = lab_run
    monkeypatch.setenv("PERSONASCOPE_LAB_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    args = [*TINY, "--out", str(out)]
    code, _ = run_until(args, done=8, label="lab: base-model samples")
    assert code == -signal.SIGKILL
    with Store(out, read_only=True) as store:
        assert 8 <= store.count_results() < 16  # killed between the two batches of 8
    code, _ = run_until(args, done=1, label="train (DPO steps)")
    assert code == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    done = run_cli(*args, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [
        json.loads((d / "summary.json").read_text())["studies"]["lab"] for d in (reference, out)
    ]
    # the checkpoints' keys hold the adapter's SHA-256: the same adapters
    assert [c["model_key"] for c in summaries[1]["checkpoints"]] == [
        c["model_key"] for c in summaries[0]["checkpoints"]
    ]
    assert results_only(summaries[1]) == results_only(summaries[0])
