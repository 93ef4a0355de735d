"""The trait probe of the pressure study: does pressure pull the Big-Five profile back to
the model's own default?

After k pressure turns the adoption study's inventory (Mini-IPIP, Donnellan et al. 2006),
under its first wording and with its answer scoring (:mod:`personascope.instruments.
administration`), is asked item by item in the conversation state reached: the persona's
system prompt (chat) or transcript (base), the k turns, then one item as the next user
message, scored by the log-probabilities of the answer digits. The item never enters the
history. The **default profile** is the model's answers with no persona and no
conversation, exactly the adoption study's default administration (the same requests, so
a run that holds the adoption study reuses them). Domain scores become T-scores
(``T = 50 + 10 (x - mean) / sd``) against the shipped human norms of the inventory.

**Trait drift** of unit u (persona x seed) after k turns of family f, in T-score units:

    drift_f(u, k) = (T_f(u, k) - T(u, 0)) . (T_def - T(u, 0)) / ||T_def - T(u, 0)||

the displacement of the five-domain profile from the persona's own k = 0 profile,
projected on the unit vector pointing from that profile to the default profile. 0: the
profile stayed (or moved sideways); ``||T_def - T(u, 0)||`` (reported as the **gap**):
it reached the default; more: it overshot. A projection rather than the mean over
domains of ``(T_k - T_0) sign(T_def - T_0)``: a domain on which the persona already
answers like the default has no direction to drift in, and there the sign is noise
weighted as much as a domain 20 T apart; the projection weights each domain by its gap.
A unit whose k = 0 profile equals the default (gap 0) has no direction and is left out
(NaN). It is the persona-collapse reading of Shanahan, McDonell and Reynolds (2023, *Role
play with large language models*, Nature 623): under pressure the simulacrum falls back
to the assistant character, here measured on the adoption study's instrument (default
pull, Serapio-García et al. 2023).

**Validity**, as the adoption study gives it (:func:`personascope.instruments.validity.
diagnose`, one administration whose respondents are the default and every distinct
conversation state probed): option mass, item sensitivity, acquiescence, reverse-key
consistency, persona sensitivity, internal consistency, per domain; the worst domain's
verdict is the probe's. The adoption study's order control runs as well: the default
profile with the answer options reversed, its shift in T-score units beside the verdict.
An ``invalid`` probe measures an answer habit, not a trait: its drift is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from personascope.errors import PersonascopeError
from personascope.instruments.administration import (
    Administration,
    Condition,
    administer,
    collect,
    item_question,
    plan_requests,
)
from personascope.instruments.inventory import Inventory, item_subset, load_inventory
from personascope.instruments.norms import ScaleNorms, norms_for
from personascope.instruments.validity import diagnose
from personascope.models.base import ChoiceRequest, ModelKind
from personascope.models.catalog import ModelSpec
from personascope.studies.adoption import FULL as ADOPTION
from personascope.studies.base import StudyContext
from personascope.studies.commitment import Interview, prompt_after

CONDITION = Condition(ADOPTION.wordings[0])
History = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class State:
    """One conversation the probe is given after: family f, unit u, the k-th probed k."""

    family: int
    unit: int
    k: int
    interview: Interview
    history: History


@dataclass(frozen=True)
class TraitProbe:
    """The drift array and diagnostics of one model's trait probe."""

    drift: np.ndarray  # (families, units, probed ks) in T-score units; NaN without direction
    gap: np.ndarray  # (units,) ||T_def - T(u, 0)||
    default: dict[str, float]  # T-scores of the default profile
    validity: dict[str, Any]
    reversed_options: dict[str, Any]
    respondents: int


def trait_inventory(items_per_domain: int | None) -> tuple[Inventory, ScaleNorms]:
    """The adoption study's inventory (its first ``items_per_domain`` items per domain;
    all when None or at least a domain's length) and its human norms."""
    inv = load_inventory(ADOPTION.inventory)
    if items_per_domain is not None and items_per_domain < min(
        len(inv.domain_indices(d)) for d in inv.domains
    ):
        inv = item_subset(inv, items_per_domain)
    norms = norms_for(inv)
    if norms is None:
        raise PersonascopeError(f"the trait probe needs human norms of {inv.id}; none ship")
    return inv, norms


def item_requests(
    kind: ModelKind, inv: Inventory, interview: Interview, history: History
) -> list[ChoiceRequest]:
    """Every item of ``inv`` asked after ``history``, in inventory order."""
    options = tuple(str(i) for i in range(1, inv.points + 1))
    return [
        ChoiceRequest(
            prompt_after(kind, interview, list(history), item_question(inv, i, CONDITION), True),
            options,
        )
        for i in range(len(inv.items))
    ]


def t_profiles(adm: Administration, norms: ScaleNorms) -> np.ndarray:
    """(respondents, domains) T-scores, domains in the norms' order."""
    cols = [adm.inventory.domains.index(d) for d in norms.domains]
    return norms.t_scores(adm.scores.domain[:, cols])


def toward_default(profiles: np.ndarray, start: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Drift of (families, units, ks, domains) ``profiles`` from each unit's ``start``
    (units, domains) projected on the unit vector toward ``default`` (domains,); NaN for
    a unit whose start is the default (no direction)."""
    gap = default[None, :] - start
    norm = np.linalg.norm(gap, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = np.where(norm[:, None] > 1e-9, gap / norm[:, None], np.nan)
    return np.einsum("fukd,ud->fuk", profiles - start[None, :, None, :], direction)


def run_trait_probe(
    ctx: StudyContext,
    spec: ModelSpec,
    kind: ModelKind,
    items_per_domain: int | None,
    states: list[State],
    shape: tuple[int, int, int],
) -> TraitProbe:
    """Ask the inventory after every state (each distinct prompt once), with the default
    profile and its reversed-options control; ``shape`` is (families, units, ks)."""
    inv, norms = trait_inventory(items_per_domain)
    rows: dict[tuple[str, History], int] = {}
    for state in states:
        rows.setdefault((state.interview.system, state.history), len(rows) + 1)
    interviews = {s.interview.system: s.interview for s in states}
    requests = plan_requests(inv, [None], kind, CONDITION) + [
        r for system, history in rows for r in item_requests(kind, inv, interviews[system], history)
    ]
    results = ctx.runner.score(spec, requests, label=f"pressure traits {spec.model_id}")
    labels = ["default", *(f"{system} | {len(history)} turns" for system, history in rows)]
    adm = collect(inv, labels, kind, CONDITION, results, spec.model_id, spec.key)
    profiles = t_profiles(adm, norms)
    at = np.full((*shape, len(norms.domains)), np.nan)
    for state in states:
        at[state.family, state.unit, state.k] = profiles[rows[(state.interview.system,
                                                               state.history)]]  # fmt: skip
    start, default = at[0, :, 0], profiles[0]
    flipped = administer(
        ctx.runner, spec, [None], inv, Condition(CONDITION.wording, reverse_options=True), kind
    )
    shift = t_profiles(flipped, norms)[0] - default
    return TraitProbe(
        drift=toward_default(at, start, default),
        gap=np.linalg.norm(default[None, :] - start, axis=1),
        default=dict(zip(norms.domains, np.round(default, 2).tolist())),
        validity=diagnose(adm).to_dict(),
        reversed_options={
            "definition": "T-scores of the default profile with the answer options listed "
            "from the top of the scale down, minus with the options in order",
            "shift": dict(zip(norms.domains, np.round(shift, 2).tolist())),
            "mean_abs_shift": round(float(np.abs(shift).mean()), 2),
            "validity": diagnose(flipped).summary,
        },
        respondents=len(labels),
    )
