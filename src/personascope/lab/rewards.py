"""Rewards that decide which of two samples is preferred, by name.

A reward maps one :class:`Sample` (a base-model completion of a persona frame, with the
log-probabilities of its tokens) to a number; higher is preferred. Two ship:

* ``typicality`` (default): the mean per-token log-probability of the completion under the
  base model, r(y | x) = (1/T) sum_t log p_base(y_t | x, y_<t). Zhang et al. (2025),
  "Verbalized Sampling: How to Mitigate Mode Collapse and Unlock LLM Diversity", argue that
  human preference data carries a *typicality bias*: annotators favour familiar text, so the
  learned reward is r(x, y) = r_true(x, y) + alpha log p_ref(y | x) with alpha > 0, and
  optimising it sharpens the policy toward the reference model's modes. This reward is the
  alpha log p_ref term alone (per token, so that it is not simply a preference for shortness;
  the remaining length confound is measured, see :mod:`personascope.lab.pairs`).
* ``polish``: social desirability of the personality the profile states, read with
  Goldberg's (1992) public-domain adjective markers
  (:mod:`personascope.instruments.adjectives`). Each marker hit h gets d_h = +1 when it marks
  the desirable pole (high openness, conscientiousness, extraversion, agreeableness; low
  neuroticism) and -1 otherwise (negation flips it), with weight w_h = 2 for agreeableness
  markers and 1 for the others:

      r = sum_h w_h d_h / (1 + sum_h w_h)     in (-1, 1); 0 with no marker.

  The +1 shrinks profiles with few markers toward 0. This is the lab's own construction
  (a stand-in for annotators who prefer pleasant, agreeable characters), not a published
  scale.

More rewards plug in with :func:`register_reward`. :func:`score` checks every value: a
reward that raises or returns NaN or infinity stops the lab with one line naming the reward
and the sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from personascope.errors import LabError
from personascope.instruments.adjectives import find_markers
from personascope.lab.frames import profile_text


@dataclass(frozen=True)
class Sample:
    """One completion of a frame: its text, seed and per-token log-probabilities."""

    frame: str
    seed: int
    text: str
    token_logprobs: tuple[float, ...]

    @property
    def profile(self) -> str:
        return profile_text(self.text)

    @property
    def label(self) -> str:
        return f"frame {self.frame!r}, seed {self.seed}"


@dataclass(frozen=True)
class Reward:
    name: str
    function: Callable[[Sample], float]
    description: str


def typicality(sample: Sample) -> float:
    """Mean per-token log-probability (nats) of the completion under the base model."""
    if not sample.token_logprobs:
        raise ValueError("the completion has no tokens")
    return float(np.mean(sample.token_logprobs))


AGREEABLENESS_WEIGHT = 2.0


def polish(sample: Sample) -> float:
    """sum_h w_h d_h / (1 + sum_h w_h) over Goldberg marker hits (see the module docstring)."""
    total = weights = 0.0
    for hit in find_markers(sample.profile):
        desirable = -hit.key if hit.marker.domain == "N" else hit.key
        weight = AGREEABLENESS_WEIGHT if hit.marker.domain == "A" else 1.0
        total += weight * desirable
        weights += weight
    return total / (1.0 + weights)


REWARDS: dict[str, Reward] = {
    "typicality": Reward(
        "typicality",
        typicality,
        "mean per-token log-probability under the base model (typicality bias, Zhang et al. 2025)",
    ),
    "polish": Reward(
        "polish",
        polish,
        "social desirability of the stated personality: Goldberg (1992) markers, "
        "agreeableness weighted 2",
    ),
}


def register_reward(name: str, function: Callable[[Sample], float], description: str) -> None:
    """Make ``function`` available as ``--reward name`` (replaces a reward of that name)."""
    REWARDS[name] = Reward(name, function, description)


def get_reward(name: str) -> Reward:
    if name not in REWARDS:
        raise LabError(f"unknown reward {name!r}; known rewards: {', '.join(sorted(REWARDS))}")
    return REWARDS[name]


def score(reward: Reward, samples: Sequence[Sample]) -> np.ndarray:
    """The reward of every sample; one-line :class:`LabError` on an exception or NaN/inf."""
    values = np.empty(len(samples), dtype=float)
    for i, sample in enumerate(samples):
        try:
            value = float(reward.function(sample))
        except Exception as exc:  # a user's reward may fail in any way
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise LabError(
                f"reward {reward.name!r} failed on the sample of {sample.label}: "
                f"{type(exc).__name__}: {message}"
            ) from exc
        if not math.isfinite(value):
            raise LabError(
                f"reward {reward.name!r} returned {value} for the sample of {sample.label}"
            )
        values[i] = value
    return values
