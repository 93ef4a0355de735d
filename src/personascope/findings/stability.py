"""Findings of the stability study (:mod:`personascope.studies.stability`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import OMIT_IF_NONE, Findings
from personascope.metrics.estimate import Estimate


@dataclass
class PersonaEntry:
    """One persona of the design: its id and description."""

    id: str
    description: str


@dataclass
class Personas:
    """Where the personas came from (a file or the default set) and the personas used."""

    source: str
    items: list[PersonaEntry]


@dataclass
class TemplateText:
    """A prompt template and its id."""

    id: str
    text: str


@dataclass
class Templates:
    """The paraphrases of the persona prompt, the self-description question and the
    frame of base models."""

    paraphrases: list[TemplateText]
    self_description: str
    base_frame: TemplateText


@dataclass
class Sizes:
    """The design's facets as run on one model."""

    personas: int
    paraphrases: int
    seeds: int
    items: int


@dataclass
class Requests:
    """How many requests each measurement made."""

    self_descriptions: int
    inventory: int


@dataclass
class Sampler:
    """The sampler of the self-descriptions (the fields of the model layer's sampler)."""

    temperature: float
    top_p: float
    top_k: int
    min_p: float
    max_tokens: int
    stop: list[str]


@dataclass
class Seeds:
    """The seed rule and the first and last seed it gave."""

    rule: str
    first: int
    last: int


@dataclass
class AnovaTerm:
    """One line of the ANOVA table (:meth:`personascope.metrics.variance.Anova.table`);
    a sum that is not finite is ``None``."""

    term: str
    ss: float | None
    df: int
    ms: float | None
    eff_df: float | None


@dataclass
class Component:
    """One variance component: its estimate, raw (unclipped) ANOVA value, share of the
    total, and whether it was computed exactly rather than estimated."""

    estimate: Estimate
    raw: float | None
    share: Estimate
    known: bool


@dataclass
class Projection:
    """The embeddings on their first two principal axes, ``points[persona][paraphrase]
    [seed] = [x, y]``."""

    method: str
    points: list[list[list[list[float]]]]


@dataclass
class FreeText:
    """The decomposition of the self-descriptions' embeddings: ANOVA table, effective
    dimensions per term, components (by name), persona share, signal-to-noise and noise
    ratios, ICC(1) and ICC(1,k) over personas, the headline sentence, the projection for
    the figure and the first self-description of each persona."""

    measurement: str
    variance: str
    anova: list[AnovaTerm]
    effective_dims: dict[str, float | None]
    components: dict[str, Component]
    persona_share: Estimate
    snr: Estimate
    noise_ratio: Estimate
    icc1: Estimate
    icc1k: Estimate
    runs_per_persona: int
    headline: str
    projection: Projection
    examples: list[str]


@dataclass
class DomainValidity:
    """The validity diagnostics of one domain
    (:class:`personascope.instruments.validity.DomainValidity`)."""

    domain: str
    verdict: str
    reasons: list[str]
    option_mass: float | None
    item_spread: float | None
    item_spread_ratio: float | None
    acquiescence: float | None
    reverse_key_r: float | None
    persona_sd: float | None
    persona_sd_ratio: float | None
    alpha: float | None
    omega: float | None
    reference: str
    n_personas: int


@dataclass
class Validity:
    """The worst verdict, its summary and the diagnostics of every domain."""

    verdict: str
    summary: str
    domains: dict[str, DomainValidity]


@dataclass
class Domain:
    """One inventory domain: its validity verdict and reasons, then either why it was
    ``skipped`` (fewer than two items with an answer for every prompt) or the
    decomposition of its keyed item scores (the fields from ``n_items`` to
    ``items_dropped``); ``interpretation`` when the verdict withholds the persona share.
    Keys a domain does not have are absent from the JSON."""

    verdict: str
    reasons: list[str]
    skipped: str | None = field(default=None, metadata=OMIT_IF_NONE)
    n_items: int | None = field(default=None, metadata=OMIT_IF_NONE)
    anova: list[AnovaTerm] | None = field(default=None, metadata=OMIT_IF_NONE)
    components: dict[str, Component] | None = field(default=None, metadata=OMIT_IF_NONE)
    item_level_persona_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    persona_share: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    snr: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    noise_ratio: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    icc1: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    icc1k: Estimate | None = field(default=None, metadata=OMIT_IF_NONE)
    headline: str | None = field(default=None, metadata=OMIT_IF_NONE)
    scores: list[list[float | None]] | None = field(default=None, metadata=OMIT_IF_NONE)
    items_dropped: int | None = field(default=None, metadata=OMIT_IF_NONE)
    interpretation: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class InventoryAnswers:
    """The inventory measurement: what was measured, the administration's provenance,
    answer mode, how the seed facet was handled, the validity diagnostics and each
    domain's decomposition.

    ``provenance`` is the administration's own record
    (:meth:`personascope.instruments.administration.Administration.provenance`: model,
    inventory, condition and prompt template, with mixed value types), kept as its JSON.
    """

    measurement: str
    provenance: dict[str, Any]
    mode: str
    seed_facet: str
    validity: Validity
    domains: dict[str, Domain]


@dataclass
class ModelStability:
    """One model's results: provenance (key, kind, sizes, request counts, template,
    sampler, seeds), the self-description (``free_text``) and inventory decompositions,
    and the wall time."""

    model_key: str
    kind: str
    sizes: Sizes
    requests: Requests
    self_description_template: str
    sampler: Sampler
    seeds: Seeds
    free_text: FreeText
    inventory: InventoryAnswers
    elapsed_s: float


@dataclass
class StabilityFindings(Findings):
    """The design, personas and templates, and per model the variance decomposition of
    the self-descriptions (``free_text``) and of the inventory answers (``inventory``).

    ``design`` is the study's settings as run, plus the seed: it mirrors
    :class:`personascope.studies.stability.Settings` (which this package may not
    import), so it stays the settings' JSON."""

    study: ClassVar[str] = "stability"
    design: dict[str, Any]
    personas: Personas
    templates: Templates
    embedder: str
    interval_method: str
    models: dict[str, ModelStability] = field(default_factory=dict)
