"""Findings of the adoption study (:mod:`personascope.studies.adoption`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from personascope.findings import OMIT_IF_NONE, EstimateRecord, Findings
from personascope.findings.stability import DomainValidity, Validity


@dataclass
class InventoryRecord:
    """Which inventory was administered
    (:meth:`personascope.instruments.inventory.Inventory.provenance`)."""

    inventory: str
    name: str
    n_items: int
    content_hash: str
    citation: str


@dataclass
class Markers:
    """The trait-adjective markers that describe the personas."""

    id: str
    content_hash: str
    citation: str


@dataclass
class TargetPersona:
    """One persona of the design: its group (``default``, ``combo`` or ``ladder``), the
    marker level of each domain it sets, the target score on the answer scale that
    level gives, and its text (``None`` for the default profile)."""

    group: str
    levels: dict[str, int]
    targets: dict[str, float]
    text: str | None


@dataclass
class Bootstrap:
    """The bootstrap of every interval: replicates, seed and the unit resampled."""

    n_boot: int
    seed: int
    unit: str


@dataclass
class AdministrationRecord:
    """Where one wording's answers came from
    (:meth:`personascope.instruments.administration.Administration.provenance`): the
    model, the inventory, the condition (its settings record, kept as JSON) and its
    label, the prompt template and the number of personas."""

    model_id: str
    model_key: str
    model_kind: str
    inventory: str
    name: str
    n_items: int
    content_hash: str
    citation: str
    condition: dict[str, Any]
    condition_label: str
    prompt_template: str
    n_personas: int


@dataclass
class Letter:
    """One letter of a derived type and how clearly the score lies on its side."""

    letter: str
    clarity: float


@dataclass
class DerivedType:
    """The derived four-letter type of a profile
    (:func:`personascope.instruments.derived.derived_type`): the type (``None`` without
    scores for its letters), each letter with its clarity, the split and the label."""

    type: str | None
    letters: dict[str, Letter]
    split: str | None
    label: str


@dataclass
class DefaultProfile:
    """The scores of the default profile (no persona) and their validity verdict; when
    the verdict is invalid an ``interpretation`` saying why nothing is derived, else the
    T-scores and percentiles (where the inventory has norms) and the derived type."""

    scores: dict[str, float]
    verdict: str
    verdict_summary: str
    interpretation: str | None = field(default=None, metadata=OMIT_IF_NONE)
    t_scores: dict[str, float] | None = field(default=None, metadata=OMIT_IF_NONE)
    percentiles: dict[str, float] | None = field(default=None, metadata=OMIT_IF_NONE)
    derived_type: DerivedType | None = None


@dataclass
class DomainAgreement:
    """Target vs measured in one domain over the personas that set it: Spearman
    correlation, slope, hit rate and discrimination with bootstrap intervals, and the
    domain's validity diagnostics."""

    n_personas: int
    spearman: EstimateRecord
    slope: EstimateRecord
    hit_rate: EstimateRecord
    discrimination: EstimateRecord
    validity: DomainValidity


@dataclass
class DefaultPull:
    """Whether each domain's slope interval lies below 1 (``None`` without an interval)
    and, where there were personas to compute it on, the movement ratio (how far the
    personas move from the default profile relative to their targets), its basis and
    the mean distances of the measured and target profiles to the default."""

    slope_below_1: dict[str, bool | None]
    movement_basis: str | None = field(default=None, metadata=OMIT_IF_NONE)
    movement_ratio: EstimateRecord | None = field(default=None, metadata=OMIT_IF_NONE)
    mean_distance_to_default: float | None = field(default=None, metadata=OMIT_IF_NONE)
    mean_target_distance_to_default: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class ConditionFindings:
    """One wording: the administration's provenance, validity, the default profile, the
    agreement per domain, the default pull and every persona's domain scores."""

    provenance: AdministrationRecord
    validity: Validity
    default_profile: DefaultProfile
    domains: dict[str, DomainAgreement]
    default_pull: DefaultPull
    scores: dict[str, dict[str, float]]


@dataclass
class ReversedOptions:
    """The default profile with the answer options reversed: its shift per domain, the
    condition's settings record and the control run's validity summary."""

    default_profile_shift: dict[str, float]
    condition: dict[str, Any]
    validity: str


@dataclass
class InlinePlacement:
    """The default and ladder-extreme personas given inline in the user message: the
    condition's settings record, agreement per domain and default pull."""

    condition: dict[str, Any]
    domains: dict[str, DomainAgreement]
    default_pull: DefaultPull


@dataclass
class ItemOrder:
    """The default profile with every statement listed in the prompt in a drawn order:
    what the shift is, the order seeds and per seed the shift per domain."""

    definition: str
    order_seeds: list[int]
    shift: dict[str, dict[str, float]]


@dataclass
class Controls:
    """The order and placement controls: reversed options for every wording, and the
    inline placement and item order controls where the design ran them."""

    reversed_options: dict[str, ReversedOptions]
    inline_placement: InlinePlacement | None = field(default=None, metadata=OMIT_IF_NONE)
    item_order: ItemOrder | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass
class ModelAdoption:
    """One model's results: its key and kind, the findings of each wording (in the
    design's order; every persona is given the first), the controls, each wording's
    validity summary and the wall time."""

    model_key: str
    kind: str
    conditions: dict[str, ConditionFindings]
    controls: Controls
    verdicts: dict[str, str]
    elapsed_s: float


@dataclass
class AdoptionFindings(Findings):
    """The design, the inventory administered, the personas with their targets, and per
    model the agreement of measured with target scores in each wording condition, the
    controls (order, no persona) and the validity verdicts.

    ``design`` is the study's settings as run: it mirrors
    :class:`personascope.studies.adoption.Settings` (which this package may not import),
    so it stays the settings' JSON."""

    study: ClassVar[str] = "adoption"
    design: dict[str, Any]
    inventory: InventoryRecord
    markers: Markers
    persona_instruction: str
    personas: dict[str, TargetPersona]
    bootstrap: Bootstrap
    models: dict[str, ModelAdoption] = field(default_factory=dict)
