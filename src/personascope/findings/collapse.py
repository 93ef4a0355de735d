"""Findings of the collapse study (:mod:`personascope.studies.collapse`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import OMIT_IF_NONE, DetailedRecord, Findings, to_json
from personascope.findings.scaffold import Panel
from personascope.findings.stability import DomainValidity, Sampler, Validity
from personascope.metrics.estimate import Estimate


@dataclass
class TopValue:
    """A frequent value with its count and share
    (:func:`personascope.metrics.attributes.top_values`)."""

    value: str
    count: int
    share: float


@dataclass
class MajorGroupTop(TopValue):
    """A frequent SOC major group (its code as ``value``) with its title."""

    title: str


@dataclass
class Readable:
    """How many stated values could be read onto the vocabulary: stated, unreadable and
    their share, the most frequent unreadable and stated values; for occupations the
    number that are no job (``not_employed``; absent from the JSON otherwise)."""

    stated: int
    unreadable: int
    unreadable_share: float | None
    unreadable_top: list[TopValue]
    raw_top: list[TopValue]
    not_employed: int | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class ReferenceShares:
    """The reference population's share of each value, and its source."""

    shares: dict[str, float]
    source: str


@dataclass
class Categorical:
    """A categorical attribute (:func:`personascope.studies.collapse_measures.
    categorical_summary`): whether enough personas stated it, how many did, and either
    the ``reason`` it was not measured or its distinct share, entropy, top and repeat
    shares and most frequent values. Keys a summary does not have are absent from the
    JSON."""

    measured: bool
    n: int
    reason: str | None = field(default=None, metadata=OMIT_IF_NONE)
    distinct_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    entropy_bits: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    top_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    repeat_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    top: list[TopValue] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Names(Categorical):
    """First names, with their reach against the reference and its source where measured."""

    reach: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Genders(Categorical):
    """Genders read onto the vocabulary, how many were readable, and where measured the
    reach (entropy ratio) against the reference sexes."""

    raw: Readable = field(kw_only=True)
    reach: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: ReferenceShares | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class MajorGroups:
    """The occupations mapped onto SOC major groups: how many, and the most frequent."""

    n: int
    top: list[MajorGroupTop]


@dataclass
class Occupations(Categorical):
    """Occupations as written, how many were readable, their SOC major groups and either
    the groups' reach against US employment or the ``reach_reason`` it was not
    measured."""

    raw: Readable = field(kw_only=True)
    major_groups: MajorGroups = field(kw_only=True)
    reach: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: ReferenceShares | None = field(default=None, metadata=OMIT_IF_NONE)
    reach_reason: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class Adjectives(Categorical):
    """Personality adjectives pooled over personas, how many personas gave any, and the
    share of trait markers at the desirable pole (``None`` without markers)."""

    personas_with_adjectives: int = field(kw_only=True)
    n_markers: int = field(kw_only=True)
    desirable_share: float | None = field(kw_only=True)


@dataclass
class AgeReference:
    """Mean and SD of the reference adults' ages, and their source."""

    mean: float
    sd: float
    source: str


@dataclass
class AgeDensity:
    """The reference age density in 5-year bins (bin centres and densities)."""

    age: list[float]
    density: list[float]


@dataclass
class Ages:
    """Stated plausible ages: either the ``reason`` they were not measured, or the
    values, their mean, SD, SD ratio and reach against the reference adults, the
    reference and its binned density."""

    measured: bool
    n: int
    reason: str | None = field(default=None, metadata=OMIT_IF_NONE)
    values: list[int] | None = field(default=None, metadata=OMIT_IF_NONE)
    mean: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    sd: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    sd_ratio: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reach: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    reference: AgeReference | None = field(default=None, metadata=OMIT_IF_NONE)
    reference_density: AgeDensity | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class FinishReasons:
    """How many sampled personas stopped by themselves and how many ran out of tokens."""

    stop: int
    length: int


@dataclass
class Generation:
    """The sampled personas: how many, mean tokens, how they finished, and the mean
    per-token entropy and log-probability where at least two were finite."""

    n: int
    mean_tokens: float
    finish_reasons: FinishReasons
    token_entropy: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    token_logprob: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class SelfReportValidity(Validity):
    """The self-report's validity (:class:`Validity`), or only a verdict and summary
    when it was not measured (no ``domains`` in the JSON)."""

    domains: dict[str, DomainValidity] | None = field(  # type: ignore[assignment]
        default=None, metadata=OMIT_IF_NONE
    )


