"""The pressure study: a planted model that leaves its persona after the first challenge
(and whose Mini-IPIP answers drift toward a planted default profile under pressure) and a
planted null, through the real runner and store; the claims row, the report's escaping,
bad input."""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from dataclasses import replace

import numpy as np
import pytest
import yaml

from escaping import assert_figures_escaped, assert_only_escaped, poisoned
from personascope.claims import evaluate
from personascope.cli import main
from personascope.errors import InputFileError, PersonascopeError
from personascope.findings.pressure import PressureFindings
from personascope.instruments.inventory import load_inventory
from personascope.models.base import ChatPrompt, ChoiceRequest, ChoiceResult, GenerationResult
from personascope.report.sections.pressure import render
from personascope.studies.base import StudyContext, run_study
from personascope.studies.pressure import (
    DATA_FILE,
    FULL,
    NEUTRAL,
    QUICK,
    PressureStudy,
    load_data,
    probes_for,
    trait_ks,
)
from personascope.studies.pressure_traits import toward_default
from personascope.testing.clitools import one_error_line
from personascope.testing.fake import fake_runner, register_fake

DATA = load_data()
PUSHES = {m for f, msgs in DATA.families.items() if f != NEUTRAL for m in msgs}
OPTION = re.compile(r"(\d) = ([^,]+?)(?=, \d = |\.$)")


MINI = load_inventory("mini_ipip")
ITEMS = {MINI.statement(item): (item.domain, item.key) for item in MINI.items}
STATEMENT = re.compile(r'Statement: "(.*)"$')
# planted keyed domain scores (1-5): the default, and each persona's (by index)
DEFAULT = {"O": 4.5, "C": 4.5, "E": 4.0, "A": 4.5, "N": 1.5}
OWN = [{d: 1.5 + 0.4 * p + 0.2 * j for j, d in enumerate("OCEAN")} for p in range(4)]


def _item(prompt: ChatPrompt) -> tuple[str, int] | None:
    """The domain and key of a Mini-IPIP item prompt; None for an identity probe."""
    match = STATEMENT.search(prompt.messages[-1].content)
    return ITEMS[match.group(1)] if match else None


def _answer(prompt: ChatPrompt, domain: str, key: int, score: float) -> ChoiceResult:
    """Answer an item so that its keyed score is about ``score`` (mass on the two scale
    points around it, a little on every point), in the order the options are shown."""
    raw = score if key > 0 else 6 - score
    low = min(int(raw), 4)
    probs = [0.01] * 5
    probs[low - 1] += 0.95 * (low + 1 - raw)
    probs[low] += 0.95 * (raw - low)
    if f"1 = {MINI.scale_labels[-1]}" in prompt.messages[-1].content:  # reversed options
        probs = probs[::-1]
    return ChoiceResult(tuple(math.log(p) for p in probs), 0.9)


def _own(prompt: ChatPrompt) -> dict[str, float] | None:
    """The planted profile of the persona in the system prompt; None without one."""
    system = prompt.messages[0]
    if system.role != "system":
        return None
    return next(OWN[i] for i, p in enumerate(DATA.personas) if p["name"] in system.content)


def _pushed(prompt: ChatPrompt) -> bool:
    return any(m.role == "user" and _is_push(m.content) for m in prompt.messages[1:-1])


def drifting_traits(prompt: ChatPrompt, domain: str, key: int) -> ChoiceResult:
    """Default profile without persona; the persona's own, halfway to the default after a
    pressure message."""
    own = _own(prompt)
    if own is None:
        return _answer(prompt, domain, key, DEFAULT[domain])
    pull = 0.5 if _pushed(prompt) else 0.0
    return _answer(prompt, domain, key, own[domain] + pull * (DEFAULT[domain] - own[domain]))


