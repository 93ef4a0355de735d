"""Validity diagnostics: is a self-report score a trait measurement or an answer habit?

For one administration (one model, one condition, P personas) and each domain:

* **option mass**: mean probability the model put on the answer options at all
  (choice mode), or the share of samples that parsed as an answer (generate mode);
* **item sensitivity**: the mean over personas of the within-persona SD of expected
  answers across the domain's items (:func:`~personascope.instruments.norms.item_spread`),
  as a ratio to the human median. An item-blind respondent gives every item the same
  answer distribution and scores 0; the ratio says how far the model is from that;
* **acquiescence**: the mean over personas of the balanced-keying acquiescence index
  (:func:`~personascope.instruments.norms.acquiescence`), against the human 1st-99th
  percentile range: agreeing with both poles of a trait;
* **reverse-key consistency**: the Pearson correlation across personas of the trait
  score from the +1 items and from the (reversed) -1 items; both estimate the same
  trait, so it should be positive (needs >= 3 personas and items of both keys);
* **persona sensitivity**: the SD of the domain score across personas, as a ratio to
  the human between-person SD (needs >= 2 personas): does the score move when the
  persona changes?
* **internal consistency**: Cronbach's alpha and McDonald's omega across personas
  (needs >= 3 personas with varying totals).

The human references are the shipped norms of the inventory; an inventory without
norms (IPIP-NEO-120) borrows the IPIP-50 ones when its domains are the Big Five on a
5-point scale, and the verdict says so. Verdict rules (each failed rule gives its
reason in words):

* ``invalid`` when option mass < 0.25 or the item-sensitivity ratio < 0.25 (answers
  barely differ from item to item: the score reflects an answer habit);
* ``weak`` when option mass < 0.6, the item-sensitivity ratio < 0.5, acquiescence is
  outside the human 1-99 % range, the persona-sensitivity ratio < 0.25,
  reverse-key consistency < 0, or alpha < 0.5;
* ``valid`` otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from personascope.instruments.administration import Administration
from personascope.instruments.inventory import Inventory, load_inventory
from personascope.instruments.norms import ScaleNorms, acquiescence, item_spread, norms_for
from personascope.instruments.reliability import cronbach_alpha, mcdonald_omega

Verdict = Literal["valid", "weak", "invalid"]
MASS_INVALID, MASS_WEAK = 0.25, 0.6
SPREAD_INVALID, SPREAD_WEAK = 0.25, 0.5
PERSONA_WEAK = 0.25
ALPHA_WEAK = 0.5


@dataclass(frozen=True)
class Reference:
    """Human figures a domain's diagnostics are compared with."""

    label: str
    spread_median: float
    acquiescence_low: float
    acquiescence_high: float
    sd: float


@dataclass
class DomainValidity:
    domain: str
    verdict: Verdict
    reasons: list[str]
    option_mass: float
    item_spread: float
    item_spread_ratio: float
    acquiescence: float
    reverse_key_r: float | None
    persona_sd: float | None
    persona_sd_ratio: float | None
    alpha: float | None
    omega: float | None
    reference: str
    n_personas: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Validity:
    """Per-domain diagnostics and verdicts of one administration, and a summary."""

    domains: dict[str, DomainValidity]
    verdict: Verdict = field(init=False)
    summary: str = field(init=False)

    def __post_init__(self) -> None:
        order = {"valid": 0, "weak": 1, "invalid": 2}
        worst = max(self.domains.values(), key=lambda v: order[v.verdict])
        self.verdict = worst.verdict
        counts = {v: sum(d.verdict == v for d in self.domains.values()) for v in order}
        parts = [f"{counts[v]} {v}" for v in ("invalid", "weak", "valid") if counts[v]]
        self.summary = f"{self.verdict}: {', '.join(parts)} of {len(self.domains)} domains"
        if worst.verdict != "valid":
            self.summary += f"; e.g. {worst.domain}: {worst.reasons[0]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "domains": {d: v.to_dict() for d, v in self.domains.items()},
        }


