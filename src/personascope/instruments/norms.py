"""Human norms for the IPIP-50 and Mini-IPIP, and a human-like reference sample.

The norms come from the 19,719 respondents of the openpsychometrics.org IPIP-50 data
set (``../shared/data/human/ipip50_openpsychometrics.tsv``, collected c. 2012).
``scripts/build_norms.py`` reads that file and writes ``data/norms_ipip50.json`` with
:func:`build_norms`; the raw file itself never ships. For each scale (``ipip50`` and
``mini_ipip``, whose items are all IPIP-50 items, and their shortened forms of the first
k >= 2 items per domain that a study's ``items_per_domain`` setting administers; see
:func:`normed_forms`) the norms hold, per domain, the mean and SD of domain scores, the
distribution of domain scores on their grid of possible values, the 5 x 5 Pearson
correlation matrix, alpha and omega, and the human distributions of two answer-style
indices the validity diagnostics compare against.

* T-score: ``T = 50 + 10 (x - mean) / sd``.
* Percentile: the mid-rank percentile ``100 * (P(X < x) + P(X = x) / 2)`` of a score on
  the human distribution, linearly interpolated between grid values for the
  non-integer sums that expected answers produce.
* Reference sample (:func:`sample_reference`): a Gaussian copula. Draw
  ``z ~ N(0, R_ns)``, where ``R_ns`` is the correlation of the humans' normal scores
  ``Phi^-1(mid-rank percentile)``, map each coordinate through ``Phi`` to ``u`` and
  take the human quantile of ``u`` on the domain's score grid. Each margin is the
  human distribution exactly; the correlations match the human ones up to the
  discreteness of the grid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from personascope.errors import InputFileError
from personascope.instruments.inventory import DATA_DIR, Inventory, item_subset, load_inventory
from personascope.instruments.reliability import cronbach_alpha, mcdonald_omega
from personascope.instruments.scoring import score_answers

NORMS_FILE = DATA_DIR / "norms_ipip50.json"
NORMS_FORMAT = "personascope-norms/1"
SUMMARY_PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


@dataclass(frozen=True)
class ScaleNorms:
    """Human norms of one scale (an inventory's domain scores)."""

    inventory: str
    domains: tuple[str, ...]
    n: int
    mean: np.ndarray
    sd: np.ndarray
    correlation: np.ndarray
    normal_scores_correlation: np.ndarray
    grid: np.ndarray  # possible domain scores, ascending (shared by all domains)
    pmf: np.ndarray  # (domains, grid) share of humans at each grid value
    alpha: dict[str, float]
    omega: dict[str, float]
    answer_style: dict[str, dict[str, dict[str, float]]]
    source: str

    def index(self, domain: str) -> int:
        return self.domains.index(domain)

    def t_scores(self, scores: np.ndarray) -> np.ndarray:
        """``T = 50 + 10 (x - mean) / sd`` for (..., domains) scores in ``domains`` order."""
        return 50 + 10 * (np.asarray(scores, dtype=float) - self.mean) / self.sd

    def percentiles(self, scores: np.ndarray) -> np.ndarray:
        """Mid-rank human percentiles (0-100) of (..., domains) scores; NaN stays NaN."""
        scores = np.asarray(scores, dtype=float)
        out = np.full(scores.shape, np.nan)
        cdf = np.cumsum(self.pmf, axis=1)
        mid = cdf - self.pmf / 2
        for d in range(len(self.domains)):
            values = scores[..., d]
            finite = np.isfinite(values)
            out[..., d][finite] = 100 * np.interp(values[finite], self.grid, mid[d])
        return out

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` human-like domain-score vectors (columns in ``domains`` order).

        Gaussian copula on the normal-scores correlation with the exact human margins;
        see the module docstring. Deterministic for a given ``seed``.
        """
        rng = np.random.default_rng(seed)
        z = rng.multivariate_normal(np.zeros(len(self.domains)), self.normal_scores_correlation, n)
        u = stats.norm.cdf(z)
        out = np.empty((n, len(self.domains)))
        cdf = np.cumsum(self.pmf, axis=1)
        for d in range(len(self.domains)):
            cdf[d, -1] = 1.0
            out[:, d] = self.grid[np.searchsorted(cdf[d], u[:, d], side="left")]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "inventory": self.inventory,
            "domains": list(self.domains),
            "n": self.n,
            "mean": self.mean.tolist(),
            "sd": self.sd.tolist(),
            "correlation": self.correlation.tolist(),
            "normal_scores_correlation": self.normal_scores_correlation.tolist(),
            "grid": self.grid.tolist(),
            "pmf": self.pmf.tolist(),
            "alpha": self.alpha,
            "omega": self.omega,
            "answer_style": self.answer_style,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScaleNorms:
        return cls(
            inventory=data["inventory"],
            domains=tuple(data["domains"]),
            n=int(data["n"]),
            mean=np.array(data["mean"]),
            sd=np.array(data["sd"]),
            correlation=np.array(data["correlation"]),
            normal_scores_correlation=np.array(data["normal_scores_correlation"]),
            grid=np.array(data["grid"]),
            pmf=np.array(data["pmf"]),
            alpha=data["alpha"],
            omega=data["omega"],
            answer_style=data["answer_style"],
            source=data["source"],
        )


def acquiescence(raw: np.ndarray, keys: np.ndarray, points: int) -> np.ndarray:
    """Acquiescence index per respondent for one domain, in scale points.

    ``acq = (mean_{i: key=+1} raw_i + mean_{i: key=-1} raw_i) / 2 - (K + 1) / 2``: the
    average raw agreement with the two poles of the trait, weighted equally, minus the
    scale midpoint (after Paulhus 1991 and Soto et al. 2008's balanced-pair index). 0
    for a respondent whose answers to the two poles mirror each other; positive for
    one who agrees with both poles. NaN when the domain lacks items of either key.
    """
    raw = np.asarray(raw, dtype=float)
    plus, minus = keys > 0, keys < 0
    if not plus.any() or not minus.any():
        return np.full(raw.shape[0], np.nan)
    midpoint = (points + 1) / 2
    return (np.nanmean(raw[:, plus], axis=1) + np.nanmean(raw[:, minus], axis=1)) / 2 - midpoint


def item_spread(raw: np.ndarray) -> np.ndarray:
    """Within-respondent SD (ddof 0) of raw answers across one domain's items.

    ``spread = sqrt(mean_i (raw_i - mean_i raw_i)^2)``; 0 for a respondent who gives
    every item the same answer (straight-lining; Curran 2016).
    """
    return np.nanstd(np.asarray(raw, dtype=float), axis=1)


def _summary(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    out = {"mean": float(values.mean()), "sd": float(values.std(ddof=1))}
    for q, v in zip(SUMMARY_PERCENTILES, np.percentile(values, SUMMARY_PERCENTILES)):
        out[f"p{q}"] = float(v)
    return out


def scale_norms(inventory: Inventory, raw: np.ndarray, source: str) -> ScaleNorms:
    """Norms of ``inventory`` from complete human answers ``raw`` (P, I) on 1..K."""
    raw = np.asarray(raw, dtype=float)
    complete = raw[np.isfinite(raw).all(axis=1)]
    scores = score_answers(inventory, complete)
    domains = inventory.domains
    sizes = {len(inventory.domain_indices(d)) for d in domains}
    if len(sizes) != 1:
        raise ValueError("norms need domains of equal length (one score grid)")
    n_items = sizes.pop()
    k = inventory.points
    grid = 1 + np.arange((k - 1) * n_items + 1) / n_items
    steps = np.rint((scores.domain - 1) * n_items).astype(int)
    pmf = np.stack([np.bincount(steps[:, d], minlength=len(grid)) for d in range(len(domains))])
    pmf = pmf / complete.shape[0]
    mid = np.cumsum(pmf, axis=1) - pmf / 2
    normal = np.column_stack([stats.norm.ppf(mid[d][steps[:, d]]) for d in range(len(domains))])
    alpha: dict[str, float] = {}
    omega: dict[str, float] = {}
    style: dict[str, dict[str, dict[str, float]]] = {}
    for d in domains:
        idx = inventory.domain_indices(d)
        a = cronbach_alpha(scores.keyed[:, idx])
        o = mcdonald_omega(scores.keyed[:, idx], n_boot=200, seed=0)
        alpha[d] = {"value": a["alpha"], "low": a["low"], "high": a["high"]}
        omega[d] = {"value": o["omega"], "low": o["low"], "high": o["high"]}
        style[d] = {
            "acquiescence": _summary(acquiescence(complete[:, idx], inventory.keys[idx], k)),
            "item_spread": _summary(item_spread(complete[:, idx])),
        }
    return ScaleNorms(
        inventory=inventory.id,
        domains=domains,
        n=int(complete.shape[0]),
        mean=scores.domain.mean(axis=0),
        sd=scores.domain.std(axis=0, ddof=1),
        correlation=np.corrcoef(scores.domain, rowvar=False),
        normal_scores_correlation=np.corrcoef(normal, rowvar=False),
        grid=grid,
        pmf=pmf,
        alpha=alpha,
        omega=omega,
        answer_style=style,
        source=source,
    )


def normed_forms() -> list[Inventory]:
    """The forms norms are built for: the IPIP-50 and the Mini-IPIP, then each one's
    first k items of every domain for k = 2 .. (items per domain - 1)."""
    forms = []
    for name in ("ipip50", "mini_ipip"):
        inventory = load_inventory(name)
        per_domain = min(len(inventory.domain_indices(d)) for d in inventory.domains)
        forms += [inventory, *(item_subset(inventory, k) for k in range(2, per_domain))]
    return forms


def build_norms(
    item_ids: list[str], raw: np.ndarray, source: str, data_sha256: str
) -> dict[str, Any]:
    """The norms document for the IPIP-50 data: item statistics and scale norms.

    ``raw`` is (respondents, items) in the column order ``item_ids``, answers 1..5 with
    NaN for missing. Item statistics use every answer given; scale norms use the
    respondents who answered all 50 items.
    """
    raw = np.asarray(raw, dtype=float)
    ipip50 = load_inventory("ipip50")
    columns = {item_id: j for j, item_id in enumerate(item_ids)}
    missing = [i for i in ipip50.item_ids if i not in columns]
    if missing:
        raise ValueError(f"the data lacks IPIP-50 items {', '.join(missing)}")
    items = {}
    for item_id in ipip50.item_ids:
        values = raw[:, columns[item_id]]
        values = values[np.isfinite(values)]
        items[item_id] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)),
            "n": int(values.size),
        }
    scales = {}
    for inventory in normed_forms():
        table = raw[:, [columns[i] for i in inventory.item_ids]]
        scales[inventory.id] = scale_norms(inventory, table, source).to_dict()
        scales[inventory.id]["inventory_hash"] = inventory.content_hash
    return {
        "format": NORMS_FORMAT,
        "source": source,
        "data_sha256": data_sha256,
        "n_respondents": int(raw.shape[0]),
        "script": "scripts/build_norms.py",
        "neuroticism": "N is keyed as Neuroticism (the data's codebook keys it as "
        "Emotional Stability; see the ipip50 inventory notes)",
        "items": items,
        "scales": scales,
    }


@lru_cache(maxsize=2)
def _document(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"cannot read the norms file {path}: {exc}") from exc
    if data.get("format") != NORMS_FORMAT:
        raise InputFileError(f"{path}: format must be {NORMS_FORMAT!r}")
    return data


def norms_for(inventory: Inventory, path: Path = NORMS_FILE) -> ScaleNorms | None:
    """Human norms of exactly this inventory (same id and content hash), or None.

    Norms apply only to the items they were computed from: a user file with the id
    ``ipip50`` but other items or keys (another content hash) gets None.
    """
    scale = _document(path)["scales"].get(inventory.id)
    if scale is None or scale.get("inventory_hash") != inventory.content_hash:
        return None
    return ScaleNorms.from_dict(scale)


def load_norms(inventory: str) -> ScaleNorms | None:
    """Human norms of a shipped inventory (``ipip50``, ``mini_ipip``); None if it has none."""
    return norms_for(load_inventory(inventory))


def sample_reference(n: int, seed: int = 0, inventory: str = "ipip50") -> np.ndarray:
    """``n`` human-like Big-Five domain-score vectors for coverage metrics.

    Columns follow ``load_norms(inventory).domains`` (O, C, E, A, N), scores on the
    1-5 scale of that inventory's domain means; see :meth:`ScaleNorms.sample`.
    """
    norms = load_norms(inventory)
    if norms is None:
        raise InputFileError(f"no human norms ship for inventory {inventory!r}")
    return norms.sample(n, seed)
