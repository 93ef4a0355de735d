"""Preference pairs from the base model's own samples, and the length confound they carry.

K seeded samples per training frame come from the base model (llama.cpp, through the
runner, so they are cached and resumable). Samples that hit the token limit or are empty
are dropped, near-duplicates within a frame are dropped
(:func:`personascope.personas.dedup.deduplicate`), and the rest are scored with a reward
(:mod:`personascope.lab.rewards`). Two pairings:

* ``extremes``: within a frame, sort by reward and pair the k-th best with the k-th worst
  (k = 1 .. m/2): chosen = most typical, rejected = least typical, each sample used once;
* ``length-matched``: within a frame, take samples from the best down; pair each with the
  lowest-reward unpaired sample whose length is within ``tolerance`` words (whitespace
  words) and whose reward is lower. Fewer pairs, but chosen and rejected texts are about
  as long, so the policy cannot learn "shorter is preferred" from them.

Ties never make a pair. Per-token typicality still prefers short completions (the issue
saw chosen texts of 17 words against 27): :func:`length_confound` reports the rank
correlation of reward and length over all scored samples, and the mean length of chosen
and rejected texts, each with a jackknife interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from personascope.errors import LabError
from personascope.lab.frames import NAME_STOP, STOP, Frame
from personascope.lab.rewards import Sample
from personascope.metrics.estimate import Jackknife
from personascope.models.base import GenerationRequest, GenerationResult, SamplerSettings
from personascope.personas.dedup import deduplicate

PAIRINGS = ("extremes", "length-matched")


def sampler(temperature: float, max_tokens: int, names_only: bool = False) -> SamplerSettings:
    """Pure sampling (no top-k/top-p/min-p), ending at the blank line after the profile, or
    with ``names_only`` at the end of the Name line (the completion is the name alone)."""
    stop = NAME_STOP if names_only else STOP
    return SamplerSettings(temperature=temperature, max_tokens=max_tokens, stop=stop)


def sampling_requests(
    frames: Sequence[Frame], n: int, seed: int, settings: SamplerSettings
) -> list[GenerationRequest]:
    """``n`` requests per frame with seeds ``seed .. seed+n-1`` (the same for every frame)."""
    return [GenerationRequest(f.prompt, settings, seed + i) for f in frames for i in range(n)]


def words(text: str) -> int:
    return len(text.split())


def collect_samples(
    requests: Sequence[GenerationRequest],
    results: Sequence[GenerationResult],
    frame_of: dict[str, str],
    dedup_threshold: float,
) -> tuple[list[Sample], dict[str, int]]:
    """The usable, distinct samples (in request order) and how many were set aside.

    ``frame_of`` maps a prompt text to its frame name.
    """
    counts = {"generated": len(results), "truncated": 0, "empty": 0, "near_duplicates": 0}
    by_frame: dict[str, list[Sample]] = {}
    for request, result in zip(requests, results, strict=True):
        if result.finish_reason != "stop":
            counts["truncated"] += 1
            continue
        if not result.text.strip():
            counts["empty"] += 1
            continue
        frame = frame_of[request.prompt.text]  # type: ignore[union-attr]
        sample = Sample(frame, request.seed, result.text, result.token_logprobs)
        by_frame.setdefault(frame, []).append(sample)
    samples: list[Sample] = []
    for frame_samples in by_frame.values():
        kept = deduplicate([s.profile for s in frame_samples], threshold=dedup_threshold).kept
        counts["near_duplicates"] += len(frame_samples) - len(kept)
        samples += [frame_samples[i] for i in kept]
    counts["distinct"] = len(samples)
    return samples, counts


@dataclass(frozen=True)
class Pair:
    chosen: Sample
    rejected: Sample
    chosen_reward: float
    rejected_reward: float

    def record(self) -> dict[str, Any]:
        return {
            "frame": self.chosen.frame,
            "chosen": {"seed": self.chosen.seed, "text": self.chosen.text},
            "rejected": {"seed": self.rejected.seed, "text": self.rejected.text},
            "chosen_reward": self.chosen_reward,
            "rejected_reward": self.rejected_reward,
            "chosen_words": words(self.chosen.text),
            "rejected_words": words(self.rejected.text),
        }


def make_pairs(
    samples: Sequence[Sample],
    rewards: np.ndarray,
    pairing: str = "extremes",
    tolerance: int = 2,
) -> list[Pair]:
    """Preference pairs within each frame (see the module docstring)."""
    if pairing not in PAIRINGS:
        raise LabError(f"unknown pairing {pairing!r}; known: {', '.join(PAIRINGS)}")
    frames: dict[str, list[int]] = {}
    for i, sample in enumerate(samples):
        frames.setdefault(sample.frame, []).append(i)
    pairs: list[Pair] = []
    for members in frames.values():
        # best first; equal rewards in seed order, so the pairing is deterministic
        order = sorted(members, key=lambda i: (-rewards[i], samples[i].seed))
        if pairing == "extremes":
            matches = [(order[k], order[-1 - k]) for k in range(len(order) // 2)]
        else:
            matches = _length_matched(order, samples, rewards, tolerance)
        pairs += [
            Pair(samples[hi], samples[lo], float(rewards[hi]), float(rewards[lo]))
            for hi, lo in matches
            if rewards[hi] > rewards[lo]
        ]
    return pairs


def _length_matched(
    order: list[int], samples: Sequence[Sample], rewards: np.ndarray, tolerance: int
) -> list[tuple[int, int]]:
    free = set(order)
    matches = []
    for hi in order:
        if hi not in free:
            continue
        for lo in reversed(order):
            if (
                lo in free
                and lo != hi
                and rewards[lo] < rewards[hi]
                and abs(words(samples[hi].text) - words(samples[lo].text)) <= tolerance
            ):
                free -= {hi, lo}
                matches.append((hi, lo))
                break
    return matches


def require_pairs(
    pairs: Sequence[Pair], counts: dict[str, int], n_frames: int, minimum: int, pairing: str
) -> None:
    """A one-line :class:`LabError` when there are too few pairs to train on."""
    if len(pairs) >= minimum:
        return
    hint = " or widen --length-tolerance" if pairing == "length-matched" else ""
    raise LabError(
        f"too few distinct samples to form preference pairs: {len(pairs)} pairs from "
        f"{counts['distinct']} distinct samples ({counts['generated']} sampled over {n_frames} "
        f"frames; {counts['truncated']} hit the token limit, {counts['empty']} empty, "
        f"{counts['near_duplicates']} near-duplicates); need at least {minimum}: sample more "
        f"per frame (--samples){hint}"
    )


def length_confound(
    samples: Sequence[Sample], rewards: np.ndarray, pairs: Sequence[Pair], jackknife: Jackknife
) -> dict[str, Any]:
    """How much the reward and the pairs prefer short texts.

    * ``reward_length_spearman``: Spearman's rank correlation of reward and length (words)
      over all scored samples (negative: shorter texts score higher);
    * ``chosen_words``, ``rejected_words``: mean length of chosen and rejected texts;
    * ``difference_words``: mean over pairs of (chosen - rejected) length.

    Intervals: delete-a-group jackknife over samples or pairs
    (:class:`~personascope.metrics.estimate.Jackknife`).
    """
    lengths = np.array([words(s.text) for s in samples], dtype=float)
    out: dict[str, Any] = {"n_samples": len(samples), "n_pairs": len(pairs)}
    if len(samples) >= 3 and np.ptp(lengths) > 0 and np.ptp(rewards) > 0:

        def rho(keep: np.ndarray) -> float:
            return float(stats.spearmanr(rewards[keep], lengths[keep]).statistic)

        labels = jackknife.labels(len(samples))
        value = rho(np.ones(len(samples), dtype=bool))
        reps = jackknife.replicate(rho, labels)
        out["reward_length_spearman"] = jackknife.estimate(
            value, reps, len(samples), "Spearman rank correlation", bounds=(-1.0, 1.0)
        ).to_dict()
    if len(pairs) >= 2:
        chosen = np.array([words(p.chosen.text) for p in pairs], dtype=float)
        rejected = np.array([words(p.rejected.text) for p in pairs], dtype=float)
        labels = jackknife.labels(len(pairs))
        for key, values in (
            ("chosen_words", chosen),
            ("rejected_words", rejected),
            ("difference_words", chosen - rejected),
        ):
            reps = jackknife.replicate(lambda keep, v=values: float(v[keep].mean()), labels)
            out[key] = jackknife.estimate(
                float(values.mean()), reps, len(pairs), "mean over pairs"
            ).to_dict()
    return out