def references(inventory: Inventory) -> dict[str, Reference]:
    """Human reference figures per domain: the inventory's norms, else the IPIP-50's."""
    norms: ScaleNorms | None = norms_for(inventory)
    label = f"{inventory.id} human norms"
    if norms is None:
        ipip50 = norms_for(load_inventory("ipip50"))
        if (
            ipip50 is not None
            and inventory.points == 5
            and set(inventory.domains) <= set(ipip50.domains)
        ):
            norms, label = ipip50, "IPIP-50 human norms (this inventory has none)"
    if norms is None:
        return {}
    out = {}
    for d in inventory.domains:
        style = norms.answer_style[d]
        out[d] = Reference(
            label,
            style["item_spread"]["p50"],
            style["acquiescence"]["p1"],
            style["acquiescence"]["p99"],
            float(norms.sd[norms.index(d)]),
        )
    return out


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _reverse_key_r(keyed: np.ndarray, keys: np.ndarray) -> float | None:
    plus, minus = keys > 0, keys < 0
    if keyed.shape[0] < 3 or not plus.any() or not minus.any():
        return None
    a, b = keyed[:, plus].mean(axis=1), keyed[:, minus].mean(axis=1)
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _consistency(keyed: np.ndarray) -> tuple[float | None, float | None]:
    if keyed.shape[0] < 3 or keyed.shape[1] < 2:
        return None, None
    try:
        alpha = cronbach_alpha(keyed)["alpha"]
        omega = mcdonald_omega(keyed)["omega"]
    except ValueError:
        return None, None
    return _finite(alpha), _finite(omega)


def diagnose_domain(
    domain: str,
    raw: np.ndarray,
    keyed: np.ndarray,
    keys: np.ndarray,
    points: int,
    mass: float,
    domain_scores: np.ndarray,
    reference: Reference | None,
    generated: bool = False,
) -> DomainValidity:
    """Diagnostics and verdict for one domain from (personas, domain items) arrays.

    ``mass`` is the option mass, or with ``generated`` the share of parseable samples.
    """
    n = raw.shape[0]
    spread = float(np.nanmean(item_spread(raw)))
    acq = float(np.nanmean(acquiescence(raw, keys, points)))
    spread_ref = reference.spread_median if reference else 1.0
    ratio = spread / spread_ref
    persona_sd = float(np.nanstd(domain_scores, ddof=1)) if n >= 2 else None
    persona_ratio = (
        persona_sd / reference.sd if persona_sd is not None and reference is not None else None
    )
    rk = _reverse_key_r(keyed, keys)
    alpha, omega = _consistency(keyed)
    invalid: list[str] = []
    weak: list[str] = []
    ref_text = f"humans' median {spread_ref:.2f}" if reference else "reference 1.0"
    mass_text = (
        f"only {mass:.0%} of the sampled answers parse as an answer"
        if generated
        else f"only {mass:.0%} of the probability falls on the answer options"
    )
    if mass < MASS_INVALID:
        invalid.append(mass_text)
    elif mass < MASS_WEAK:
        weak.append(mass_text)
    spread_text = f"between-item SD of answers {spread:.2f} scale points vs {ref_text}"
    if ratio < SPREAD_INVALID:
        invalid.append(f"answers are nearly the same for every item ({spread_text})")
    elif ratio < SPREAD_WEAK:
        weak.append(f"answers vary little between items ({spread_text})")
    if reference is not None and not (
        reference.acquiescence_low <= acq <= reference.acquiescence_high
    ):
        side = "agrees" if acq > 0 else "disagrees"
        weak.append(
            f"it {side} with both poles of the trait (acquiescence {acq:+.2f} scale points, "
            f"human 1-99% range {reference.acquiescence_low:+.2f} to "
            f"{reference.acquiescence_high:+.2f})"
        )
    if persona_ratio is not None and persona_ratio < PERSONA_WEAK:
        weak.append(
            f"the score hardly moves with the persona (SD across personas {persona_sd:.2f} "
            f"vs {reference.sd:.2f} between humans)"  # type: ignore[union-attr]
        )
    if rk is not None and rk < 0:
        weak.append(f"+ and - keyed items disagree across personas (r = {rk:.2f})")
    if alpha is not None and alpha < ALPHA_WEAK:
        weak.append(f"low internal consistency across personas (alpha {alpha:.2f})")
    verdict: Verdict = "invalid" if invalid else "weak" if weak else "valid"
    return DomainValidity(
        domain=domain,
        verdict=verdict,
        reasons=invalid + weak or ["no diagnostic failed"],
        option_mass=mass,
        item_spread=spread,
        item_spread_ratio=ratio,
        acquiescence=acq,
        reverse_key_r=rk,
        persona_sd=persona_sd,
        persona_sd_ratio=persona_ratio,
        alpha=alpha,
        omega=omega,
        reference=reference.label if reference else "no human reference",
        n_personas=n,
    )


def diagnose(administration: Administration) -> Validity:
    """Diagnostics and verdicts per domain for one administration (see module docs)."""
    inv = administration.inventory
    scores = administration.scores
    refs = references(inv)
    out = {}
    for j, d in enumerate(inv.domains):
        idx = inv.domain_indices(d)
        out[d] = diagnose_domain(
            d,
            scores.raw[:, idx],
            scores.keyed[:, idx],
            inv.keys[idx],
            inv.points,
            float(np.nanmean(administration.option_mass[:, idx])),
            scores.domain[:, j],
            refs.get(d),
            administration.condition.mode == "generate",
        )
    return Validity(out)
