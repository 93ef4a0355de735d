"""Adoption study: does a model take the personality it is asked for, or stay at its default?

For each model, a Big-Five inventory (default: Mini-IPIP) is given to:

* the **default** profile: no persona at all;
* **32 high/low profiles**: every combination of low/high on the five domains, each
  domain described by trait-adjective markers at level 2 ("very ...") or 8;
* a **ladder** of 5 domains x 9 levels (Serapio-García et al. 2023): one domain set to
  level 1-9 with its markers, the others left unspecified;

all of them under the first prompt wording, and under each further wording the
``secondary`` set: all of them, the default plus the ladder's extremes (the full
design; it keeps the audit within its time budget), or the default alone (quick).

A level's target on the 1-5 answer scale is ``1 + (level - 1) / 2``. Per model, wording
and domain the study reports target vs measured (Spearman correlation, slope of
measured on target, hit rate, high/low discrimination), the default pull (slope below
1; how far the 32 profiles move from the default profile relative to their targets),
bootstrap confidence intervals over personas (the independent units), and the
validity diagnostics of :mod:`personascope.instruments.validity`. The default profile
gets T-scores, percentiles and a derived type only when its verdict is not invalid.

Controls: reversed option order (default profile, every wording), and in the full
design the persona inline instead of as system message (chat models; default and
ladder extremes) and two item orders in a listed-questionnaire context (default).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from personascope.errors import PersonascopeError
from personascope.findings.adoption import AdoptionFindings
from personascope.instruments.administration import Administration, Condition, administer
from personascope.instruments.agreement import (
    discrimination,
    hit_rate,
    movement_ratio,
    slope,
    spearman,
)
from personascope.instruments.bootstrap import bootstrap_ci
from personascope.instruments.derived import derived_type
from personascope.instruments.inventory import Inventory, item_subset, load_inventory
from personascope.instruments.markers import describe, load_markers, target_score
from personascope.instruments.norms import norms_for
from personascope.instruments.validity import Validity, diagnose
from personascope.metrics.estimate import estimate_dict, jsonable
from personascope.models.base import ModelKind
from personascope.models.catalog import ModelSpec
from personascope.studies.base import Study, StudyContext

PERSONA_INSTRUCTION = "For the following task, respond in a way that matches this description: "
DOMAIN_ORDER = ("O", "C", "E", "A", "N")


@dataclass(frozen=True)
class Settings:
    """What the study administers; an ``adoption`` section of ``audit.yaml`` (or
    ``ctx.config["adoption"]``) may override any field.

    The default fits the audit's time budget on a laptop CPU: the whole inventory, a
    ladder of three levels per domain, no 32 high/low combinations and no placement
    control (``combos: true``, ``ladder_levels: [1, ..., 9]``, ``placement_control: true``
    give the complete design). Quick mode also cuts the inventory to the first two items
    of each domain (one keyed each way in Mini-IPIP), which weakens the item-level
    validity checks: a smoke run, not a measurement to report.
    """

    inventory: str = "mini_ipip"
    items_per_domain: int | None = None  # None: every item; else the first k of each domain
    wordings: tuple[str, ...] = ("accuracy", "agreement", "likeness")
    combo_levels: tuple[int, int] = (2, 8)
    combos: bool = False  # the 32 high/low profiles
    ladder_levels: tuple[int, ...] = (1, 5, 9)
    n_markers: int = 3
    # personas under the 2nd.. wordings
    secondary: Literal["all", "extremes", "default"] = "default"
    placement_control: bool = False
    order_seeds: tuple[int, ...] = (1,)
    n_boot: int = 1000


QUICK = Settings(
    items_per_domain=2,
    wordings=("accuracy",),
    ladder_levels=(1, 9),
    n_markers=2,
    order_seeds=(),
    n_boot=300,
)
FULL = Settings()


@dataclass(frozen=True)
class Unit:
    """One persona of the design (the default profile has no text)."""

    name: str
    group: str  # "default" | "combo" | "ladder"
    levels: dict[str, int]
    text: str | None


def persona_units(design: Settings, domains: tuple[str, ...]) -> list[Unit]:
    """The default profile, the high/low combinations, then the ladder."""
    units = [Unit("default", "default", {}, None)]
    low, high = design.combo_levels
    if design.combos:
        for signs in itertools.product((high, low), repeat=len(domains)):
            levels = dict(zip(domains, signs))
            name = "".join(f"{'+' if lv == high else '-'}{d}" for d, lv in levels.items())
            units.append(Unit(name, "combo", levels, None))
    for d in domains:
        for level in design.ladder_levels:
            units.append(Unit(f"{d}{level}", "ladder", {d: level}, None))
    return [
        u
        if u.group == "default"
        else replace(u, text=PERSONA_INSTRUCTION + describe(u.levels, design.n_markers))
        for u in units
    ]


def select(units: list[Unit], design: Settings, which: str) -> list[Unit]:
    """``all`` units, the default plus the ladder's ``extremes``, or the ``default`` alone."""
    if which == "all":
        return units
    ends = {min(design.ladder_levels, default=0), max(design.ladder_levels, default=0)}
    return [
        u
        for u in units
        if u.group == "default"
        or (which == "extremes" and u.group == "ladder" and set(u.levels.values()) <= ends)
    ]


