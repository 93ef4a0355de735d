"""The commitment study and its decay fit: planted truth, prompt structure, real models.

Planted truth: (1) simulated curves with a known decay rate, whose jackknife interval
must cover it at close to the nominal rate; (2) a fake model whose probe answer
entropy is planted as h0 exp(-lambda t) in the number of its own answers in the prompt:
the study must give back that curve and that lambda. Then the prompts (history holds
only main-line answers, chat vs transcript frames) and a tiny run of both embedded
models, resumed from the store.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from personascope.errors import MetricInputError
from personascope.metrics.decay import decay_rate, exponential_fit, mean_curve
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    TextPrompt,
)
from personascope.studies.base import StudyContext, run_study
from personascope.studies.commitment import (
    FULL,
    CommitmentStudy,
    load_interview,
    normalised_entropy,
    plan_turn,
    prompt_after,
    seed_of,
)
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import fake_runner, register_fake

# --- the decay fit ---------------------------------------------------------------------


def test_exponential_fit_recovers_noise_free_curves():
    t = np.arange(6.0)
    assert exponential_fit(t, 0.8 * np.exp(-0.35 * t)) == pytest.approx((0.8, 0.35), abs=1e-6)
    assert exponential_fit(t, 0.2 * np.exp(0.1 * t)) == pytest.approx((0.2, -0.1), abs=1e-6)
    assert exponential_fit(t, np.full(6, 0.5)) == pytest.approx((0.5, 0.0), abs=1e-6)
    assert exponential_fit(t, np.zeros(6)) == (0.0, 0.0)
    with pytest.raises(MetricInputError):
        exponential_fit(t, np.array([1.0, np.nan, 1, 1, 1, 1]))


def test_decay_interval_covers_planted_rate():
    rng = np.random.default_rng(0)
    rate, hits = 0.3, []
    for _ in range(300):
        start = rng.gamma(8, 0.1, (6, 1))  # conversations start at different spreads
        curves = start * np.exp(-rate * np.arange(6)) + rng.normal(0, 0.08, (6, 6))
        ci = decay_rate(curves)["lambda"].ci
        hits.append(ci[0] <= rate <= ci[1])
    assert 0.90 <= np.mean(hits) <= 0.995


def test_mean_curve_is_the_t_interval_over_conversations():
    values = np.array([[1.0, 0.5], [3.0, 0.5], [2.0, 0.5]])
    curve = mean_curve(values)
    # turn 0: mean 2, sd 1, se 1/sqrt(3), t_{2, 0.975} = 4.3027
    half = 4.302652729911275 / math.sqrt(3)
    assert curve[0]["value"] == pytest.approx(2.0)
    assert [curve[0]["low"], curve[0]["high"]] == pytest.approx([2 - half, 2 + half])
    assert [curve[1]["low"], curve[1]["high"]] == pytest.approx([0.5, 0.5])


def test_normalised_entropy():
    assert normalised_entropy((0.25, 0.25, 0.25, 0.25)) == pytest.approx(1.0)
    assert normalised_entropy((1.0, 0.0, 0.0)) == 0.0
    assert normalised_entropy((0.5, 0.5, 0.0)) == pytest.approx(math.log(2) / math.log(3))


# --- prompts -----------------------------------------------------------------------------


def test_chat_history_alternates_and_probes_stay_out():
    interview = load_interview()
    history = [("What is your name?", "Ada."), ("What do you do?", "I fix clocks.")]
    prompt = prompt_after("chat", interview, history, "Who do you live with?")
    assert isinstance(prompt, ChatPrompt)
    roles = [m.role for m in prompt.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert prompt.messages[2].content == "Ada." and prompt.assistant_prefix == ""
    probe = prompt_after("chat", interview, history, "How old are you?", choice=True)
    assert probe.assistant_prefix == "Answer: "


def test_base_transcript_frame():
    interview = load_interview()
    prompt = prompt_after("base", interview, [("Q1?", "A1.")], "Q2?")
    assert isinstance(prompt, TextPrompt)
    assert prompt.text == f"{interview.intro}\n\nInterviewer: Q1?\nMe: A1.\nInterviewer: Q2?\nMe:"
    choice = prompt_after("base", interview, [], "Q?", choice=True)
    assert choice.text.endswith("\nMe: ")


def test_plan_turn_groups_and_seeds():
    interview = load_interview()
    histories = [[], []]
    plan = plan_turn("chat", interview, FULL, histories, 0, seed=3)
    main, described, probes = plan.main, plan.describe, plan.probes
    assert len(main) == 2 and len(described) == 2 * FULL.continuations
    assert len(probes) == 2 * len(interview.probes)
    assert all(isinstance(r, ChoiceRequest) for r in probes)
    assert len({r.seed for r in main + described}) == len(main) + len(described)
    last = plan_turn("chat", interview, FULL, histories, FULL.turns, seed=3)
    assert len(last.main) == 0  # no main-line answer after the last question
    seeds = {seed_of(0, c, t, k) for c in range(5) for t in range(9) for k in range(10)}
    assert len(seeds) == 5 * 9 * 10


# --- planted truth through the study -----------------------------------------------------

H0, RATE = 0.9, 0.4
CHARACTERS = ("I am a retired sailor from Norway.", "I am a teenage chess prodigy.",
              "I am a baker who hates mornings.")  # fmt: skip


def distribution_with_entropy(target: float, n: int) -> tuple[float, ...]:
    """p proportional to exp(beta * (1, 0, ..., 0)) with normalised entropy ``target``."""

    def entropy_at(beta: float) -> float:
        w = np.exp(beta * np.eye(n)[0])
        return normalised_entropy(tuple(w / w.sum()))

    beta = optimize.brentq(lambda b: entropy_at(b) - target, 0.0, 60.0, xtol=1e-13)
    w = np.exp(beta * np.eye(n)[0])
    return tuple(w / w.sum())


# fake/narrowing: probe entropy H0 exp(-RATE t) after t own answers; descriptions
# identical once t > 0


def own_turns(prompt: ChatPrompt) -> int:
    return sum(m.role == "assistant" for m in prompt.messages)


def narrowing_score(request: ChoiceRequest) -> ChoiceResult:
    assert isinstance(request.prompt, ChatPrompt)
    target = H0 * math.exp(-RATE * own_turns(request.prompt))
    probs = distribution_with_entropy(target, len(request.options))
    return ChoiceResult(tuple(math.log(p) for p in probs), 1.0)


def narrowing_generate(request: GenerationRequest) -> GenerationResult:
    assert isinstance(request.prompt, ChatPrompt)
    if request.prompt.messages[-1].content.startswith("Describe yourself"):
        t = own_turns(request.prompt)
        text = "I am a lighthouse keeper." if t else CHARACTERS[request.seed % 100 - 1]
    else:
        text = f"answer with seed {request.seed}"
    return GenerationResult(text, (), (), "stop", 0)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("commitment-planted")
    model_id = register_fake("narrowing", narrowing_generate, narrowing_score, replace=True)
    runner, store, spec = fake_runner(tmp, model_id)
    ctx = StudyContext(
        runner=runner,
        store=store,
        models=[spec],
        out_dir=tmp,
        run_id="test",
        config={"commitment": {"conversations": 3, "turns": 4, "continuations": 3}},
    )
    yield ctx, run_study(ctx, CommitmentStudy()).to_json()
    store.close()


def test_planted_entropy_curve_and_rate_are_recovered(planted):
    _, findings = planted
    model = findings["models"]["fake/narrowing"]
    curve = [p["value"] for p in model["entropy"]["curve"]]
    assert curve == pytest.approx([H0 * math.exp(-RATE * t) for t in range(5)], abs=1e-9)
    assert model["entropy"]["lambda"]["value"] == pytest.approx(RATE, abs=1e-6)
    assert model["entropy"]["y0"]["value"] == pytest.approx(H0, abs=1e-6)
    for probe in model["probes"].values():
        assert probe["option_mass"] == pytest.approx([1.0] * 5)


def test_planted_descriptions_give_dispersion_only_at_turn_zero(planted):
    _, findings = planted
    curve = findings["models"]["fake/narrowing"]["dispersion"]["curve"]
    assert curve[0]["value"] > 0.05
    assert [p["value"] for p in curve[1:]] == pytest.approx([0.0] * 4, abs=1e-6)


def test_history_holds_the_main_line_answers(planted):
    _, findings = planted
    model = findings["models"]["fake/narrowing"]
    interview = load_interview()
    for c, transcript in enumerate(model["transcripts"]):
        assert [t["question"] for t in transcript] == list(interview.questions[:4])
        assert [t["answer"] for t in transcript] == [
            f"answer with seed {seed_of(0, c, t, 0)}" for t in range(4)
        ]
    assert model["requests"] == {"generate": 3 * 4 + 3 * 5 * 3, "choice": 3 * 5 * 5}


def test_planted_run_resumes_from_the_store(planted):
    ctx, findings = planted
    executed = ctx.runner.executed
    again = run_study(ctx, CommitmentStudy()).to_json()
    assert ctx.runner.executed == executed
    model = findings["models"]["fake/narrowing"]
    assert again["models"]["fake/narrowing"]["entropy"] == model["entropy"]


def test_report_section_from_planted_findings(planted):
    from personascope.report.sections import render_json

    ctx, _ = planted
    stored = {name: data for (_, name), data in ctx.store.findings("commitment").items()}
    section = render_json("commitment", stored["findings"])
    html = "".join(str(b) for b in section.blocks)
    assert "lighthouse keeper" in html and "answer with seed" in html
    cell = section.headline["fake/narrowing"]["narrowing per turn (answer entropy)"]
    assert cell.startswith("0.400")


def test_untrusted_answers_are_escaped_in_the_report(planted):
    from personascope.report.sections import render_json

    ctx, _ = planted
    stored = {name: data for (_, name), data in ctx.store.findings("commitment").items()}
    stored["findings"]["models"]["fake/narrowing"]["transcripts"][0][0]["answer"] = (
        "<script>alert(1)</script>"
    )
    html = "".join(str(b) for b in render_json("commitment", stored["findings"]).blocks)
    assert "<script>alert" not in html and "&lt;script&gt;" in html


# --- the real embedded models --------------------------------------------------------


def test_real_models_tiny_interview(tmp_path):
    settings = {"conversations": 2, "turns": 1, "continuations": 2}
    ctx = embedded_context(
        tmp_path, {"commitment": {**settings, "answer_tokens": 8, "describe_tokens": 8}}
    )
    findings = run_study(ctx, CommitmentStudy()).to_json()
    for model_id, model in findings["models"].items():
        assert len(model["entropy"]["curve"]) == 2
        for point in model["entropy"]["curve"]:
            assert 0.0 <= point["value"] <= 1.0, model_id
        # two turns: ybar_0 exp(-lambda t) fits both exactly, lambda = ln(ybar_0 / ybar_1)
        # (a zero end pins it to the search bound, +-5)
        assert model["entropy"]["lambda"]["value"] == pytest.approx(
            two_point_decay(*[p["value"] for p in model["entropy"]["curve"]]), abs=1e-4
        )
        assert 0.0 < model["option_mass"] <= 1.0
        # the two interviews start from the same empty history but sample different answers
        answers = [t[0]["answer"] for t in model["transcripts"]]
        assert answers[0] != answers[1], model_id
    assert findings["models"]["llamacpp/gemma3-270m"]["frame"]["id"].startswith("commitment/base")
    assert findings["models"]["llamacpp/smollm2-135m-instruct"]["kind"] == "chat"
    from personascope.report.blocks import escape
    from personascope.report.sections import render_json

    stored = {name: data for (_, name), data in ctx.store.findings("commitment").items()}
    section = render_json("commitment", stored["findings"])
    html = "".join(str(b) for b in section.blocks)
    first_answer = findings["models"]["llamacpp/gemma3-270m"]["transcripts"][0][0]["answer"]
    assert escape(first_answer) in html  # the stored transcript, escaped, is in the report
    for model_id in findings["models"]:
        cells = section.headline[model_id]
        assert set(cells) == {
            "narrowing per turn (answer entropy)",
            "narrowing per turn (self-descriptions)",
        }
        assert cells["narrowing per turn (answer entropy)"] != "-"
    ctx.store.close()


def two_point_decay(first: float, second: float) -> float:
    """The decay rate of y0 exp(-lambda t) through (0, first) and (1, second), lambda in
    [-5, 5]: ln(first / second), or the bound a zero end pushes it to."""
    if first == second == 0:
        return 0.0
    if second == 0 or first == 0:
        return 5.0 if second == 0 else -5.0
    return max(-5.0, min(5.0, math.log(first / second)))
