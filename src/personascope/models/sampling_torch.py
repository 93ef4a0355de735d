"""The seeded sampler of :mod:`personascope.models.sampling` as tensor operations.

One call draws the next token of every row of a batch on the device that holds the
logits, each row under its own settings, in the same order as the numpy reference:

    top-k  ->  top-p (nucleus)  ->  min-p  ->  temperature  ->  draw

With the row's full log-distribution ``l`` sorted in decreasing order (``l_(1) >= l_(2)
>= ...``), the rank-``r`` token survives when

* top-k: ``r <= k``;
* top-p: the untempered mass before it is below ``p``, ``sum_{s<r} exp(l_(s)) < p`` (the
  smallest set of most probable tokens whose mass reaches ``p``; Holtzman et al. 2020);
* min-p: ``l_(r) >= l_(1) + log(min_p)`` (Nguyen et al. 2024);

the survivors are the first ranks, and the draw inverts the cumulative sum of their
tempered weights ``exp((l_(r) - l_(1)) / T)`` at ``u * total``, ``u`` uniform in [0, 1).
``T = 0`` is greedy (argmax). Filters are computed on the untempered distribution, as in
llama.cpp.

Each row draws ``u`` from its own ``torch.Generator`` on the CPU, seeded from the request,
so a row's draws do not depend on the other rows of the batch or on the device. The
distribution equals the reference's, but the tokens differ from it: numpy's generator
draws other uniforms from the same seed (``tests/test_sampling.py`` compares the two
distributions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from personascope.models.base import SamplerSettings


@dataclass(frozen=True)
class Draws:
    """One step of a batch: each row's token, its log-probability under the full
    untempered distribution, and that distribution's entropy (nats) when asked for."""

    tokens: list[int]
    logprobs: list[float]
    entropies: list[float] | None


def exact_dtype(device: torch.device) -> torch.dtype:
    """float64 for log-probabilities, except where the device has none (MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


def row_generator(seed: int) -> torch.Generator:
    """A CPU generator for one request, seeded from it."""
    return torch.Generator().manual_seed(seed)


def _kept_ranks(ordered: torch.Tensor, settings: Sequence[SamplerSettings]) -> torch.Tensor:
    """Which ranks of the decreasingly sorted log-probabilities survive the filters."""
    vocab = ordered.shape[-1]
    device = ordered.device
    top_k = torch.tensor([s.top_k if 0 < s.top_k < vocab else vocab for s in settings])
    keep = torch.arange(vocab, device=device)[None, :] < top_k.to(device)[:, None]
    top_p = torch.tensor([s.top_p for s in settings], dtype=ordered.dtype, device=device)
    mass = ordered.exp().cumsum(dim=-1)
    before = torch.cat([torch.zeros_like(mass[:, :1]), mass[:, :-1]], dim=-1)
    keep &= (before < top_p[:, None]) | (top_p[:, None] >= 1.0)
    log_min_p = [math.log(s.min_p) if s.min_p > 0 else -math.inf for s in settings]
    floor = ordered[:, :1] + torch.tensor(log_min_p, dtype=ordered.dtype, device=device)[:, None]
    keep &= ordered >= floor
    return keep


def draw(
    logits: torch.Tensor,
    settings: Sequence[SamplerSettings],
    generators: Sequence[torch.Generator],
    want_entropy: bool = False,
) -> Draws:
    """Draw one token per row of ``logits`` ``[rows, vocab]`` (any device and dtype)."""
    logprobs = torch.log_softmax(logits.to(exact_dtype(logits.device)), dim=-1)
    device = logprobs.device
    uniforms = torch.stack([torch.rand((), dtype=torch.float64, generator=g) for g in generators])
    temperature = [s.temperature for s in settings]
    tokens = logprobs.argmax(dim=-1)
    if any(temperature):
        sampled = _sample(logprobs, settings, uniforms.to(device, logprobs.dtype), temperature)
        greedy = torch.tensor([t == 0.0 for t in temperature], device=device)
        tokens = torch.where(greedy, tokens, sampled)
    chosen = logprobs.gather(-1, tokens[:, None])[:, 0]
    entropies = None
    if want_entropy:
        plogp = torch.where(logprobs > -math.inf, logprobs.exp() * logprobs, 0.0)
        entropies = (-plogp.sum(dim=-1)).cpu().tolist()
    return Draws(tokens.cpu().tolist(), chosen.cpu().tolist(), entropies)


def _sample(
    logprobs: torch.Tensor,
    settings: Sequence[SamplerSettings],
    uniforms: torch.Tensor,
    temperature: list[float],
) -> torch.Tensor:
    """Inverse-CDF draws at temperature (1 for greedy rows): rows with a filter draw among
    their surviving ranks in rank order, rows without one over the vocabulary in its own
    order, whatever the other rows of the batch ask for."""
    device = logprobs.device
    scale = torch.tensor([t or 1.0 for t in temperature], dtype=logprobs.dtype, device=device)
    top = logprobs.max(dim=-1, keepdim=True).values
    tokens = _invert(((logprobs - top) / scale[:, None]).exp(), uniforms)
    filters = [bool(s.top_k or s.top_p < 1.0 or s.min_p) for s in settings]
    if any(filters):
        ordered, order = logprobs.sort(dim=-1, descending=True, stable=True)
        keep = _kept_ranks(ordered, settings)
        weights = torch.where(keep, ((ordered - top) / scale[:, None]).exp(), 0.0)
        ranked = order.gather(-1, _invert(weights, uniforms)[:, None])[:, 0]
        tokens = torch.where(torch.tensor(filters, device=device), ranked, tokens)
    return tokens


def _invert(weights: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Per row, the first index whose cumulative weight exceeds ``u * total`` (never one
    of weight zero, also when rounding puts ``u * total`` at the total)."""
    cumulative = weights.cumsum(dim=-1)
    target = uniforms * cumulative[:, -1]
    position = torch.searchsorted(cumulative, target[:, None], right=True)[:, 0]
    index = torch.arange(weights.shape[-1], device=weights.device)
    last = torch.where(weights > 0, index, 0).max(dim=-1).values
    return torch.minimum(position, last)
