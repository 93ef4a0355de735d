"""The domains study's measures: per-input diversity of k samples, per domain, and the
paired change from a base to a tuned model (docs/domains.md).

For one prompt with k samples y_1..y_k (code: the function as extracted; creative: the
text), each measure is a number of the set:

* ``ead``: lexical diversity, EAD averaged over n-gram orders 1..4 (Liu et al. 2022;
  Kirk et al. 2024's per-input form, :func:`personascope.metrics.by_input.ead_mean_value`);
* ``cosine``: semantic diversity, mean pairwise cosine distance of the sentence
  embeddings (Kirk et al. 2024);
* ``syntactic``: n-gram diversity, orders 1..4 (sum over n of unique / total n-grams;
  Shaib et al. 2024), of the part-of-speech tag sequences for prose and of the Python
  ``ast`` node-type sequences for code (over the samples that parse; >= 2 needed);
* ``entropy``: mean over the samples of the mean per-token entropy (nats) of the
  next-token distribution, as the backend recorded it;
* ``distinct_classes``: NoveltyBench's number of equivalence classes
  (:func:`personascope.metrics.distinct.distinct_classes`; code: equal normalised AST,
  prose: embedding cosine >= threshold).

A domain's value of a measure is the mean over its prompts (jackknife interval over
prompts). The change of a tuned model is paired by prompt: d_p = m_tuned(p) - m_base(p),
mean over the prompts where both are defined, jackknife interval over prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.by_input import cosine_diversity_value, ead_mean_value
from personascope.metrics.code import node_types
from personascope.metrics.distinct import distinct_classes
from personascope.metrics.estimate import Jackknife, estimate_dict
from personascope.metrics.lexical import NgramIndex, Tokens, ngram_diversity
from personascope.metrics.panel import DEFAULT_EAD_VOCAB

MEASURES: tuple[str, ...] = ("ead", "cosine", "syntactic", "entropy", "distinct_classes")
DOMAINS: tuple[str, ...] = ("code", "creative")
SYNTAX_ORDERS = 4


def sequence_diversity(sequences: Sequence[Sequence[str]], what: str) -> float:
    """N-gram diversity (orders 1..4) of symbol sequences (tags or node types)."""
    tokens = Tokens.from_lists([list(s) for s in sequences], what, None)
    return ngram_diversity(NgramIndex(tokens), Jackknife(), SYNTAX_ORDERS).value


def syntactic_value(domain: str, texts: Sequence[str], tags: Sequence[Sequence[str]]) -> float:
    """POS n-gram diversity (creative) or AST node-type n-gram diversity (code)."""
    if domain == "creative":
        return sequence_diversity(tags, "pos tags")
    trees = [t for t in (node_types(text) for text in texts) if t is not None]
    if len(trees) < 2:
        raise MetricInputError(f"{len(trees)} of {len(texts)} samples parse; 2 needed")
    return sequence_diversity(trees, "ast node types")


def prompt_values(
    domain: str,
    texts: Sequence[str],
    vectors: np.ndarray,
    tags: Sequence[Sequence[str]],
    entropies: Sequence[float],
    threshold: float,
) -> tuple[dict[str, float], dict[str, str]]:
    """Every measure of one prompt's k samples; a measure the samples cannot support is
    NaN, with its reason."""
    computations: dict[str, Callable[[], float]] = {
        "ead": lambda: ead_mean_value(texts, DEFAULT_EAD_VOCAB),
        "cosine": lambda: cosine_diversity_value(list(vectors)),
        "syntactic": lambda: syntactic_value(domain, texts, tags),
        "entropy": lambda: _mean_entropy(entropies),
        "distinct_classes": lambda: float(
            distinct_classes(
                texts,
                "ast" if domain == "code" else "embedding",
                threshold=threshold,
                embeddings=vectors,
            ).count
        ),
    }
    values, reasons = {}, {}
    for name, compute in computations.items():
        try:
            values[name] = float(compute())
        except MetricInputError as exc:
            values[name], reasons[name] = float("nan"), str(exc)
    return values, reasons


def _mean_entropy(entropies: Sequence[float]) -> float:
    finite = [e for e in entropies if np.isfinite(e)]
    if not finite:
        raise MetricInputError("the backend recorded no next-token entropies")
    return float(np.mean(finite))


def mean_over_prompts(values: np.ndarray, jackknife: Jackknife, what: str) -> dict[str, Any]:
    """Mean of the finite per-prompt values with a jackknife interval over prompts."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return estimate_dict(
            None, None, len(x), what, note=f"{len(x)} prompts have a value; 2 are needed"
        )
    labels = jackknife.labels(len(x))
    replicates = jackknife.replicate(lambda keep: float(x[keep].mean()), labels)
    return jackknife.estimate(float(x.mean()), replicates, len(x), what).to_dict()


def domain_summary(
    per_prompt: Mapping[str, np.ndarray], jackknife: Jackknife
) -> dict[str, dict[str, Any]]:
    """Each measure's mean over prompts."""
    return {
        name: mean_over_prompts(values, jackknife, f"{name}: mean over prompts")
        for name, values in per_prompt.items()
    }


def paired_change(
    tuned: Mapping[str, np.ndarray],
    base: Mapping[str, np.ndarray],
    jackknife: Jackknife,
    headline: str,
) -> dict[str, Any]:
    """Per measure, tuned minus base paired by prompt; ``headline`` repeats one of them."""
    out: dict[str, Any] = {
        name: mean_over_prompts(
            np.asarray(tuned[name]) - np.asarray(base[name]),
            jackknife,
            f"{name}: tuned minus base, paired by prompt",
        )
        for name in tuned
    }
    out["headline"] = {**out[headline], "measure": headline}
    return out


def sign_verdict(code: Mapping[str, Any], creative: Mapping[str, Any]) -> str:
    """Whether the code change is below 0 and the creative change above 0 (as the claim
    predicts), by their intervals."""
    if code.get("value") is None or creative.get("value") is None:
        return "not measurable"
    if code.get("high") is None or creative.get("high") is None:
        return "inconclusive: no interval"
    if code["high"] < 0 < creative["low"]:
        return "predicted: down in code, up in creative writing"
    if code["low"] > 0 > creative["high"]:
        return "opposite: up in code, down in creative writing"
    if (code["high"] < 0 and creative["high"] < 0) or (code["low"] > 0 and creative["low"] > 0):
        return "same direction in both domains"
    return "inconclusive: an interval spans 0"
