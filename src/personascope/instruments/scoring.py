"""Scoring: answer distributions or answers -> item, domain and facet scores.

For an item answered on a K-point scale with probabilities ``p_1 .. p_K`` (after the
options are normalised to sum to 1), the raw expected answer is
``E = sum_k k * p_k``; a human answer is the degenerate case ``p_a = 1``. Keyed item
scores reverse the reverse-keyed items, ``s = E`` for key +1 and ``s = K + 1 - E`` for
key -1, so that a higher score always means more of the domain. A domain (or facet)
score is the mean of its keyed item scores over the items answered (the usual IPIP
scoring, Goldberg 1992; Johnson 2014), on the same 1..K scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from personascope.instruments.inventory import Inventory


@dataclass(frozen=True)
class Scores:
    """Scores of P respondents (personas or people) on one inventory.

    ``raw[p, i]`` expected (or given) answer, ``keyed[p, i]`` after reverse keying,
    ``domain[p, d]`` and ``facet[p, f]`` means of keyed scores; NaN where nothing was
    answered. ``distributions[p, i, k]`` keeps the full answer distribution.
    """

    inventory_id: str
    item_ids: tuple[str, ...]
    domains: tuple[str, ...]
    facets: tuple[str, ...]
    distributions: np.ndarray
    raw: np.ndarray
    keyed: np.ndarray
    domain: np.ndarray
    facet: np.ndarray

    def domain_dict(self, p: int) -> dict[str, float]:
        """Domain scores of respondent ``p`` by domain code."""
        return {d: float(v) for d, v in zip(self.domains, self.domain[p])}


def expected_answers(probs: np.ndarray) -> np.ndarray:
    """``E[..., i] = sum_k (k + 1) * probs[..., i, k]``: expected answer on a 1..K scale."""
    k = probs.shape[-1]
    return probs @ np.arange(1, k + 1, dtype=float)


def keyed_scores(raw: np.ndarray, keys: np.ndarray, points: int) -> np.ndarray:
    """Reverse keying: ``s = raw`` where key is +1, ``s = points + 1 - raw`` where -1."""
    return np.where(keys > 0, raw, points + 1 - raw)


def _group_means(keyed: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    out = np.full((keyed.shape[0], len(groups)), np.nan)
    for g, idx in enumerate(groups):
        block = keyed[:, idx]
        answered = np.isfinite(block).sum(axis=1)
        total = np.nansum(block, axis=1)
        out[:, g] = np.where(answered > 0, total / np.maximum(answered, 1), np.nan)
    return out


def score_answers(inventory: Inventory, raw: np.ndarray) -> Scores:
    """Score a (P, I) table of answers on the 1..K scale; NaN = missing."""
    raw = np.asarray(raw, dtype=float)
    if raw.ndim != 2 or raw.shape[1] != len(inventory.items):
        raise ValueError(
            f"expected answers of shape (respondents, {len(inventory.items)}), got {raw.shape}"
        )
    k = inventory.points
    answered = np.isfinite(raw)
    valid = np.isin(raw[answered], np.arange(1, k + 1))
    if not valid.all():
        bad = raw[answered][~valid][0]
        raise ValueError(f"answers must be whole numbers 1..{k} (or missing), got {bad}")
    distributions = np.full((*raw.shape, k), np.nan)
    distributions[answered] = 0.0
    p_idx, i_idx = np.nonzero(answered)
    distributions[p_idx, i_idx, raw[answered].astype(int) - 1] = 1.0
    return _scores(inventory, distributions, raw)


def score_distributions(inventory: Inventory, probs: np.ndarray) -> Scores:
    """Score (P, I, K) answer distributions (each row normalised over the K options)."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 3 or probs.shape[1:] != (len(inventory.items), inventory.points):
        raise ValueError(
            f"expected distributions of shape (respondents, {len(inventory.items)}, "
            f"{inventory.points}), got {probs.shape}"
        )
    return _scores(inventory, probs, expected_answers(probs))


def _scores(inventory: Inventory, distributions: np.ndarray, raw: np.ndarray) -> Scores:
    keyed = keyed_scores(raw, inventory.keys, inventory.points)
    domain = _group_means(keyed, [inventory.domain_indices(d) for d in inventory.domains])
    facet = _group_means(keyed, [inventory.facet_indices(f) for f in inventory.facets])
    return Scores(
        inventory.id,
        inventory.item_ids,
        inventory.domains,
        inventory.facets,
        distributions,
        raw,
        keyed,
        domain,
        facet,
    )
