"""``personascope generate`` as a user runs it: files, resume after SIGINT and SIGKILL, errors."""

from __future__ import annotations

import json
import signal

from personascope.personas.io import read_personas
from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli, run_until

LAYERS = """
layers:
  - {name: age, type: integer, min: 18, max: 80}
  - {name: gender, type: categorical, values: {female: 0.5, male: 0.5}}
  - {type: big_five, mode: t_scores}
sampler: {max_tokens: 16}
"""


def layers_file(tmp_path, text=LAYERS, name="layers.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def generate_args(config, run_dir, out, n, *extra):
    return [
        "generate", "--strategy", "layered", "-n", str(n), "--config", str(config),
        "--out-dir", str(run_dir), "-o", str(out), *extra,
    ]  # fmt: skip


def last_run(run_dir):
    with Store(run_dir) as store:
        return store.runs()[-1], store.count_results()


def test_jsonl_then_parquet_from_the_same_store(tmp_path):
    config, run_dir = layers_file(tmp_path), tmp_path / "run"
    done = run_cli(*generate_args(config, run_dir, tmp_path / "p.jsonl", 3))
    assert done.returncode == 0, done.stderr
    assert f"wrote 3 personas to {tmp_path / 'p.jsonl'}" in done.stderr
    personas = read_personas(tmp_path / "p.jsonl")
    assert len({p.id for p in personas}) == 3
    assert all(p.provenance.strategy == "layered" and p.big_five for p in personas)
    again = run_cli(*generate_args(config, run_dir, tmp_path / "p.parquet", 3))
    assert again.returncode == 0, again.stderr
    run, _ = last_run(run_dir)
    assert run["info"]["executed"] == 0  # everything came from the store
    assert [p.model_dump() for p in read_personas(tmp_path / "p.parquet")] == [
        p.model_dump() for p in personas
    ]
    with Store(run_dir) as store:
        finding = store.findings("generate")[("generate", f"layered:{tmp_path / 'p.jsonl'}")]
    assert finding["n_unique"] == 3 and finding["dedup"]["n_in"] >= 3


def test_interrupted_twice_then_resumed(tmp_path):
    config, run_dir, out = layers_file(tmp_path), tmp_path / "run", tmp_path / "p.jsonl"
    args = generate_args(config, run_dir, out, 24, "--dedup", "0")
    code, stderr = run_until(args, done=8, sig=signal.SIGINT, label="layered personas")
    assert code == 130 and "run the same command again to resume" in stderr
    run, after_sigint = last_run(run_dir)
    assert run["status"] == "interrupted" and 8 <= after_sigint < 24
    assert not out.exists()  # the persona file is only written whole

    code, _ = run_until(args, done=16, sig=signal.SIGKILL, label="layered personas")
    assert code == -signal.SIGKILL
    _, after_kill = last_run(run_dir)
    assert after_sigint < after_kill < 24

    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    run, stored = last_run(run_dir)
    assert stored == 24
    assert (run["info"]["executed"], run["info"]["cached"]) == (24 - after_kill, after_kill)
    personas = read_personas(out)
    assert [p.provenance.unit for p in personas] == list(range(24))


def test_bad_input_is_one_error_line(tmp_path):
    run_dir = tmp_path / "run"
    cases = [
        (["--strategy", "fancy"], "unknown strategy 'fancy'"),
        (["--strategy", "naive", "--dedup", "1.5"], "--dedup must be in (0, 1]"),
        (
            ["--strategy", "layered", "-o", str(tmp_path / "p.csv")],
            "unknown persona file type '.csv'",
        ),
        (
            [
                "--strategy",
                "layered",
                "--config",
                str(layers_file(tmp_path, LAYERS.replace("values:", "valeus:"), "typo.yaml")),
            ],
            "typo.yaml: layers.1.categorical.valeus: unknown key",
        ),
        (
            [
                "--strategy",
                "layered",
                "--config",
                str(layers_file(tmp_path, LAYERS.replace("0.5, male", "0.4, male"), "sum.yaml")),
            ],
            "sum.yaml: layers.1.categorical.values: probabilities sum to 0.9, not 1",
        ),
        (
            ["--strategy", "layered", "--config", str(tmp_path / "missing.yaml")],
            "cannot read the config file",
        ),
    ]
    for extra, message in cases:
        done = run_cli("generate", "--out-dir", str(run_dir), *extra)
        assert done.returncode == 1, (extra, done.stderr)
        assert message in one_error_line(done.stderr), done.stderr


def test_marginals_that_disagree(tmp_path):
    (tmp_path / "seed.csv").write_text("gender,region\nfemale,north\nmale,south\n")
    config = tmp_path / "m.yaml"
    config.write_text(
        json.dumps(
            {
                "seed_table": "seed.csv",
                "marginals": [
                    {"attributes": ["gender"], "totals": {"female": 50, "male": 50}},
                    {"attributes": ["region"], "totals": {"north": 60, "south": 60}},
                ],
            }
        )
    )
    done = run_cli(
        "generate", "--strategy", "marginals", "--config", str(config), "--out-dir", str(tmp_path)
    )
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert (
        str(config) in line
        and "marginals.1.totals sum to 120 but marginals.0.totals sum to 100" in line
    )