def targets(units: list[Unit], domains: tuple[str, ...], points: int) -> np.ndarray:
    """(units, domains) target scores on the answer scale; NaN where none is set."""
    out = np.full((len(units), len(domains)), np.nan)
    for u, unit in enumerate(units):
        for j, d in enumerate(domains):
            if d in unit.levels:
                out[u, j] = target_score(unit.levels[d], points)
    return out


def _bootstrapped(value: float, interval: tuple[float, float], n: int, n_boot: int) -> dict:
    """The stored estimate of a statistic over ``n`` personas with its bootstrap interval."""
    return estimate_dict(value, interval, n, f"percentile bootstrap over personas ({n_boot})")


def domain_agreement(
    target: np.ndarray, measured: np.ndarray, midpoint: float, n_boot: int, seed: int
) -> dict[str, Any]:
    """Target-vs-measured statistics of one domain with bootstrap CIs over personas."""
    keep = np.isfinite(target) & np.isfinite(measured)
    t, m = target[keep], measured[keep]
    out: dict[str, Any] = {"n_personas": int(keep.sum())}
    for name, fn in (
        ("spearman", lambda a, b: spearman(a, b)),
        ("slope", lambda a, b: slope(a, b)),
        ("hit_rate", lambda a, b: hit_rate(a, b, midpoint)),
        ("discrimination", lambda a, b: discrimination(a, b, midpoint)),
    ):
        out[name] = _bootstrapped(
            fn(t, m),
            bootstrap_ci(lambda idx, fn=fn: fn(t[idx], m[idx]), t.size, n_boot, seed),
            int(t.size),
            n_boot,
        )
    return out


def profile_report(
    adm: Administration, index: int, validity: Validity, inventory: Inventory
) -> dict[str, Any]:
    """Scores of one persona with norms and derived type, withheld when invalid."""
    scores = adm.scores.domain_dict(index)
    norms = norms_for(inventory)
    report: dict[str, Any] = {
        "scores": {d: round(v, 4) for d, v in scores.items()},
        "verdict": validity.verdict,
        "verdict_summary": validity.summary,
    }
    if validity.verdict == "invalid":
        report["interpretation"] = (
            "withheld: the self-report is invalid for this model and condition, so these "
            "numbers are answer habits, not a personality"
        )
        report["derived_type"] = None
        return report
    if norms is not None:
        row = np.array([scores[d] for d in norms.domains])
        report["t_scores"] = dict(zip(norms.domains, np.round(norms.t_scores(row), 2).tolist()))
        report["percentiles"] = dict(
            zip(norms.domains, np.round(norms.percentiles(row), 1).tolist())
        )
    report["derived_type"] = derived_type(scores, norms, inventory.points)
    return report