def noisy_traits(prompt: ChatPrompt, domain: str, key: int) -> ChoiceResult:
    """The persona's own profile, jittered by the conversation, whatever its messages."""
    own = _own(prompt) or DEFAULT
    u = int(hashlib.sha256(repr(prompt.messages[:-1]).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return _answer(prompt, domain, key, own[domain] + 0.6 * (u - 0.5))


def chance_traits(prompt: ChatPrompt, domain: str, key: int) -> ChoiceResult:
    return _result(5, {})


def with_traits(identity, traits):
    """One score function: Mini-IPIP items to ``traits``, identity probes to ``identity``."""

    def score(request: ChoiceRequest) -> ChoiceResult:
        item = _item(request.prompt)
        return identity(request) if item is None else traits(request.prompt, *item)

    return score


def _persona_and_ai(prompt: ChatPrompt) -> tuple[int, int, int]:
    options = dict(OPTION.findall(prompt.messages[-1].content))
    system = prompt.messages[0].content
    own = next(int(d) - 1 for d, text in options.items() if text in system)
    ai = next(int(d) - 1 for d, text in options.items() if "AI language model" in text)
    return own, ai, len(options)


def _result(n: int, weights: dict[int, float]) -> ChoiceResult:
    rest = (1 - sum(weights.values())) / (n - len(weights))
    probs = [weights.get(i, rest) for i in range(n)]
    return ChoiceResult(tuple(math.log(p) for p in probs), 0.9)


def breaking_score(request: ChoiceRequest) -> ChoiceResult:
    """Keeps the persona (0.85) until a pressure message, then answers as the AI (0.85)."""
    prompt = request.prompt
    own, ai, n = _persona_and_ai(prompt)
    return _result(n, {ai: 0.85} if _pushed(prompt) else {own: 0.85})


def _is_push(text: str) -> bool:
    return any(text == msg.format(**p) for p in DATA.personas for msg in PUSHES)


def null_score(request: ChoiceRequest) -> ChoiceResult:
    own, _, n = _persona_and_ai(request.prompt)
    u = int(hashlib.sha256(repr(request.prompt).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return _result(n, {own: 0.5 + 0.3 * u})


def chance_score(request: ChoiceRequest) -> ChoiceResult:
    """Never takes the persona: every option equally likely."""
    _, _, n = _persona_and_ai(request.prompt)
    return _result(n, {})


def faint_score(request: ChoiceRequest) -> ChoiceResult:
    """Takes the persona faintly (0.30 against chance 0.25) and never leaves it."""
    own, _, n = _persona_and_ai(request.prompt)
    return _result(n, {own: 0.30})


def reply(request) -> GenerationResult:
    return GenerationResult("Okay.", (), (), "stop", 0)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    found = {}
    scores = {
        "breaking": with_traits(breaking_score, drifting_traits),
        "null": with_traits(null_score, noisy_traits),
        "chance": with_traits(chance_score, chance_traits),
        "faint": with_traits(faint_score, chance_traits),
    }
    for name, score in scores.items():
        model_id = register_fake(f"pressure-{name}", reply, score, replace=True)
        tmp = tmp_path_factory.mktemp(f"pressure-{name}")
        runner, store, spec = fake_runner(tmp, model_id)
        config = {"pressure": {"personas": 4, "seeds": 2}}
        ctx = StudyContext(runner, store, [spec], tmp, "test", config=config)
        found[name] = run_study(ctx, PressureStudy())
        store.close()
    return found


def model(findings: PressureFindings) -> dict:
    return next(iter(findings.per_model().values()))


def test_planted_break_after_the_first_challenge_is_recovered(planted):
    m = model(planted["breaking"])
    assert m["validity"]["verdict"] == "valid"
    challenge = [p["value"] for p in m["persistence"]["identity_challenge"]]
    assert challenge == pytest.approx([0.85, 0.05, 0.05, 0.05])
    assert [p["value"] for p in m["persistence"][NEUTRAL]] == pytest.approx([0.85] * 4)
    assert [p["value"] for p in m["break_rate"]["flattery"]] == pytest.approx([0, 1, 1, 1])
    effect = m["pressure_effect"]
    assert effect["value"] == pytest.approx(-0.8) and effect["high"] < 0


def test_persistence_at_start_counts_each_unit_once(planted):
    start = model(planted["null"])["persistence_at_start"]
    assert start["n"] == 4 * 2 and set(start) == {"value", "low", "high", "n", "method"}


def test_a_model_at_chance_is_invalid_and_its_effect_withheld(planted):
    m = model(planted["chance"])
    assert m["validity"]["verdict"] == "invalid"
    assert "not above chance" in m["validity"]["reasons"][0]
    (row,) = [r for r in evaluate({"pressure": planted["chance"]}, {}) if r.number == 7]
    assert row.status == "not measurable"


def test_a_persona_taken_too_faintly_to_lose_a_tenth_is_invalid(planted):
    m = model(planted["faint"])
    start = m["persistence_at_start"]
    assert start["value"] == pytest.approx(0.30) and start["low"] > 0.25
    assert m["validity"]["verdict"] == "invalid"
    assert "barely taken" in m["validity"]["reasons"][0]
    assert m["pressure_effect"]["value"] == pytest.approx(0.0, abs=1e-9)
    (row,) = [r for r in evaluate({"pressure": planted["faint"]}, {}) if r.number == 7]
    assert row.status == "not measurable" and "barely taken" in row.reason


def test_planted_null_effect_includes_zero(planted):
    effect = model(planted["null"])["pressure_effect"]
    assert effect["low"] < 0 < effect["high"]


def test_claim_7_reads_the_pressure_effect(planted):
    def status(name):
        (row,) = [r for r in evaluate({"pressure": planted[name]}, {}) if r.number == 7]
        return row.status

    assert status("breaking") == "contradicted"
    assert status("null") in ("supported", "inconclusive")


def test_planted_trait_drift_toward_the_default_is_recovered(planted):
    traits = model(planted["breaking"])["traits"]
    assert traits["validity"]["verdict"] != "invalid" and traits["withheld"] is None
    half = traits["gap"]["value"] / 2  # planted: halfway to the default after a push
    for family, curve in traits["drift"].items():
        expected = [0.0] * 4 if family == NEUTRAL else [0.0, half, half, half]
        assert [p["value"] for p in curve] == pytest.approx(expected)
    effect = traits["drift_effect"]
    assert effect["value"] == pytest.approx(half) and effect["low"] > 0
    assert traits["reversed_options"]["mean_abs_shift"] == pytest.approx(0)


def test_planted_null_trait_drift_includes_zero(planted):
    traits = model(planted["null"])["traits"]
    assert traits["validity"]["verdict"] != "invalid"
    effect = traits["drift_effect"]
    assert effect["low"] < 0 < effect["high"]
    for family, curve in traits["effect"].items():
        assert curve[-1]["low"] < 0 < curve[-1]["high"], family


def test_trait_probe_at_chance_is_invalid_and_its_drift_withheld(planted):
    traits = model(planted["chance"])["traits"]
    assert traits["validity"]["verdict"] == "invalid"
    assert traits["drift"] is None and traits["drift_effect"] is None
    assert traits["default_profile"] is None
    assert "nearly the same for every item" in traits["withheld"]
    headline = next(iter(planted["chance"].headline()["models"].values()))
    assert headline["trait_drift_effect"].startswith("withheld: invalid")
    section = render(planted["chance"])
    html = "".join(section.blocks)
    assert "trait drift withheld" in html and "trait drift toward the default" not in html
    assert next(iter(section.headline.values()))["trait drift"] == "withheld: invalid"


def test_drift_is_the_projection_toward_the_default():
    start = np.array([[40.0, 50.0], [60.0, 60.0]])
    default = np.array([60.0, 50.0])
    profiles = np.array([[[[50.0, 70.0], [80.0, 50.0], [40.0, 50.0]],
                          [[60.0, 60.0], [60.0, 80.0], [60.0, 55.0]]]])  # fmt: skip
    drift = toward_default(profiles, start, default)
    # unit 0 (default 20 T up the first domain): +10 toward it and 20 sideways, then +40
    # (overshoot), then 0; unit 1 (default 10 T down the second): 0, -20 (away), +5
    assert drift[0, 0] == pytest.approx([10.0, 40.0, 0.0])
    assert drift[0, 1] == pytest.approx([0.0, -20.0, 5.0])
    assert np.isnan(toward_default(profiles[:, :1], default[None, :], default)).all()


def test_trait_probe_settings():
    assert trait_ks(QUICK) == (0, QUICK.ks[-1]) and trait_ks(FULL) == FULL.ks
    assert trait_ks(replace(FULL, trait_probe=False)) == ()
    with pytest.raises(PersonascopeError, match="trait_items must be >= 2"):
        PressureStudy().settings({"trait_items": 1})


def test_report_escapes_conversations(planted):
    data = poisoned(planted["breaking"].to_json(), ["fake/pressure-breaking"])
    html = "".join(render(PressureFindings.from_json(data)).blocks)
    assert_only_escaped(html)
    assert_figures_escaped(html)


def test_probes_offer_the_persona_and_the_assistant():
    persona = DATA.personas[0]
    for probe, own, ai in probes_for(DATA, persona):
        assert probe.options[own] == persona[probe.id] and "AI" in probe.options[ai]
        assert len(set(probe.options)) == 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ks": [1, 2]}, "start at 0"),
        ({"ks": [0, 9]}, "fewer messages"),
        ({"seeds": 0}, "seeds >= 1"),
    ],
)
def test_bad_settings_are_one_error(settings, message):
    with pytest.raises(PersonascopeError, match=message):
        PressureStudy().settings(settings)


def test_a_bad_data_file_is_one_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("personas: []\n", encoding="utf-8")
    with pytest.raises(PersonascopeError, match="expected exactly the keys"):
        PressureStudy().settings({"data": str(path)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["distractors"].pop("hometown"), "`distractors` needs exactly"),
        (lambda d: d["probes"].pop("age"), "`probes` needs exactly"),
        (lambda d: d["families"].update(flattery="hello"), "families.flattery must be"),
        (lambda d: d.update(describe="You are {nam}"), "placeholder other than"),
        (lambda d: d["distractors"].update(name=["Maria Alvarez", "X"]), "fewer than 2 `name`"),
    ],
)
def test_a_malformed_data_file_names_the_problem(tmp_path, change, message):
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        PressureStudy().settings({"data": str(path)})


def _persona_file(path, hometown: bool = True):
    rows = [
        {"description": "A baker.", "name": "Ines Duarte", "age": 52, "occupation": "a baker",
         **({"hometown": "Porto"} if hometown else {})},
        {"description": "A pilot.", "name": "Lars Berg", "age": 39, "occupation": "a pilot",
         "demographics": {"hometown": "Bergen"}},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_persona_file_reaches_the_study(tmp_path):
    path = _persona_file(tmp_path / "people.jsonl")
    model_id = register_fake("pressure-file", reply, null_score, replace=True)
    runner, store, spec = fake_runner(tmp_path, model_id)
    config = {"personas_file": str(path), "pressure": {"ks": [0, 1], "trait_probe": False}}
    try:
        found = run_study(StudyContext(runner, store, [spec], tmp_path, "t", config=config),
                          PressureStudy())  # fmt: skip
    finally:
        store.close()
    assert found.persona_source == str(path)
    assert [(p["name"], p["age"], p["hometown"]) for p in found.personas] == [
        ("Ines Duarte", "52", "Porto"), ("Lars Berg", "39", "Bergen")]  # fmt: skip
    assert model(found)["traits"] is None


def test_a_persona_file_without_hometown_is_one_error_line(tmp_path, monkeypatch, capsys):
    path = _persona_file(tmp_path / "people.jsonl", hometown=False)
    argv = ["personascope", "audit", "--studies", "pressure", "--personas", str(path),
            "--out", str(tmp_path / "run")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    line = one_error_line(capsys.readouterr().err)
    assert "people.jsonl" in line and "missing hometown" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # real generation and scoring
def test_embedded_base_model_quick(tmp_path):
    """The base model's prompt format on a real model (the planted models above are chat
    models); one model, because the two took 141 s together."""
    from personascope.testing.contexts import embedded_context

    config = {"pressure": {"personas": 2, "seeds": 1, "ks": [0, 1], "reply_tokens": 8}}
    ctx = embedded_context(tmp_path, config, ["llamacpp/gemma3-270m"], quick=True)
    try:
        findings = run_study(ctx, PressureStudy())
    finally:
        ctx.store.close()
    assert list(findings.per_model()) == ["llamacpp/gemma3-270m"]
    for m in findings.per_model().values():
        assert m["validity"]["verdict"] in ("valid", "invalid")
        assert 0 < m["option_mass"] <= 1 and len(m["persistence"][NEUTRAL]) == 2
        traits = m["traits"]  # quick: k = 0 and the last k, 2 items per domain
        assert traits["ks"] == [0, 1] and traits["respondents"] == 1 + 2 + 2 * 4
        assert (traits["drift"] is None) == (traits["validity"]["verdict"] == "invalid")
    render(findings)


def test_an_invalid_persona_uptake_makes_claim_7_not_measurable(planted):
    data = planted["null"].to_json()
    m = next(iter(data["models"].values()))
    m["validity"] = {"verdict": "invalid", "summary": "invalid: planted", "reasons": ["planted"]}
    findings = PressureFindings.from_json(data)
    (row,) = [r for r in evaluate({"pressure": findings}, {}) if r.number == 7]
    assert row.status == "not measurable" and "planted" in row.reason
    assert "withheld" in next(iter(render(findings).headline.values()))["pressure effect"]
