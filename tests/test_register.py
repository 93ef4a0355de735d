"""The register study: planted registers through the whole pipeline, then the real models.

A planted model writes each context in a fixed register taken from a hand-written corpus
(tests/data/registers.yaml: texting for a friend, legal prose for a judge, simple words
for a child, technical prose for experts); its register range must be high and its
adherence correct. A model that writes one register for every context has a range near
zero. The style features are checked on hand-counted sentences.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from personascope.claims import evaluate
from personascope.findings.register import RegisterFindings
from personascope.metrics.estimate import estimate_dict
from personascope.metrics.style import features, sentence_count, syllables
from personascope.models.base import ChatPrompt, GenerationRequest, GenerationResult
from personascope.report.sections.register import render
from personascope.studies.base import StudyContext, run_study
from personascope.studies.register import RegisterStudy, load_design
from personascope.testing.clitools import one_error_line, run_cli
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import fake_runner, register_fake

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "registers.yaml").read_text())
REGISTER_OF = {"friend": "texting", "judge": "legal", "child": "child", "expert": "technical"}
PLANTED = {
    "tasks": ["decline", "train", "favour"],
    "contexts": list(REGISTER_OF),
    "seeds": 4,
    "max_tokens": 40,
    "n_draws": 1000,
}


def context_of(request: GenerationRequest) -> str:
    assert isinstance(request.prompt, ChatPrompt)
    text = request.prompt.messages[-1].content
    design = load_design(RegisterStudy.Settings())
    return next(c["id"] for c in design.contexts if text.startswith(c["chat"]))


def writer(register_for: dict[str, str]):
    def generate(request: GenerationRequest) -> GenerationResult:
        sentences = CORPUS[register_for[context_of(request)]]
        rng = np.random.default_rng(request.seed)
        chosen = rng.choice(len(sentences), size=3, replace=False)
        return GenerationResult(" ".join(sentences[i] for i in chosen), (), (), "stop", 0)

    return generate


def planted_findings(tmp_path: Path, name: str, register_for: dict[str, str]) -> RegisterFindings:
    model_id = register_fake(name, writer(register_for), replace=True, version=name)
    runner, store, spec = fake_runner(tmp_path, model_id)
    ctx = StudyContext(runner, store, [spec], tmp_path, "test", config={"register": PLANTED})
    try:
        return run_study(ctx, RegisterStudy())
    finally:
        store.close()


def test_style_features_by_hand() -> None:
    assert syllables("cat") == 1 and syllables("table") == 2 and syllables("made") == 1
    assert sentence_count("Hi! How are you? Fine.") == 3
    assert sentence_count("no punctuation at all") == 1
    tags = [("I", "PRP"), ("do", "VBP"), ("n't", "RB"), ("like", "VB"), ("the", "DT"),
            ("cat", "NN"), ("!", ".")]  # fmt: skip
    f = features("I don't like the cat!", tags)
    # 6 words: pronoun 1, verbs 2, adverb 1, article 1, noun 1 -> (16.7 + 16.7 - 16.7 -
    # 33.3 - 16.7 + 100) / 2
    assert f["formality"] == pytest.approx((100 / 6 * (1 + 1 - 1 - 2 - 1) + 100) / 2)
    assert f["contractions"] == pytest.approx(1 / 6)
    assert f["first_person"] == pytest.approx(1 / 6)
    assert f["exclamations"] == pytest.approx(1.0)
    assert f["lexical_density"] == pytest.approx(4 / 6)  # do, n't, like, cat
    assert f["sentence_length"] == pytest.approx(6.0)
    assert all(math.isnan(v) for v in features("", []).values())


def test_fixed_registers_give_high_range_and_correct_adherence(tmp_path: Path) -> None:
    findings = planted_findings(tmp_path, "register-switch", REGISTER_OF)
    model = findings.models["fake/register-switch"]
    assert model["register_range"]["value"] > 0.5
    assert model["register_range"]["low"] > 0.2
    assert model["adherence"]["value"] > 0.6
    for name in ("formality", "fk_grade", "word_length"):
        assert model["per_feature"][name]["value"] > 0.6, name
    # the texting register contracts most, the legal least
    means = model["context_means"]["contractions"]
    assert means[0] == max(means) and means[1] == min(means)


def test_one_register_everywhere_gives_range_near_zero(tmp_path: Path) -> None:
    findings = planted_findings(tmp_path, "register-locked", dict.fromkeys(REGISTER_OF, "legal"))
    model = findings.models["fake/register-locked"]
    assert model["register_range"]["value"] < 0.1
    assert model["register_range"]["low"] < 0.05


def test_claim_row_reads_register_range() -> None:
    def model(value: float, low: float, high: float) -> dict:
        return {"register_range": estimate_dict(value, (low, high), 40, "planted")}

    findings = RegisterFindings(
        design={}, tasks=[], contexts=[], features={},
        models={"base/m": model(0.6, 0.5, 0.7), "chat/m": model(0.1, 0.05, 0.15)},
    )  # fmt: skip
    rows = [r for r in evaluate({"register": findings}, {"base/m": "base", "chat/m": "chat"})
            if r.number == 1]  # fmt: skip
    assert [r.status for r in rows] == ["supported"]
    assert rows[0].models == "chat/m minus base/m"


def test_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    result = run_cli("audit", "--studies", "register", "--model", "fake/echo", "--quick",
                     "--out", str(tmp_path / "run"), "--config", config)  # fmt: skip
    assert result.returncode == 1
    assert one_error_line(result.stderr).startswith(
        "error: register setting contexts: unknown context"
    )


def write_config(folder: Path) -> Path:
    path = folder / "audit.yaml"
    path.write_text("register:\n  contexts: [friend, moon]\n", encoding="utf-8")
    return path


def test_embedded_pair_end_to_end(tmp_path: Path) -> None:
    settings = {"tasks": ["decline", "train"], "contexts": ["friend", "judge", "child"],
                "seeds": 2, "max_tokens": 8, "n_draws": 200}  # fmt: skip
    ctx = embedded_context(tmp_path, {"register": settings}, quick=True)
    try:
        findings = run_study(ctx, RegisterStudy())
    finally:
        ctx.store.close()
    assert set(findings.models) == {"llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct"}
    for model in findings.models.values():
        assert model["n_responses"] == 12
        assert "value" in model["register_range"]
    assert findings.comparison["compared"] in (True, False)
    section = render(RegisterFindings.from_json(findings.to_json()))
    assert set(section.headline) == set(findings.models)
