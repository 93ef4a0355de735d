"""Commitment study: does a model hold a superposition of characters that narrows with history?

One conversation, an interview about the model's own life (``data/commitment.yaml``):
no persona is given, so the model chooses who it is answer by answer. Chat models get a
real multi-turn chat (system message, user questions, their own assistant answers);
base models a transcript (``Interviewer:`` / ``Me:`` lines) under a short intro.

At turn t (t = 0 .. T; t = 0 is the empty interview) the history holds the model's own
answers to the first t main-line questions, sampled once per conversation (the *main
line*, seed per conversation and turn). From that same history:

* **choice probes** (age group, gender, place, children, one IPIP item) are scored as
  choice requests: the option probabilities normalised over the options are the exact
  distribution of the model's answer, and its **normalised entropy**
  ``H(p) / log(n_options)`` (0 = one answer certain, 1 = uniform) is the spread of the
  characters it could still be. No regeneration is needed: the distribution *is* the
  limit of infinitely many regenerated answers. The raw option mass is kept as a
  validity signal.
* **self-descriptions**: K continuations of "Describe yourself in one sentence." are
  sampled (K seeds) and embedded; their mean pairwise cosine distance is the spread.

Neither probe is added to the history. C independent conversations (seeds) give the
curves' intervals (t-interval over conversations at each turn) and the decay rate
(:func:`personascope.metrics.decay.decay_rate`: ``y0 exp(-lambda t)`` fitted to the mean
curve, delete-one-conversation jackknife). The expectation from Shanahan et al. (2023) is
that a base model narrows with history and an aligned one starts narrow; the study
reports what it measures.

Every turn is planned from the stored results of the previous one, so an interrupted
run resumes from the store. Settings: ``ctx.config["commitment"]`` overrides any
:class:`Settings` field.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml

from personascope.errors import PersonascopeError
from personascope.findings import from_json
from personascope.findings.commitment import (
    CommitmentFindings,
    Curve,
    CurvePoint,
    Exchange,
    Frame,
    ModelCommitment,
    ProbeCurve,
    ProbeQuestion,
    Requests,
    Sampler,
    Seeds,
)
from personascope.findings.commitment import Interview as InterviewRecord
from personascope.metrics.decay import decay_rate, mean_curve
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import jsonable
from personascope.metrics.semantic import mean_cosine_distance_value
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    GenerationResult,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.personas.prompts import Template
from personascope.studies.base import Study, StudyContext

DATA_FILE = Path(__file__).parent / "data" / "commitment.yaml"
BASE_STOP = ("\n",)
SEED_STRIDE = 10_000  # seeds of conversation c: base + c * SEED_STRIDE + ...


@dataclass(frozen=True)
class Settings:
    """Sizes and sampler; a ``commitment`` section of ``audit.yaml`` may override any field."""

    conversations: int = 3
    turns: int = 3  # main-line answers; the curve has turns + 1 points
    continuations: int = 2  # K self-descriptions per turn
    answer_tokens: int = 20
    describe_tokens: int = 12
    temperature: float = 1.0
    probes: int | None = None  # None: every probe; else the first n of the interview


FULL = Settings()
QUICK = Settings(
    conversations=2, turns=2, continuations=2, answer_tokens=10, describe_tokens=8, probes=3
)


@dataclass(frozen=True)
class Probe:
    id: str
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Interview:
    system: str
    intro: str
    questions: tuple[str, ...]
    probes: tuple[Probe, ...]
    describe: str


def load_interview() -> Interview:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return Interview(
        system=data["system"],
        intro=data["intro"],
        questions=tuple(data["questions"]),
        probes=tuple(Probe(p["id"], p["question"], tuple(p["options"])) for p in data["probes"]),
        describe=data["describe"],
    )


# --- prompts ----------------------------------------------------------------------------


def probe_text(probe: Probe) -> str:
    """The probe question with its numbered options."""
    options = ", ".join(f"{i} = {o}" for i, o in enumerate(probe.options, 1))
    return f"{probe.question} Answer with the number of your answer: {options}."


def prompt_after(
    kind: ModelKind,
    interview: Interview,
    history: list[tuple[str, str]],
    question: str,
    choice: bool = False,
) -> Prompt:
    """The interview so far, then ``question``. A ``choice`` prompt ends where the answer
    digit goes: ``Answer: `` pre-filled for chat models, ``Me: `` (with the space, so the
    digit is one token) for base models."""
    if kind == "chat":
        messages = [Message("system", interview.system)]
        for asked, answered in history:
            messages += [Message("user", asked), Message("assistant", answered)]
        messages.append(Message("user", question))
        return ChatPrompt(tuple(messages), assistant_prefix="Answer: " if choice else "")
    lines = [interview.intro, ""]
    for asked, answered in history:
        lines += [f"Interviewer: {asked}", f"Me: {answered}"]
    lines += [f"Interviewer: {question}", "Me: " if choice else "Me:"]
    return TextPrompt("\n".join(lines))


def frame_template(kind: ModelKind, interview: Interview) -> Template:
    """The frame as a template with an id, for provenance."""
    if kind == "chat":
        return Template(
            "commitment/chat",
            f"[system] {interview.system}\n[user] {{question}}\n[assistant] {{answer}} ...",
        )
    return Template(
        "commitment/base", f"{interview.intro}\n\nInterviewer: {{question}}\nMe: {{answer}} ..."
    )


def seed_of(base: int, conversation: int, turn: int, k: int) -> int:
    """k = 0: the main-line answer; k = 1..K: the self-descriptions (K < 100)."""
    return base * 1_000_003 + conversation * SEED_STRIDE + turn * 100 + k


@dataclass(frozen=True)
class TurnPlan:
    """One turn's requests for every conversation, conversation-major within each group."""

    main: list[GenerationRequest]
    describe: list[GenerationRequest]
    probes: list[ChoiceRequest]


