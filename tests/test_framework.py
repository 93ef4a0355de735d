"""The study framework: a study registered from outside the package runs everywhere a
built-in one does; settings are validated before anything runs; findings round-trip."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import personascope as ps
from personascope.errors import PersonascopeError
from personascope.findings import Findings, FindingsError, estimates_in
from personascope.metrics.estimate import Estimate
from personascope.models.base import ChatPrompt, GenerationRequest, Message, SamplerSettings
from personascope.studies import REGISTRY, StudyEntry, battery, get_study, parse_studies
from personascope.studies.base import Study, StudyContext

CHAT = "llamacpp/smollm2-135m-instruct"


@dataclass(frozen=True)
class ToySettings:
    n: int = 4
    max_tokens: int = 6
    greeting: str = "Say hello."


@dataclass
class ToyFindings(Findings):
    study: ClassVar[str] = "toy"
    greeting: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)


class ToyStudy(Study[ToySettings, ToyFindings]):
    """Samples ``n`` short replies per model; measures their mean length in tokens."""

    name = "toy"
    Settings = ToySettings
    quick = ToySettings(n=3, max_tokens=4)

    def check(self, settings: ToySettings) -> None:
        if settings.n < 2:
            raise PersonascopeError(f"toy setting n must be >= 2, got {settings.n}")

    def run(self, ctx: StudyContext, settings: ToySettings) -> ToyFindings:
        prompt = ChatPrompt((Message("user", settings.greeting),))
        sampler = SamplerSettings(max_tokens=settings.max_tokens)
        models = {}
        for spec in ctx.models:
            requests = [GenerationRequest(prompt, sampler, ctx.seed + i) for i in range(settings.n)]
            lengths = [len(r.token_ids) for r in ctx.runner.generate(spec, requests)]
            mean = sum(lengths) / len(lengths)
            models[spec.model_id] = {
                "tokens": Estimate(mean, (min(lengths), max(lengths)), len(lengths), "mean; range"),
                "lengths": lengths,
            }
        return ToyFindings(settings.greeting, models)


@pytest.fixture
def toy():
    REGISTRY["toy"] = StudyEntry(
        "toy", "Toy: how long are hellos?", f"{__name__}:ToyStudy", f"{__name__}:ToyFindings",
        battery=False,
    )  # fmt: skip
    yield
    del REGISTRY["toy"]


def test_a_registered_study_is_known_everywhere(toy, tmp_path):
    assert parse_studies("toy") == ["toy"] and "toy" not in battery()
    listing = CliRunner().invoke(ps_cli(), ["studies"])
    assert listing.exit_code == 0 and "toy" in listing.output and "hellos" in listing.output
    config = tmp_path / "audit.yaml"
    config.write_text("toy: {n: 1}\n")
    with pytest.raises(PersonascopeError, match="toy setting n must be >= 2, got 1"):
        ps.run_audit([CHAT], ["toy"], out=tmp_path / "bad", config=config)
    assert not (tmp_path / "bad").exists()  # nothing ran

    result = ps.run_audit([CHAT], ["toy"], out=tmp_path / "run", quick=True, progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    stored = summary["studies"]["toy"]["models"][CHAT]
    assert len(stored["lengths"]) == 3 and all(1 <= n <= 4 for n in stored["lengths"])
    assert stored["tokens"]["value"] == pytest.approx(sum(stored["lengths"]) / 3)
    assert stored["tokens"]["low"] == min(stored["lengths"])
    html = (tmp_path / "run" / "report.html").read_text()
    assert '<section id="toy">' in html and "Toy: how long are hellos?" in html

    frame = result.frame("toy")
    assert list(frame.columns) == ["model", "study", "measure", "value", "low", "high", "n",
                                   "method"]  # fmt: skip
    assert frame.to_dict("records") == [
        {"model": CHAT, "study": "toy", "measure": "tokens", "value": stored["tokens"]["value"],
         "low": min(stored["lengths"]), "high": max(stored["lengths"]), "n": 3,
         "method": "mean; range"}
    ]  # fmt: skip
    reopened = ps.load_run(tmp_path / "run")
    assert isinstance(reopened.findings["toy"], ToyFindings)
    assert reopened.findings["toy"].models[CHAT]["tokens"] == stored["tokens"]
    assert reopened.frame("toy").equals(frame)

    cli = CliRunner().invoke(
        ps_cli(), ["audit", "-m", CHAT, "--studies", "toy", "--quick", "--out",
                   str(tmp_path / "cli")],
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    again = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert again["studies"]["toy"] == summary["studies"]["toy"]  # same seeds, same texts


def ps_cli():
    from personascope.cli import app

    return app


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("collapse: {n_persona: 10}", "unknown collapse setting(s) n_persona; known: n_personas"),
        ("adoption: {secondary: most}", "adoption setting secondary must be one of 'all', "),
        ("stability: {items_per_domain: 1}", "stability setting items_per_domain must be >= 2"),
        ("commitment: {temperature: warm}", "commitment setting temperature must be a finite"),
        ("commitment: {temperature: .nan}", "commitment setting temperature must be a finite"),
        ("stability: {temperature: -1}", "stability setting temperature: temperature must be >="),
        ("pressure: {reply_tokens: 0}", "pressure setting reply_tokens: max_tokens must be >= 1"),
        ("lab: {learning_rate: .inf}", "lab setting learning_rate must be a finite number"),
        ("scaffold: {strategies: [naive, magic]}", "scaffold.strategies: unknown strategy"),
        ("scaffold: {token_budget: ten}", "scaffold setting token_budget must be int"),
        ("lab: {steps: 10, every: 4}", "--steps 10 is not a multiple of --every 4"),
        ("lab: {stepz: 10}", "unknown lab setting(s) stepz"),
        ("collapse: 12", "section 'collapse' must be a mapping"),
    ],
)
def test_every_section_is_checked_before_any_study_runs(tmp_path, section, message):
    config = tmp_path / "audit.yaml"
    config.write_text(f"studies: [stability]\n{section}\n")
    with pytest.raises(PersonascopeError) as caught:
        ps.run_audit([CHAT], ["stability"], out=tmp_path / "run", config=config)
    assert message in str(caught.value)
    assert not (tmp_path / "run").exists()  # the stability study never started


def test_settings_start_from_the_preset_and_convert_yaml_lists():
    adoption = get_study("adoption")
    quick = adoption.settings({"ladder_levels": [1, 5, 9]}, quick=True)
    assert quick.ladder_levels == (1, 5, 9) and quick.wordings == ("accuracy",)
    full = adoption.settings({}, quick=False)
    assert full.wordings == ("accuracy", "agreement", "likeness")
    assert get_study("commitment").settings({"temperature": 1}).temperature == 1.0
    with pytest.raises(PersonascopeError, match="probes must be int or None, got True"):
        get_study("commitment").settings({"probes": True})


def test_findings_round_trip_through_json_and_reject_a_mismatch():
    findings = ToyFindings("hi", {"m": {"tokens": Estimate(2.5, (1.0, 4.0), 2, "mean")}})
    data = json.loads(json.dumps(findings.to_json()))
    assert data["models"]["m"]["tokens"] == {
        "value": 2.5, "low": 1.0, "high": 4.0, "n": 2, "method": "mean", "params": {},
    }  # fmt: skip
    again = ToyFindings.from_json(data)
    assert again.greeting == "hi" and again.to_json() == findings.to_json()
    assert list(estimates_in(data)) == [("models.m.tokens", data["models"]["m"]["tokens"])]
    with pytest.raises(FindingsError, match=r"toy\.greeting: expected str"):
        ToyFindings.from_json({"greeting": 3, "models": {}})
    with pytest.raises(FindingsError, match="toy: missing 'greeting'"):
        ToyFindings.from_json({"models": {}})