def movement_inputs(
    units: list[Unit], domains: tuple[str, ...], target: np.ndarray, measured: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """Targets, measured profiles and the default profile (one row per persona) on which
    the movement ratio is computed: the 32 high/low profiles over all domains when they
    were given, else each ladder persona in its own domain; None without either."""
    combo = np.array([u.group == "combo" for u in units])
    if combo.any():
        default = np.broadcast_to(measured[0], measured[combo].shape)
        return target[combo], measured[combo], default, "high/low profiles, all domains"
    rows = [k for k, u in enumerate(units) if u.group == "ladder" and len(u.levels) == 1]
    if not rows:
        return None
    cols = [domains.index(next(iter(units[k].levels))) for k in rows]
    t = target[rows, cols][:, None]
    m = measured[rows, cols][:, None]
    default = measured[0, cols][:, None]
    return t, m, default, "ladder personas, each in its own domain"


def analyse_condition(
    adm: Administration, units: list[Unit], design: Settings, seed: int
) -> dict[str, Any]:
    """Findings of one wording: default profile, agreement per domain, default pull.

    ``units[0]`` must be the default profile (no persona).
    """
    inv = adm.inventory
    validity = diagnose(adm)
    target = targets(units, inv.domains, inv.points)
    measured = adm.scores.domain
    midpoint = (inv.points + 1) / 2
    per_domain = {}
    for j, d in enumerate(inv.domains):
        row = domain_agreement(target[:, j], measured[:, j], midpoint, design.n_boot, seed)
        row["validity"] = validity.domains[d].to_dict()
        per_domain[d] = row
    pull: dict[str, Any] = {"slope_below_1": {}}
    for d in inv.domains:
        s = per_domain[d]["slope"]
        pull["slope_below_1"][d] = None if s["high"] is None else s["high"] < 1
    moved = movement_inputs(units, inv.domains, target, measured)
    if moved is not None:
        t, m, default, basis = moved
        pull["movement_basis"] = basis
        pull["movement_ratio"] = _bootstrapped(
            movement_ratio(t, m, default),
            bootstrap_ci(
                lambda idx: movement_ratio(t[idx], m[idx], default[idx]),
                len(t),
                design.n_boot,
                seed,
            ),
            len(t),
            design.n_boot,
        )
        pull["mean_distance_to_default"] = round(
            float(np.linalg.norm(m - default, axis=1).mean()), 4
        )
        pull["mean_target_distance_to_default"] = round(
            float(np.linalg.norm(t - default, axis=1).mean()), 4
        )
    return {
        "provenance": adm.provenance(),
        "validity": validity.to_dict(),
        "default_profile": profile_report(adm, 0, validity, inv),
        "domains": per_domain,
        "default_pull": pull,
        "scores": {u.name: adm.scores.domain_dict(k) for k, u in enumerate(units)},
    }


def _shift(a: Administration, b: Administration) -> dict[str, float]:
    """Per-domain difference of the first persona's scores, b - a."""
    return {
        d: round(float(b.scores.domain[0, j] - a.scores.domain[0, j]), 4)
        for j, d in enumerate(a.inventory.domains)
    }


def run_controls(
    ctx: StudyContext,
    spec: ModelSpec,
    kind: ModelKind,
    inv: Inventory,
    units: list[Unit],
    design: Settings,
    primary: dict[str, tuple[Administration, list[Unit]]],
) -> dict[str, Any]:
    """Reversed options, inline placement and item order, against the primary runs."""
    controls: dict[str, Any] = {"reversed_options": {}}
    for wording, (adm, _) in primary.items():
        flipped = administer(
            ctx.runner, spec, [None], inv, Condition(wording, reverse_options=True), kind
        )
        controls["reversed_options"][wording] = {
            "default_profile_shift": _shift(adm, flipped),
            "condition": flipped.condition.record(kind),
            "validity": diagnose(flipped).summary,
        }
    first = design.wordings[0]
    # the default profile has no persona to place: it is shared (and cached) with the primary
    subset = select(units, design, "extremes")
    if design.placement_control and kind == "chat" and len(subset) > 1:
        inline = administer(
            ctx.runner,
            spec,
            [u.text for u in subset],
            inv,
            Condition(first, placement="inline"),
            kind,
        )
        analysis = analyse_condition(
            inline, subset, replace(design, n_boot=min(design.n_boot, 300)), ctx.seed
        )
        controls["inline_placement"] = {
            "condition": inline.condition.record(kind),
            "domains": analysis["domains"],
            "default_pull": analysis["default_pull"],
        }
    if design.order_seeds:
        listed = [
            administer(
                ctx.runner,
                spec,
                [None],
                inv,
                Condition(first, context="listed", order_seed=s),
                kind,
            )
            for s in design.order_seeds
        ]
        controls["item_order"] = {
            "definition": "default profile with every statement listed in the prompt, in the "
            "order drawn from each seed; shift = scores under that order minus scores "
            "without the list",
            "order_seeds": list(design.order_seeds),
            "shift": {
                str(s): _shift(primary[first][0], adm) for s, adm in zip(design.order_seeds, listed)
            },
        }
    return controls


class AdoptionStudy(Study[Settings, AdoptionFindings]):
    name = "adoption"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        if settings.items_per_domain is not None and settings.items_per_domain < 2:
            raise PersonascopeError(
                f"adoption setting items_per_domain must be >= 2, got {settings.items_per_domain}"
            )

    def run(self, ctx: StudyContext, settings: Settings) -> AdoptionFindings:
        design = settings
        inv = item_subset(load_inventory(design.inventory), design.items_per_domain)
        domains = tuple(d for d in DOMAIN_ORDER if d in inv.domains) or inv.domains
        units = persona_units(design, domains)
        findings: dict[str, Any] = {
            "design": asdict(design),
            "inventory": inv.provenance(),
            "markers": {
                "id": load_markers().id,
                "content_hash": load_markers().content_hash,
                "citation": load_markers().citation,
            },
            "persona_instruction": PERSONA_INSTRUCTION,
            "personas": {
                u.name: {
                    "group": u.group,
                    "levels": u.levels,
                    "targets": {d: target_score(lv, inv.points) for d, lv in u.levels.items()},
                    "text": u.text,
                }
                for u in units
            },
            "bootstrap": {"n_boot": design.n_boot, "seed": ctx.seed, "unit": "persona"},
            "models": {},
        }
        for spec in ctx.models:
            started = time.perf_counter()
            kind = ctx.kind(spec)
            primary = {}
            for n, wording in enumerate(design.wordings):
                given = units if n == 0 else select(units, design, design.secondary)
                texts = [u.text for u in given]
                adm = administer(ctx.runner, spec, texts, inv, Condition(wording), kind)
                primary[wording] = (adm, given)
            conditions = {
                w: analyse_condition(adm, given, design, ctx.seed)
                for w, (adm, given) in primary.items()
            }
            model = {
                "model_key": spec.key,
                "kind": kind,
                "conditions": conditions,
                "controls": run_controls(ctx, spec, kind, inv, units, design, primary),
            }
            model["verdicts"] = {w: c["validity"]["summary"] for w, c in conditions.items()}
            model["elapsed_s"] = round(time.perf_counter() - started, 2)
            findings["models"][spec.model_id] = model
        return AdoptionFindings.from_json(jsonable(findings))
