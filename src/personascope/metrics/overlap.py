"""Homogenization by word overlap between texts: self-BLEU and ROUGE-L.

Both are exact up to a size (``limit`` texts) and beyond it computed exactly on a seeded
random subset of ``limit`` texts, which is itself a random sample of the population: the
estimate and its jackknife interval then hold for the statistic at that size. The subset,
its size and seed are recorded. Higher values = more overlap = less diverse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife, sample_indices
from personascope.metrics.lexical import NgramIndex, Tokens, sorted_unique_counts

SELF_BLEU_LIMIT = 1000
ROUGE_LIMIT = 300
SMOOTHING_EPSILON = 0.1


# --- self-BLEU ------------------------------------------------------------------------


def _closest_other_length(lengths: np.ndarray) -> np.ndarray:
    """For each text, the length of the other text closest in length (shorter on ties)."""
    values, counts = sorted_unique_counts(lengths)
    pos = np.searchsorted(values, lengths)
    below = np.where(pos > 0, values[np.maximum(pos - 1, 0)], -(10**12))
    above = np.where(pos + 1 < len(values), values[np.minimum(pos + 1, len(values) - 1)], 10**12)
    nearest = np.where(lengths - below <= above - lengths, below, above)
    return np.where(counts[pos] >= 2, lengths, nearest)


def self_bleu_scores(index: NgramIndex, keep: np.ndarray, max_n: int = 4) -> np.ndarray:
    """BLEU of each kept text against all other kept texts as references.

    Sentence BLEU (Papineni et al. 2002) with uniform weights over orders 1..max_n,
    n-gram counts clipped by the largest count in any single reference, the brevity
    penalty of the closest reference length, and smoothing method 1 of Chen & Cherry
    (2014): a zero clipped count becomes epsilon = 0.1. A text with no unigram in common
    with any other scores 0. Exact in O(total n-grams): for each n-gram only the largest
    and second-largest per-text counts are needed to know the largest count among the
    *other* texts.
    """
    n_docs = index.n
    kept = np.flatnonzero(keep)
    if len(kept) < 2:
        raise MetricInputError("self-BLEU needs at least 2 texts")
    log_precision = np.zeros(n_docs)
    unigram_matches = np.zeros(n_docs)
    for order in range(1, max_n + 1):
        codes, docs = index.occurrences(order)
        mask = keep[docs]
        keys, counts = sorted_unique_counts(codes[mask] * n_docs + docs[mask])
        code, doc = keys // n_docs, keys % n_docs
        by = np.lexsort((-counts, code))
        code, doc, counts = code[by], doc[by], counts[by]
        first = np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, bool)
        starts = np.flatnonzero(first)
        sizes = np.diff(np.r_[starts, len(code)])
        top, top_doc = counts[starts], doc[starts]
        second = np.where(sizes >= 2, counts[np.minimum(starts + 1, len(code) - 1)], 0)
        slot = np.cumsum(first) - 1
        other_max = np.where(doc == top_doc[slot], second[slot], top[slot])
        clipped = np.minimum(counts, other_max)
        matches = np.bincount(doc, weights=clipped, minlength=n_docs)
        total = np.bincount(doc, weights=counts, minlength=n_docs)
        if order == 1:
            unigram_matches = matches
        precision = np.where(matches > 0, matches, SMOOTHING_EPSILON) / np.maximum(total, 1)
        log_precision += np.log(precision) / max_n
    hyp = index.tokens.lengths[kept].astype(float)
    ref = _closest_other_length(index.tokens.lengths[kept]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        penalty = np.where(hyp > ref, 1.0, np.exp(1.0 - ref / hyp))
    bleu = penalty * np.exp(log_precision[kept])
    return np.where(unigram_matches[kept] > 0, bleu, 0.0)


def self_bleu(
    index: NgramIndex, jackknife: Jackknife, max_n: int = 4, limit: int = SELF_BLEU_LIMIT
) -> Estimate:
    """Self-BLEU (Zhu et al. 2018, Texygen): the mean over texts of the BLEU-``max_n`` of
    each text with all other texts as references (see :func:`self_bleu_scores`).

    1 for identical texts, 0 for texts that share no word. It rises with the number of
    references, so it is a set-level metric: compare at matched n.
    """
    chosen, computation = sample_indices(index.n, limit, jackknife.seed)
    sample = index if len(chosen) == index.n else NgramIndex(index.tokens.subset(chosen))
    value = float(self_bleu_scores(sample, np.ones(sample.n, dtype=bool), max_n).mean())

    def without(keep: np.ndarray) -> float:
        return float(self_bleu_scores(sample, keep, max_n).mean()) if keep.sum() >= 2 else math.nan

    return jackknife.estimate(
        value,
        jackknife.replicate(without, jackknife.labels(sample.n)),
        sample.n,
        computation,
        {"max_n": max_n, "smoothing": "chen-cherry-1", "tokenization": index.tokens.tokenization},
        bounds=(0.0, 1.0),
    )


# --- ROUGE-L homogenization -------------------------------------------------------------


def lcs_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Bit-parallel algorithm of Allison & Dix (1986) in the form of Hyyrö (2004): one
    word-level step per token of ``a`` over a bit vector as long as ``b``.
    """
    return _lcs_with_masks(a, _match_masks(b), len(b))