def plan_turn(
    kind: ModelKind,
    interview: Interview,
    design: Settings,
    histories: list[list[tuple[str, str]]],
    turn: int,
    seed: int,
) -> TurnPlan:
    """Requests at one turn for every conversation.

    Per conversation: the main-line answer to the next question (absent at the last
    turn), K self-descriptions, and one choice request per probe.
    """
    stop = BASE_STOP if kind == "base" else ()
    answer = SamplerSettings(design.temperature, max_tokens=design.answer_tokens, stop=stop)
    describe = SamplerSettings(design.temperature, max_tokens=design.describe_tokens, stop=stop)
    main: list[GenerationRequest] = []
    descriptions: list[GenerationRequest] = []
    probes: list[ChoiceRequest] = []
    for c, history in enumerate(histories):
        if turn < design.turns:
            prompt = prompt_after(kind, interview, history, interview.questions[turn])
            main.append(GenerationRequest(prompt, answer, seed_of(seed, c, turn, 0)))
        prompt = prompt_after(kind, interview, history, interview.describe)
        descriptions += [
            GenerationRequest(prompt, describe, seed_of(seed, c, turn, k))
            for k in range(1, design.continuations + 1)
        ]
        for probe in interview.probes:
            options = tuple(str(i) for i in range(1, len(probe.options) + 1))
            probes.append(
                ChoiceRequest(
                    prompt_after(kind, interview, history, probe_text(probe), choice=True),
                    options,
                )
            )
    return TurnPlan(main, descriptions, probes)


# --- measures ---------------------------------------------------------------------------


def normalised_entropy(probs: tuple[float, ...]) -> float:
    """H(p) / log(n) in [0, 1] (natural logs; 0 log 0 = 0)."""
    p = np.asarray(probs, dtype=float)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(len(p)))


def answer_text(result: GenerationResult) -> str:
    """The main-line answer as it enters the history (one line, trimmed)."""
    return " ".join(result.text.split())


def run_conversations(
    ctx: StudyContext, spec: ModelSpec, kind: ModelKind, interview: Interview, design: Settings
) -> dict[str, Any]:
    """Every turn of C conversations: entropies, descriptions, transcripts."""
    c_n, n_probes, k_n = design.conversations, len(interview.probes), design.continuations
    histories: list[list[tuple[str, str]]] = [[] for _ in range(c_n)]
    entropy = np.zeros((c_n, design.turns + 1, n_probes))
    mass = np.zeros((c_n, design.turns + 1, n_probes))
    descriptions: list[list[list[str]]] = [[] for _ in range(c_n)]
    n_requests = {"generate": 0, "choice": 0}
    for turn in range(design.turns + 1):
        plan = plan_turn(kind, interview, design, histories, turn, ctx.seed)
        label = f"commitment turn {turn} {spec.model_id}"
        generated = ctx.runner.generate(spec, plan.main + plan.describe, label=label)
        probed = ctx.runner.score(spec, plan.probes, label=label)
        n_requests["generate"] += len(generated)
        n_requests["choice"] += len(probed)
        answered, described = generated[: len(plan.main)], generated[len(plan.main) :]
        for c in range(c_n):
            texts = [result.text.strip() for result in described[c * k_n : (c + 1) * k_n]]
            descriptions[c].append(texts)
            for j, result in enumerate(probed[c * n_probes : (c + 1) * n_probes]):
                entropy[c, turn, j] = normalised_entropy(result.probs)
                mass[c, turn, j] = result.option_mass
        for c, result in enumerate(answered):
            histories[c].append((interview.questions[turn], answer_text(result)))
    return {
        "histories": histories,
        "entropy": entropy,
        "mass": mass,
        "descriptions": descriptions,
        "requests": n_requests,
    }


def dispersion(embedder: Embedder, descriptions: list[list[list[str]]]) -> np.ndarray:
    """(C, T+1): mean pairwise cosine distance of the K self-descriptions of each turn."""
    flat = [t for conversation in descriptions for turn in conversation for t in turn]
    vectors = embedder.embed(flat).astype(float)
    c_n, t_n, k_n = len(descriptions), len(descriptions[0]), len(descriptions[0][0])
    vectors = vectors.reshape(c_n, t_n, k_n, -1)
    return np.array([[mean_cosine_distance_value(vectors[c, t]) for t in range(t_n)]
                     for c in range(c_n)])  # fmt: skip