@dataclass
class TraitReach(DetailedRecord):
    """Trait reach with its jackknife interval and how to read it."""

    direction: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class CoverageBaseline:
    """The trait-space coverage of n people drawn from the reference
    (:meth:`personascope.metrics.trait_reach.CoverageBaseline.summary`): its mean and
    95% range over draws, the draws, population and reference size, and the coverage of
    the generated personas with its ratio to the mean."""

    n: int
    mean: float
    range_95: list[float]
    draws: int
    population: str
    reference_n: int
    coverage: float | None = field(default=None, metadata=OMIT_IF_NONE)
    ratio: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class SelfReport:
    """The inventory given with the first ``n`` personas: validity, SD of the T-scores
    and SD ratio to humans per domain (``None`` under two personas), whether the traits
    entered the index, and the trait reach and same-n human coverage where measured."""

    inventory: str
    n: int
    validity: SelfReportValidity
    t_scores_sd: list[float | None] | None
    sd_ratio_to_humans: list[float | None] | None
    used_in_index: bool
    trait_reach: TraitReach | None = field(default=None, metadata=OMIT_IF_NONE)
    coverage_baseline: CoverageBaseline | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class TextTraitDomain:
    """A text-based trait measure in one domain: how many personas, mean and SD, and its
    validity (the evidence share of the lexicon or the pole accuracy of the anchors)."""

    n: int
    mean: float | None
    sd: float | None
    evidence_share: float | None = field(default=None, metadata=OMIT_IF_NONE)
    pole_accuracy: float | None = field(default=None, metadata=OMIT_IF_NONE)
    verdict: str = field(kw_only=True)
    reason: str = field(kw_only=True)


@dataclass
class TextTraits:
    """A text-based trait measure and its spread per domain."""

    method: str
    domains: dict[str, TextTraitDomain]


@dataclass
class CollapseIndex:
    """The collapse index with its jackknife interval and the reach of each attribute,
    or the ``reason`` it was not measured."""

    measured: bool
    reason: str | None = field(default=None, metadata=OMIT_IF_NONE)
    index: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    components: dict[str, float] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class ModelCollapse:
    """One model's personas: kind, key, count and parse failures, the attribute
    summaries, the generation, the text panel, the self-report, the text-based traits
    and the collapse index."""

    kind: str
    model_key: str
    n: int
    parse_failures: dict[str, int]
    names: Names
    ages: Ages
    genders: Genders
    occupations: Occupations
    adjectives: Adjectives
    generation: Generation
    text: Panel
    self_report: SelfReport
    lexicon_traits: TextTraits
    anchor_traits: TextTraits
    collapse: CollapseIndex


@dataclass
class Matching:
    """How the models' texts were matched
    (:func:`personascope.metrics.matching.match_populations`)."""

    n: int
    from_n: list[int]
    truncated_to_words: int
    seed: int
    how: str


@dataclass
class MatchedText:
    """The models' text panels at matched n and length, or the ``reason`` they were not
    compared (one model)."""

    compared: bool
    reason: str | None = field(default=None, metadata=OMIT_IF_NONE)
    matching: Matching | None = field(default=None, metadata=OMIT_IF_NONE)
    panels: dict[str, Panel] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class HumanReference:
    """The human norms' source and size, and T-scores of people drawn from them."""

    source: str
    n: int
    t_scores: list[list[float | None]]


@dataclass
class PersonaPoints:
    """One model's personas for the figures: texts, parsed fields, self-report T-scores
    and the lexicon and anchor trait scores (one row per persona, ``None`` where not
    measured). ``fields`` are :meth:`personascope.personas.fields.ParsedFields.as_dict`
    records, kept as JSON."""

    texts: list[str]
    fields: list[dict[str, Any]]
    self_report_t: list[list[float | None]]
    lexicon: list[list[float | None]]
    anchor: list[list[float | None]]


@dataclass
class Provenance:
    """Where the personas came from: how many per model, the seeds, sampler, which
    personas took the self-report, the prompt templates and self-report prompt of each
    model, and each model's key."""

    personas_per_model: int
    seeds: list[int]
    sampler: Sampler
    self_report_personas: str
    want_entropy: bool
    templates: dict[str, str]
    self_report: dict[str, str]
    models: dict[str, str]


@dataclass
class CollapseFindings(Findings):
    """Per model the attribute summaries (names, ages, genders, occupations, adjectives),
    the text panel, trait measurements and the collapse index; the matched comparison of
    the models' texts; the human reference; the personas and their points (for figures);
    the provenance of the generations."""

    study: ClassVar[str] = "collapse"
    n_requested: int
    domains: list[str]
    models: dict[str, ModelCollapse]
    matched_text: MatchedText
    human_reference: HumanReference
    personas: dict[str, PersonaPoints] = field(default_factory=dict)
    provenance: Provenance | None = field(default=None, metadata=OMIT_IF_NONE)

    def headline(self) -> dict[str, Any]:
        """Per model: the collapse index (when measured), age SD, name repeat share and
        the self-report's validity verdict."""
        return {
            model_id: {
                "collapse_index": to_json(m.collapse.index),
                "age_sd": to_json(m.ages.sd),
                "name_repeat_share": to_json(m.names.repeat_share),
                "self_report_validity": m.self_report.validity.verdict,
            }
            for model_id, m in self.models.items()
        }