def _match_masks(b: Sequence[int]) -> dict[int, int]:
    masks: dict[int, int] = {}
    for position, token in enumerate(b):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def _lcs_with_masks(a: Sequence[int], masks: dict[int, int], length_b: int) -> int:
    full = (1 << length_b) - 1
    v = full
    for token in a:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return length_b - v.bit_count()


def rouge_l_matrix(tokens: Tokens) -> np.ndarray:
    """Pairwise ROUGE-L F1 (Lin 2004) with beta = 1: h(a, b) = 2 LCS(a, b) / (|a| + |b|).

    Symmetric; the diagonal is 1. Two empty texts count as identical (1).
    """
    texts = [tokens.text(i).tolist() for i in range(tokens.n)]
    masks = [_match_masks(t) for t in texts]
    m = len(texts)
    matrix = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            size = len(texts[i]) + len(texts[j])
            lcs = _lcs_with_masks(texts[i], masks[j], len(texts[j]))
            matrix[i, j] = matrix[j, i] = 2.0 * lcs / size if size else 1.0
    return matrix


def pairwise_mean(matrix: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of a symmetric pairwise kernel over pairs i < j (a U-statistic of degree 2),
    and its leave-group-out values from the g x g block sums of the matrix."""
    m = len(matrix)
    off = matrix - np.diag(np.diag(matrix))
    rows = off.sum(axis=1)
    total = rows.sum() / 2.0
    g = int(labels.max()) + 1
    onehot = np.zeros((m, g))
    onehot[np.arange(m), labels] = 1.0
    within = np.einsum("ik,ij,jk->k", onehot, off, onehot)
    group_rows = onehot.T @ rows
    sizes = onehot.sum(axis=0)
    remaining = m - sizes
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = (total - group_rows + within / 2.0) / (remaining * (remaining - 1) / 2.0)
    return total / (m * (m - 1) / 2.0), replicates


def rouge_l_homogenization(
    index: NgramIndex, jackknife: Jackknife, limit: int = ROUGE_LIMIT
) -> Estimate:
    """ROUGE-L homogenization (Padmakumar & He 2024, "Does Writing with Language Models
    Reduce Content Diversity?"): the mean ROUGE-L F1 over all pairs of distinct texts.

    1 for identical texts, 0 for texts that share no token. Its expectation does not
    depend on n (a U-statistic), so the subset estimate targets the same value as the
    full set, with a wider interval.
    """
    chosen, computation = sample_indices(index.n, limit, jackknife.seed)
    value, replicates = pairwise_mean(
        rouge_l_matrix(index.tokens.subset(chosen)), jackknife.labels(len(chosen))
    )
    return jackknife.estimate(
        value,
        replicates,
        len(chosen),
        computation,
        {"measure": "rouge-l f1", "tokenization": index.tokens.tokenization},
        bounds=(0.0, 1.0),
    )