def curve_points(values: np.ndarray, bounds: tuple[float, float]) -> list[CurvePoint]:
    """The mean curve over conversations (:func:`mean_curve`) as findings."""
    return from_json(list[CurvePoint], mean_curve(values, bounds=bounds), "curve")


def curve_findings(
    values: np.ndarray, label: str, definition: str, bounds: tuple[float, float]
) -> Curve:
    rates = decay_rate(values)
    return Curve(
        label=label,
        definition=definition,
        curve=curve_points(values, bounds),
        y0=rates["y0"],
        lambda_=rates["lambda"],
        per_conversation=np.round(values, 4).tolist(),
    )


def run_model(
    ctx: StudyContext, spec: ModelSpec, interview: Interview, design: Settings, embedder: Embedder
) -> ModelCommitment:
    started = time.perf_counter()
    kind = ctx.kind(spec)
    run = run_conversations(ctx, spec, kind, interview, design)
    entropy, mass = run["entropy"], run["mass"]
    spread = dispersion(embedder, run["descriptions"])
    per_probe = {
        probe.id: ProbeCurve(
            entropy=curve_points(entropy[:, :, j], (0.0, 1.0)),
            option_mass=np.round(mass[:, :, j].mean(axis=0), 4).tolist(),
        )
        for j, probe in enumerate(interview.probes)
    }
    frame = frame_template(kind, interview)
    return ModelCommitment(
        model_key=spec.key,
        kind=kind,
        frame=Frame(frame.id, frame.text),
        sampler=Sampler(
            temperature=design.temperature,
            answer_tokens=design.answer_tokens,
            describe_tokens=design.describe_tokens,
            stop=list(BASE_STOP if kind == "base" else ()),
        ),
        seeds=Seeds(
            rule="seed = run_seed * 1000003 + conversation * 10000 + turn * 100 + k "
            "(k = 0 main line, 1..K self-descriptions)",
            run_seed=ctx.seed,
        ),
        requests=Requests(**run["requests"]),
        entropy=curve_findings(
            entropy.mean(axis=2),
            "answer entropy of the choice probes",
            "normalised entropy H(p)/log(n) of the exact option distribution, mean over "
            f"{len(interview.probes)} probes",
            (0.0, 1.0),
        ),
        dispersion=curve_findings(
            spread,
            "dispersion of self-descriptions",
            f"mean pairwise cosine distance of {design.continuations} regenerated "
            "one-sentence self-descriptions (all-MiniLM-L6-v2)",
            (0.0, 2.0),
        ),
        probes=per_probe,
        option_mass=round(float(mass.mean()), 4),
        transcripts=[[Exchange(q, a) for q, a in history] for history in run["histories"]],
        descriptions=run["descriptions"][0],
        elapsed_s=round(time.perf_counter() - started, 2),
    )


class CommitmentStudy(Study[Settings, CommitmentFindings]):
    name = "commitment"
    Settings = Settings
    quick = QUICK
    sampler_settings: ClassVar[dict[str, str]] = {
        "answer_tokens": "max_tokens",
        "describe_tokens": "max_tokens",
    }

    def check(self, settings: Settings) -> None:
        design, interview = settings, load_interview()
        if design.conversations < 2 or design.turns < 1 or design.continuations < 2:
            raise PersonascopeError(
                "commitment needs conversations >= 2, turns >= 1 and continuations >= 2, got "
                f"{design.conversations}, {design.turns}, {design.continuations}"
            )
        if design.probes is not None and not 1 <= design.probes <= len(interview.probes):
            raise PersonascopeError(
                f"commitment setting probes must be 1..{len(interview.probes)}, got {design.probes}"
            )
        if design.turns > len(interview.questions):
            raise PersonascopeError(
                f"commitment setting turns: at most {len(interview.questions)} questions ship, "
                f"got {design.turns}"
            )

    def run(self, ctx: StudyContext, settings: Settings) -> CommitmentFindings:
        interview = load_interview()
        design = settings
        interview = replace(interview, probes=interview.probes[: design.probes])
        embedder = Embedder(ctx.store)
        findings = CommitmentFindings(
            design=jsonable({**asdict(design), "seed": ctx.seed}),
            interview=InterviewRecord(
                system=interview.system,
                intro=interview.intro,
                questions=list(interview.questions[: design.turns]),
                probes=[ProbeQuestion(p.id, p.question, list(p.options)) for p in interview.probes],
                describe=interview.describe,
            ),
            embedder=embedder.name,
            interval_method=(
                "per turn: t-interval over conversations; y0 and lambda: delete-one-"
                "conversation jackknife; 95%"
            ),
        )
        for spec in ctx.models:
            findings.models[spec.model_id] = run_model(ctx, spec, interview, design, embedder)
        return findings
