"""Findings of the collapse lab (:mod:`personascope.lab.run`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import OMIT_IF_NONE, DetailedRecord, Findings, to_json
from personascope.findings.scaffold import Panel
from personascope.findings.stability import Sampler
from personascope.metrics.estimate import Estimate


@dataclass
class Reward:
    """The reward that ranked the base model's samples."""

    name: str
    description: str


@dataclass
class Pairing:
    """How samples were paired into preferences, and the length tolerance of a
    length-matched pairing (words)."""

    name: str
    length_tolerance_words: int


@dataclass
class LengthConfound:
    """How much the reward and the pairs prefer short texts
    (:func:`personascope.lab.pairs.length_confound`): the counts, then the estimates
    there were enough samples or pairs for (absent from the JSON otherwise)."""

    n_samples: int
    n_pairs: int
    reward_length_spearman: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    chosen_words: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    rejected_words: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    difference_words: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class TrainingData:
    """The training frames and samples, the held-out frames, the sample counts by fate,
    the pairs made and their length confound."""

    train_frames: list[str]
    heldout_frames: list[str]
    samples_per_frame: int
    sample_seeds: list[int]
    sampler: Sampler
    counts: dict[str, int]
    n_pairs: int
    length_confound: LengthConfound


@dataclass
class Training:
    """The DPO run: the settings that determine the weights
    (:meth:`personascope.lab.config.LabConfig.training_settings`), the checkpoint
    schedule and fixed choices, where it was trained, how much of it this run did, and
    the trainer's per-step log (its own keys, such as ``rewards/margins``)."""

    base: str
    steps: int
    learning_rate: float
    beta: float
    lora_r: int
    lora_alpha: int
    lora_targets: list[str]
    batch_size: int
    max_length: int
    seed: int
    schedule: list[int]
    lr_scheduler: str
    lora_dropout: float
    reference: str
    loss: str
    dir: str
    resumed_from_step: int | None
    steps_run_now: int
    seconds_per_step: float | None
    log: list[dict[str, Any]]


@dataclass
class JackknifeRecord:
    """The jackknife of every interval: its number of groups and seed."""

    groups: int
    seed: int


@dataclass
class Evaluation:
    """The held-out frames and seeds every checkpoint was evaluated on."""

    frames: list[str]
    samples_per_frame: int
    seeds: list[int]
    same_requests_for_every_checkpoint: bool
    jackknife: JackknifeRecord


@dataclass
class Draws:
    """A statistic over random draws from the reference: its mean and 95% range."""

    mean: float
    range95: list[float]


@dataclass
class ReferenceDraws:
    """The statistics of ``n`` values drawn from the human reference
    (:func:`personascope.lab.attributes.reference_expectation`), or a ``note`` when
    ``n`` is below 2; the statistics a summary does not draw are absent from the JSON."""

    n: int
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    draws: int | None = field(default=None, metadata=OMIT_IF_NONE)
    seed: int | None = field(default=None, metadata=OMIT_IF_NONE)
    source: str | None = field(default=None, metadata=OMIT_IF_NONE)
    entropy_bits: Draws | None = field(default=None, metadata=OMIT_IF_NONE)
    unique_share: Draws | None = field(default=None, metadata=OMIT_IF_NONE)
    repeat_share: Draws | None = field(default=None, metadata=OMIT_IF_NONE)
    reference_mass: Draws | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Categorical:
    """Entropy, unique, repeat and top share of a categorical attribute
    (:func:`personascope.lab.attributes.categorical_summary`), or a ``note`` when fewer
    than two values were stated; ``reference_mass`` given reference shares,
    ``total_variation`` for the age bands and ``reference`` (the same statistics drawn
    from the human reference) for first names. Keys a summary does not have are absent
    from the JSON."""

    n: int
    missing: int
    top: list[list[Any]]
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    entropy_bits: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    unique_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    repeat_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    top_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference_mass: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    total_variation: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: ReferenceDraws | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Pooled:
    """Entropy and distinct share of values pooled over personas (their adjectives;
    :func:`personascope.lab.attributes.pooled_summary`), or a ``note`` when fewer than
    two personas stated any."""

    n: int
    n_values: int
    top: list[list[Any]]
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    entropy_bits: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    unique_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class AgeReference:
    """The human reference's age SD, its source and its adult age bands' statistics at
    the checkpoint's n."""

    sd: float
    source: str
    bands: ReferenceDraws


@dataclass
class Ages:
    """Mean, SD and share under 18 of the stated ages and their adult bands
    (:func:`personascope.lab.attributes.age_summary`), or a ``note`` when fewer than
    three were stated; with the human reference."""

    n: int
    missing: int
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    mean: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    sd: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    under_18_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    bands: Categorical | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: AgeReference | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Attributes:
    """The attributes parsed from one checkpoint's profiles
    (:func:`personascope.lab.evaluate.attribute_findings`): how many profiles, how many
    lacked each field, and the summaries of names, ages, occupations, adjectives, polish
    and length."""

    n: int
    parse_failures: dict[str, int]
    first_names: Categorical
    ages: Ages
    occupations: Categorical
    adjectives: Pooled
    polish: DetailedRecord
    words: DetailedRecord


@dataclass
class CheckpointMetrics:
    """What was measured on one checkpoint's profiles: attributes, the text panel at
    matched length, and the per-token log-probability under the base model."""

    attributes: Attributes
    text: Panel
    typicality: DetailedRecord


@dataclass
class LabCheckpoint:
    """One checkpoint (step 0 = the base model): its model id and key, how its
    completions finished, the first three profiles and its metrics."""

    step: int
    model_id: str
    model_key: str
    finish_reasons: dict[str, int]
    examples: list[str]
    metrics: CheckpointMetrics


@dataclass
class CurvePoint:
    """One checkpoint on a dose-response curve (``None`` where not measured)."""

    step: int
    value: float | None
    low: float | None
    high: float | None


@dataclass
class DoseResponse:
    """One metric over the checkpoints, and its value in a human sample of the same size
    (``None`` where the lab has no reference)."""

    label: str
    points: list[CurvePoint]
    reference: float | None


@dataclass
class Stage:
    """One stage's wall-clock and CPU seconds, the process's peak memory after it and
    the machine's load when it began."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    load_average_1min_at_start: float


@dataclass
class LabFindings(Findings):
    """The lab's base model, reward, pairing, training data, training and evaluation, and
    per checkpoint (step 0 = the base model) the persona measurements whose
    dose-response (``curves``) the report draws; the stages' timings.

    ``config`` is the lab's settings as run: it mirrors
    :class:`personascope.lab.config.LabConfig` (which this package may not import), so
    it stays the settings' JSON."""

    study: ClassVar[str] = "lab"
    tag: str | None
    base_model: str
    base_key: str
    reward: Reward
    pairing: Pairing
    data: TrainingData
    training: Training
    evaluation: Evaluation
    checkpoints: list[LabCheckpoint]
    curves: dict[str, DoseResponse]
    stages: dict[str, Stage]
    config: dict[str, Any]
    terms: str

    def per_model(self) -> Mapping[str, Any]:
        return {c.model_id: to_json(c.metrics) for c in self.checkpoints}
