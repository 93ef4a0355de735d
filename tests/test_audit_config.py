"""audit.yaml: the shipped example validates; mistakes are one error line before any model runs."""

from __future__ import annotations

from pathlib import Path

from personascope.audit_config import load_audit_config
from personascope.testing.clitools import one_error_line, run_cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "audit.yaml"


def test_the_example_config_validates():
    config = load_audit_config(EXAMPLE)
    assert config.options.models == ["llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct"]
    assert config.sections["collapse"] == {"n_personas": 100, "self_report_personas": 20}


def test_a_misspelt_key_names_the_file_and_key(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("modles: [llamacpp/gemma3-270m]\n")
    done = run_cli("audit", "--config", str(config), "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert one_error_line(done.stderr).startswith(f"error: {config}: modles: unknown key")
    assert not (tmp_path / "run").exists()  # nothing ran


def test_broken_yaml_names_the_line(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("studies: [collapse\nseed: 1\n")
    done = run_cli("audit", "--config", str(config), "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert str(config) in one_error_line(done.stderr)


def test_an_unknown_study_setting_is_an_error(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("studies: [collapse]\ncollapse: {n_persona: 5}\n")
    done = run_cli("audit", "--config", str(config), "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert "n_persona" in one_error_line(done.stderr)


def test_a_study_setting_of_the_wrong_type_is_an_error(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("studies: [stability]\nstability: {paraphrases: many}\n")
    done = run_cli("audit", "--config", str(config), "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert one_error_line(done.stderr) == (
        "error: stability setting paraphrases must be int, got 'many'"
    )
