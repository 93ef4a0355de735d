"""The command line as a user meets it: samples, resume after SIGKILL/SIGINT, bad input."""

from __future__ import annotations

import json
import signal

from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli, run_until

MODEL = "llamacpp/smollm2-135m-instruct"


def sample_args(run_dir, out, n=24):
    return [
        "sample",
        MODEL,
        "--prompt",
        "Describe a person in one sentence.",
        "-n",
        str(n),
        "--seed",
        "100",
        "--max-tokens",
        "16",
        "--run-dir",
        str(run_dir),
        "--out",
        str(out),
    ]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sample_writes_seeded_jsonl(tmp_path):
    out = tmp_path / "s.jsonl"
    done = run_cli(*sample_args(tmp_path / "run", out, n=3))
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["seed"] for r in rows] == [100, 101, 102]
    assert all(r["text"] and r["model_id"] == MODEL for r in rows)
    assert rows[0]["sampler"]["order"] == ["top_k", "top_p", "min_p", "temperature", "dist"]
    assert len({r["text"] for r in rows}) > 1


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    N = 32  # long enough to be still running when the kill arrives (batches of 8)
    reference_out = tmp_path / "reference.jsonl"
    done = run_cli(*sample_args(tmp_path / "reference", reference_out, n=N))
    assert done.returncode == 0, done.stderr

    run_dir, out = tmp_path / "killed", tmp_path / "killed.jsonl"
    code, _ = run_until(sample_args(run_dir, out, n=N), done=8, sig=signal.SIGKILL)
    assert code == -signal.SIGKILL
    with Store(run_dir) as store:
        stored = store.count_results()
    assert 8 <= stored < N, stored  # finished batches survived, the rest is missing

    resumed = run_cli(*sample_args(run_dir, out, n=N))
    assert resumed.returncode == 0, resumed.stderr
    assert read_jsonl(out) == read_jsonl(reference_out)
    with Store(run_dir) as store:
        killed_run, last_run = store.runs()
    assert killed_run["status"] == "interrupted"  # marked when the store was next opened
    assert last_run["info"]["executed"] == N - stored
    assert last_run["info"]["cached"] == stored


def test_sigint_stops_with_a_resume_hint_and_keeps_results(tmp_path):
    run_dir, out = tmp_path / "interrupted", tmp_path / "i.jsonl"
    # A long run, so that it is still working when the signal arrives.
    args = sample_args(run_dir, out, n=400)
    code, stderr = run_until(args, done=8, sig=signal.SIGINT)
    assert code == 130
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    with Store(run_dir) as store:
        assert store.count_results() >= 8
        assert store.runs()[-1]["status"] == "interrupted"


def test_unknown_model_id(tmp_path):
    done = run_cli("sample", "nosuch/model", "-p", "x", "--run-dir", str(tmp_path))
    assert done.returncode == 1
    assert "unknown provider 'nosuch'" in one_error_line(done.stderr)


def test_missing_gguf_file(tmp_path):
    done = run_cli(
        "sample", f"llamacpp/{tmp_path}/none.gguf", "-p", "x", "--run-dir", str(tmp_path)
    )
    assert done.returncode == 1
    assert "no such GGUF file" in one_error_line(done.stderr)


def test_corrupt_gguf_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00" * 4096)
    done = run_cli("sample", f"llamacpp/{bad}", "-p", "x", "--run-dir", str(tmp_path / "r"))
    assert done.returncode == 1
    assert "cannot load" in one_error_line(done.stderr)


def test_prompt_longer_than_the_context(tmp_path):
    done = run_cli("sample", MODEL, "-p", "word " * 5000, "-n", "1", "--run-dir", str(tmp_path))
    assert done.returncode == 1
    assert "does not fit the context" in one_error_line(done.stderr)


def test_invalid_sampler_setting(tmp_path):
    done = run_cli("sample", MODEL, "-p", "x", "--top-p", "0", "--run-dir", str(tmp_path))
    assert done.returncode == 1
    assert "top_p" in one_error_line(done.stderr)


def test_models_lists_the_catalogue():
    done = run_cli("models")
    assert done.returncode == 0, done.stderr
    assert "llamacpp/gemma3-270m" in done.stdout
    assert "llamacpp/smollm2-135m-instruct" in done.stdout
