"""The domains study: a planted base/tuned pair through the whole pipeline, then the
real models.

The planted base model writes varied code (one of several function bodies, one of them
unparseable) and repetitive creative text (one of two sentences); the planted tuned model
writes the same function every time and freshly combined creative sentences. So tuning
cuts every diversity measure in code and raises it in creative writing: the sign must
differ between domains as the claim predicts, and claim 4 must be supported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from personascope.claims import evaluate
from personascope.findings.domains import DomainsFindings
from personascope.models.base import ChatPrompt, GenerationRequest, GenerationResult
from personascope.models.providers import resolve
from personascope.report.sections.domains import render
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies.base import StudyContext, run_study
from personascope.studies.domains import DomainsStudy
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import register_fake

BODIES = (
    "    return len(str(x)) > 0\n",
    "    total = 0\n    for item in range(3):\n        total += item\n    return total\n",
    "    if not x:\n        return None\n    return [y for y in x]\n",
    "    while True:\n        break\n    return {'a': 1}\n",
    "    return (\n",  # cut off: does not parse
    "    try:\n        value = int(x)\n    except ValueError:\n        value = -1\n"
    "    return value * 2\n",
)
WORDS = (
    "amber", "harbour", "lantern", "velvet", "quarrel", "meadow", "thunder", "violin",
    "silver", "orchard", "glacier", "whisper", "copper", "saddle", "falcon", "marble",
)  # fmt: skip
SETTINGS = {"prompts": 6, "samples": 6, "max_tokens": 40}


def is_code(request: GenerationRequest) -> bool:
    prompt = request.prompt
    text = prompt.messages[-1].content if isinstance(prompt, ChatPrompt) else prompt.text
    return "Python" in text or text.startswith("```python")


def base_writer(request: GenerationRequest) -> GenerationResult:
    if is_code(request):
        text = BODIES[request.seed % len(BODIES)]
    else:
        text = ("The sea is blue and wide.", "The sea is calm and blue.")[request.seed % 2]
    return GenerationResult(text, (), (), "stop", 0, entropies=(2.0, 2.0))


def tuned_writer(request: GenerationRequest) -> GenerationResult:
    if is_code(request):
        text = "```python\ndef solve(x):\n    return x\n```"
    else:
        rng = np.random.default_rng(request.seed)
        text = " ".join(rng.choice(WORDS, size=8, replace=False)) + "."
    return GenerationResult(text, (), (), "stop", 0, entropies=(1.0, 1.0))


def planted_findings(tmp_path: Path) -> DomainsFindings:
    base = register_fake("domains-base", base_writer, kind="base", replace=True)
    tuned = register_fake("domains-tuned", tuned_writer, replace=True)
    store = Store(tmp_path)
    runner = Runner(store, "test", progress=False)
    ctx = StudyContext(runner, store, [resolve(base), resolve(tuned)], tmp_path, "test",
                       config={"domains": SETTINGS})  # fmt: skip
    try:
        return run_study(ctx, DomainsStudy())
    finally:
        store.close()


def test_planted_pair_gives_the_predicted_sign_difference(tmp_path: Path) -> None:
    findings = planted_findings(tmp_path)
    tuned = findings.models["fake/domains-tuned"]
    change = tuned["change"]
    assert change["versus"] == "fake/domains-base"
    for measure in ("ead", "cosine", "syntactic", "distinct_classes"):
        assert change["sign"][measure].startswith("predicted"), (measure, change["sign"])
        assert change["code"][measure]["high"] < 0 < change["creative"][measure]["low"]
    assert change["sign"]["entropy"] == "same direction in both domains"
    assert change["code"]["headline"]["measure"] == "ead"
    code = tuned["domains"]["code"]["measures"]
    assert code["distinct_classes"]["value"] == 1.0 and code["cosine"]["value"] < 1e-6
    # the base model's unparseable sample is counted, not dropped
    unparseable = findings.models["fake/domains-base"]["domains"]["code"]["unparseable"]
    assert unparseable["count"] == 6 and unparseable["of"] == 36
    assert "change" not in findings.models["fake/domains-base"] or (
        findings.models["fake/domains-base"]["change"]["code"]["headline"]["value"] is None
    )
    rows = [r for r in evaluate({"domains": findings},
                                {"fake/domains-base": "base", "fake/domains-tuned": "chat"})
            if r.number == 4]  # fmt: skip
    status = {r.models: r.status for r in rows}
    assert status == {"fake/domains-base": "not measurable", "fake/domains-tuned": "supported"}
    section = render(DomainsFindings.from_json(findings.to_json()))
    assert set(section.headline) == set(findings.models)


def test_embedded_pair_end_to_end(tmp_path: Path) -> None:
    settings = {"prompts": 2, "samples": 2, "max_tokens": 10}
    ctx = embedded_context(tmp_path, {"domains": settings}, quick=True)
    try:
        findings = run_study(ctx, DomainsStudy())
    finally:
        ctx.store.close()
    tuned = findings.models["llamacpp/smollm2-135m-instruct"]
    assert tuned["change"]["versus"] == "llamacpp/gemma3-270m"
    assert "different model families" in tuned["change"]["caveat"]
    for model in findings.models.values():
        assert model["domains"]["code"]["unparseable"]["of"] == 4
        assert model["domains"]["creative"]["measures"]["entropy"]["value"] > 0
