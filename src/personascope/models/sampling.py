"""One seeded sampler for every backend that exposes raw logits (llama.cpp, transformers).

Owning the sampler makes a sample a pure function of (logits, settings, seed): the same
request gives the same text whatever was evaluated before, and the filter order is ours
to state. The order is that of llama.cpp's default chain:

    top-k  ->  top-p (nucleus)  ->  min-p  ->  temperature  ->  draw

* top-k keeps the k most probable tokens (Fan et al. 2018);
* top-p keeps the smallest set of most probable tokens whose mass reaches p (Holtzman et
  al. 2020);
* min-p keeps tokens with p_i >= min_p * max_j p_j (Nguyen et al. 2024);
* temperature T rescales the surviving logits, p_i ∝ exp(z_i / T); T = 0 is greedy.

Filters are computed on the untempered distribution, as in llama.cpp.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from personascope.models.base import SamplerSettings

SAMPLER_ORDER: tuple[str, ...] = ("top_k", "top_p", "min_p", "temperature", "dist")

_NUCLEUS_CANDIDATES = 2048


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p_i = z_i - log sum_j exp(z_j), computed stably in float64.

    In place on one float64 copy: this runs for every generated token over the whole
    vocabulary (262k entries for Gemma), where each temporary array costs a pass."""
    z = np.array(logits, dtype=np.float64)
    top = z.max()
    shifted = z - top
    np.exp(shifted, out=shifted)
    z -= top + np.log(shifted.sum())
    return z


def entropy(logprobs: np.ndarray) -> float:
    """Shannon entropy in nats, H = -sum_i p_i log p_i, of a full log-distribution
    (terms with p_i = 0 count as 0)."""
    terms = np.exp(logprobs)
    with np.errstate(invalid="ignore"):  # 0 * -inf is nan where p_i = 0 exactly
        np.multiply(terms, logprobs, out=terms)
    total = terms.sum()
    if np.isnan(total):  # drop the 0 * -inf terms rather than exponentiating again
        total = terms[~np.isnan(terms)].sum()
    return float(-total)


def _top(logprobs: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` most probable of ``idx``, most probable first."""
    if k < len(idx):
        idx = idx[np.argpartition(-logprobs[idx], k - 1)[:k]]
    return idx[np.argsort(-logprobs[idx], kind="stable")]


def _filtered(settings: SamplerSettings, n_vocab: int) -> bool:
    """Whether any of top-k, top-p and min-p removes tokens."""
    return 0 < settings.top_k < n_vocab or settings.top_p < 1.0 or settings.min_p > 0.0


def _candidates(logprobs: np.ndarray, settings: SamplerSettings) -> np.ndarray:
    """Indices of the tokens that survive top-k, top-p and min-p."""
    idx = np.arange(logprobs.shape[0])
    if 0 < settings.top_k < len(idx):
        idx = _top(logprobs, idx, settings.top_k)
    if settings.top_p < 1.0:
        # Sorting Gemma's 262k-token vocabulary at every step is slow; the nucleus lies
        # among the most probable few thousand tokens unless the distribution is flat,
        # so sort those first and sort everything only when they lack the mass.
        nucleus = _top(logprobs, idx, _NUCLEUS_CANDIDATES)
        cumulative = np.cumsum(np.exp(logprobs[nucleus]))
        if cumulative[-1] < settings.top_p and len(nucleus) < len(idx):
            nucleus = _top(logprobs, idx, len(idx))
            cumulative = np.cumsum(np.exp(logprobs[nucleus]))
        cut = int(np.searchsorted(cumulative, settings.top_p, side="left")) + 1
        idx = nucleus[:cut]
    if settings.min_p > 0.0:
        floor = logprobs[idx].max() + np.log(settings.min_p)
        idx = idx[logprobs[idx] >= floor]
    return idx


def sample_token(logprobs: np.ndarray, settings: SamplerSettings, rng: np.random.Generator) -> int:
    """Draw one token id from a full log-distribution under ``settings``."""
    if settings.temperature == 0.0:
        return int(np.argmax(logprobs))
    if not _filtered(settings, logprobs.shape[0]):
        # Every token survives: the same arithmetic without gathering the vocabulary.
        # (z / 1.0 == z exactly, so T = 1 skips the division and draws the same token.)
        scaled = logprobs / settings.temperature if settings.temperature != 1.0 else logprobs
        return _draw(scaled, rng)
    idx = _candidates(logprobs, settings)
    return int(idx[_draw(logprobs[idx] / settings.temperature, rng)])


def _draw(scaled: np.ndarray, rng: np.random.Generator) -> int:
    """Position drawn with probability proportional to exp(scaled), by inverse CDF."""
    weights = scaled - scaled.max()
    np.exp(weights, out=weights)
    cumulative = np.cumsum(weights, out=weights)
    position = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(position, len(cumulative) - 1)


def first_stop(text: str, stops: tuple[str, ...]) -> int:
    """Index of the earliest stop string in ``text``, or -1."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else -1


def cut_at_stop(
    text: str, tokens: list[int], stops: tuple[str, ...], decode: Callable[[list[int]], str]
) -> tuple[str, int] | None:
    """Where a continuation ends at a stop string, or None when ``text`` contains none.

    Returns ``(text before the earliest stop string, n)``: the first ``n`` tokens are the
    longest prefix of ``tokens`` whose decoding is no longer than that text (a token that
    straddles the stop string is dropped).
    """
    cut = first_stop(text, stops)
    if cut < 0:
        return None
    kept = len(tokens)
    while kept and len(decode(tokens[:kept])) > cut:
        kept -= 1
    return text[:cut], kept
