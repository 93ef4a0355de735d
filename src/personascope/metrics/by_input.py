"""Per-input vs across-input diversity (Kirk et al. 2024, "Understanding the Effects of
RLHF on LLM Generalisation and Diversity", ICLR).

Given k outputs for each of m inputs (prompts), y[i][j]:

* per-input diversity: the mean over inputs of D({y[i][1..s]}), how different the outputs
  for one input are from each other;
* across-input diversity: the mean over output slots j and over disjoint chunks of s
  inputs of D({y[i][j] : i in chunk}), how different outputs for different inputs are.

Both use sets of the same size s = min(k, m), because set-level metrics depend on set
size. Inputs are the independent units: the interval is the jackknife over inputs (for the
per-input mean of independent values, the usual t-interval).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife
from personascope.metrics.lexical import NgramIndex, Tokens, expected_distinct, tokenize
from personascope.metrics.semantic import mean_cosine_distance_value

Item = TypeVar("Item")


def ead_mean_of_tokens(tokens: Tokens, vocab_size: int, max_n: int = 4) -> float:
    """EAD averaged over n-gram orders 1..max_n, as Kirk et al. (2024) use it:

        EAD_mean = (1 / max_n) sum_{n=1}^{max_n} EAD_n,

    where an order with no n-gram (every text shorter than n tokens) counts as 0, as in
    their reference code, not as a missing order.
    """
    index = NgramIndex(tokens)
    values = []
    for n in range(1, max_n + 1):
        codes, _ = index.occurrences(n)
        if len(codes):
            values.append((int(codes.max()) + 1) / float(expected_distinct(vocab_size, len(codes))))
        else:
            values.append(0.0)
    if not any(values):
        raise MetricInputError("the texts contain no token")
    return float(np.mean(values))


def ead_mean_value(
    texts: Sequence[str], vocab_size: int, max_n: int = 4, tokenization: str = "words"
) -> float:
    """:func:`ead_mean_of_tokens` of ``texts`` tokenised by ``tokenization``."""
    return ead_mean_of_tokens(tokenize(texts, tokenization), vocab_size, max_n)


def cosine_diversity_value(vectors: Sequence[np.ndarray]) -> float:
    """Mean pairwise cosine distance of a set of embedding rows."""
    return mean_cosine_distance_value(np.stack(vectors))


def _across_sets(
    groups: Sequence[Sequence[Item]], inputs: np.ndarray, size: int
) -> list[list[Item]]:
    sets = []
    for start in range(0, len(inputs) - size + 1, size):
        chunk = inputs[start : start + size]
        for slot in range(size):
            sets.append([groups[i][slot] for i in chunk])
    return sets


def input_diversity(
    groups: Sequence[Sequence[Item]],
    metric: Callable[[Sequence[Item]], float],
    jackknife: Jackknife,
    name: str,
) -> dict[str, Estimate]:
    """Per-input and across-input diversity of ``groups`` (one sequence of outputs per
    input) under ``metric`` (a set -> number function, e.g. :func:`ead_mean_value`)."""
    m = len(groups)
    if m < 2:
        raise MetricInputError(f"per-input vs across-input diversity needs >= 2 inputs, got {m}")
    k = min(len(g) for g in groups)
    if k < 2:
        raise MetricInputError("every input needs at least 2 outputs")
    size = min(k, m)
    per_values = np.array([metric(list(g[:size])) for g in groups])
    labels = jackknife.labels(m)

    def across(keep: np.ndarray) -> float:
        inputs = np.flatnonzero(keep)
        sets = _across_sets(groups, inputs, min(size, len(inputs)))
        return float(np.mean([metric(s) for s in sets]))

    per_replicates = jackknife.replicate(lambda keep: float(per_values[keep].mean()), labels)
    params = {"metric": name, "set_size": size, "inputs": m, "outputs_per_input": k}
    return {
        "per_input": jackknife.estimate(
            float(per_values.mean()), per_replicates, m, "mean over inputs", params
        ),
        "across_input": jackknife.estimate(
            across(np.ones(m, dtype=bool)),
            jackknife.replicate(across, labels),
            m,
            "mean over output slots and chunks of inputs",
            params,
        ),
    }
