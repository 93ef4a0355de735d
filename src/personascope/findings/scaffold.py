"""Findings of the scaffold study (:mod:`personascope.studies.scaffold`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import OMIT_IF_NONE, EstimateRecord, Findings, to_json


@dataclass
class Matching:
    """How the populations were matched for diversity: the common ``n`` and, when at
    least one strategy had two unique personas, each strategy's own n, the word count
    texts were cut to (and its floor), the subsampling seed and the strategies left out;
    otherwise a ``note`` saying why nothing was matched. ``semantic_note`` when the
    embedder was missing. Keys a record does not have are absent from the JSON."""

    n: int
    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    from_n: dict[str, int] | None = field(default=None, metadata=OMIT_IF_NONE)
    truncated_to_words: int | None = field(default=None, metadata=OMIT_IF_NONE)
    length_floor: int | None = field(default=None, metadata=OMIT_IF_NONE)
    seed: int | None = field(default=None, metadata=OMIT_IF_NONE)
    excluded: list[str] | None = field(default=None, metadata=OMIT_IF_NONE)
    semantic_note: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Dedup:
    """What deduplication kept and dropped (exact and near duplicates), and how."""

    n_in: int
    n_kept: int
    dropped_exact: int
    dropped_near: int
    threshold: float
    method: str


@dataclass
class Judge:
    """The model that scored the attributes back, and its prompt template."""

    model_id: str
    model_key: str
    template: str


@dataclass
class AttributeAgreement:
    """One attribute scored back: accuracy (Wilson interval), chance, chance-corrected
    accuracy, mean probability on the assigned option and option mass, the judge's
    position bias and a verdict; for ordered attributes Spearman(assigned T-score,
    expected level)."""

    n: int
    accuracy: float
    accuracy_ci: list[float]
    chance: float
    chance_corrected: float
    chance_corrected_ci: list[float]
    mean_p_assigned: float
    mean_option_mass: float
    position_bias: float
    verdict: str
    spearman_t_vs_expected: EstimateRecord | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class LexiconAgreement:
    """One Big Five domain read from the text with the Goldberg lexicon: coverage,
    Spearman(assigned T, lexicon score) and sign agreement (Wilson interval)."""

    n: int
    coverage: float | None
    spearman: EstimateRecord
    sign_agreement: float | None
    sign_agreement_ci: list[float] | None
    n_signed: int


@dataclass
class OverallFidelity(EstimateRecord):
    """Mean chance-corrected accuracy over attributes with its bootstrap interval; with
    the personas and attributes it covers, or a ``note`` when nothing was scored."""

    note: str | None = field(default=None, metadata=OMIT_IF_NONE)
    n_personas: int | None = field(default=None, metadata=OMIT_IF_NONE)
    n_attributes: int | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Fidelity:
    """Attributes scored back from the text (:func:`personascope.personas.pipeline.
    score_fidelity`): the judge, counts, per-attribute agreement, the overall score and
    per Big Five domain the lexicon agreement (empty without assigned Big Five)."""

    judge: Judge
    n_personas: int
    n_judgements: int
    attributes: dict[str, AttributeAgreement]
    overall: OverallFidelity
    lexicon: dict[str, LexiconAgreement]


@dataclass
class Panel:
    """The diversity panel of one population (:func:`personascope.metrics.panel.
    text_panel`).

    ``settings`` (the panel's settings record) and ``metrics`` (per metric an estimate
    with its direction, a group of them, or a distribution) are heterogeneous JSON owned
    by :mod:`personascope.metrics.panel`, kept as they are. ``truncated_to_words``, stored
    first, is the word count every text was cut to where the caller cut them before the
    panel (the lab's checkpoints); absent from the JSON otherwise."""

    truncated_to_words: int | None = field(default=None, kw_only=True, metadata=OMIT_IF_NONE)
    n: int
    mean_length_words: float
    settings: dict[str, Any]
    embedder: str | None
    metrics: dict[str, Any]
    timings_s: dict[str, float]


@dataclass
class Diversity:
    """A strategy's diversity at matched n and length: the headline metric's panel entry
    and the whole panel.

    ``headline`` is the panel entry of the metric the settings name: an estimate with its
    direction for the usual metrics, but any panel entry (e.g. a distribution) can be
    named, so it stays that entry's JSON."""

    headline: dict[str, Any] | None
    panel: Panel


@dataclass
class WallTime:
    """Seconds spent generating and in all (generation, deduplication, fidelity)."""

    generate: float
    total: float


@dataclass
class StrategyRow:
    """One generation strategy at the common token budget: the population it generated
    (units, tokens, parse failures), unique personas after deduplication, fidelity,
    name shares, wall time, and the diversity at matched n and length (``None`` when it
    had too few unique personas).

    ``strategy_diagnostics`` is what the strategy reports about its own set-up (its own
    keys per strategy, e.g. IPF convergence) and ``samplers`` the distinct sampler
    records of the personas' provenance (free-form mappings): both kept as JSON."""

    strategy: str
    n_personas: int
    units: int
    generated_tokens: int
    token_budget: int | None
    failures: dict[str, int]
    n_unique: int
    dedup: Dedup
    fidelity_basis: str
    strategy_diagnostics: dict[str, Any]
    templates: list[str]
    samplers: list[dict[str, Any]]
    fidelity: Fidelity
    named_share: float | None
    distinct_name_share: float | None
    wall_s: WallTime
    diversity: Diversity | None = None


@dataclass
class ScaffoldTable:
    """The model (and judge) the strategies ran on, the budget, seed, diversity metric
    and matching, and one row per strategy (by name)."""

    model_id: str
    model_key: str
    kind: str
    judge: str
    token_budget: int
    budget_counts: str
    seed: int
    diversity_metric: str
    matching: Matching
    rows: dict[str, StrategyRow]


@dataclass
class ParetoPoint:
    """One strategy on the diversity-fidelity plane (``None`` where not measured), with
    the intervals as ``[low, high]`` and whether it lies on the Pareto front."""

    strategy: str
    diversity: float | None
    diversity_ci: list[float | None]
    fidelity: float | None
    fidelity_ci: list[float | None]
    fidelity_basis: str
    n: int
    on_front: bool


@dataclass
class Pareto:
    """The axes' descriptions and every strategy's point."""

    x: str
    y: str
    points: list[ParetoPoint]


@dataclass
class ScaffoldFindings(Findings):
    """One row per generation strategy (diversity, fidelity, cost) on one model, and the
    diversity-fidelity Pareto front."""

    study: ClassVar[str] = "scaffold"
    table: ScaffoldTable
    pareto: Pareto

    def per_model(self) -> Mapping[str, Any]:
        """The one model the strategies ran on, with the strategies' rows."""
        return {self.table.model_id: {"rows": to_json(self.table.rows)}}
