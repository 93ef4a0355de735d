"""Findings of the commitment study (:mod:`personascope.studies.commitment`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import EstimateRecord, Findings, stored_as
from personascope.metrics.estimate import Estimate


@dataclass
class ProbeQuestion:
    """A multiple-choice probe: id, question and options (numbered from 1 in the prompt)."""

    id: str
    question: str
    options: list[str]


@dataclass
class Interview:
    """The interview as run: system message, base-model intro, main-line questions,
    probes and the self-description request."""

    system: str
    intro: str
    questions: list[str]
    probes: list[ProbeQuestion]
    describe: str


@dataclass
class Frame:
    """The conversation frame as a template, with its id."""

    id: str
    text: str


@dataclass
class Sampler:
    """The sampler of the main-line answers and self-descriptions."""

    temperature: float
    answer_tokens: int
    describe_tokens: int
    stop: list[str]


@dataclass
class Seeds:
    """The seed rule and the run seed it starts from."""

    rule: str
    run_seed: int


@dataclass
class Requests:
    """How many generation and choice requests the interviews made."""

    generate: int
    choice: int


@dataclass
class CurvePoint(EstimateRecord):
    """One turn of a curve: the mean over conversations with its t-interval, the turn and
    the number of conversations (``of``)."""

    turn: int
    of: int


@dataclass
class Curve:
    """A spread measure over turns: label and definition, the mean curve, the fitted
    ``y0`` and decay rate ``lambda_`` (stored as ``lambda``) of ``y0 exp(-lambda t)``,
    and each conversation's values (``per_conversation[c][t]``)."""

    label: str
    definition: str
    curve: list[CurvePoint]
    y0: Estimate
    lambda_: Estimate = field(metadata=stored_as("lambda"))
    per_conversation: list[list[float | None]]


@dataclass
class ProbeCurve:
    """One probe over turns: its entropy curve and mean option mass per turn."""

    entropy: list[CurvePoint]
    option_mass: list[float]


@dataclass
class Exchange:
    """One main-line question and the model's answer."""

    question: str
    answer: str


@dataclass
class ModelCommitment:
    """One model's results: provenance (key, kind, frame, sampler, seeds, request
    counts), the answer-entropy and self-description dispersion curves, each probe's
    curve, the mean option mass, every conversation's transcript, the first
    conversation's self-descriptions per turn (``descriptions[t][k]``) and the wall
    time."""

    model_key: str
    kind: str
    frame: Frame
    sampler: Sampler
    seeds: Seeds
    requests: Requests
    entropy: Curve
    dispersion: Curve
    probes: dict[str, ProbeCurve]
    option_mass: float
    transcripts: list[list[Exchange]]
    descriptions: list[list[str]]
    elapsed_s: float


@dataclass
class CommitmentFindings(Findings):
    """The design and interview, and per model the answer-entropy and self-description
    dispersion curves over turns with their fitted narrowing rates.

    ``design`` is the study's settings as run, plus the seed: it mirrors
    :class:`personascope.studies.commitment.Settings` (which this package may not
    import), so it stays the settings' JSON."""

    study: ClassVar[str] = "commitment"
    design: dict[str, Any]
    interview: Interview
    embedder: str
    interval_method: str
    models: dict[str, ModelCommitment] = field(default_factory=dict)
