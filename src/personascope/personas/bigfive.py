"""Big Five targets for personas: T-scores, sampled independently or jointly, and the
words that express them.

T-scores put a trait level on the scale of a human reference population:
``T = 50 + 10 z`` with ``z`` the standard score, so 50 is the human mean and 60 one
standard deviation above it. Three ways to draw a profile:

* ``t_scores``: each domain independently, ``T ~ N(mean, sd)``;
* ``joint``: ``T = 50 + 10 L z`` with ``z ~ N(0, I)`` and ``L`` the Cholesky factor of a
  given 5 x 5 correlation matrix R, so the T-scores have the correlations R;
* ``human``: the profile of a human-like respondent drawn from the IPIP-50 human norms
  (``personascope.instruments.norms``: a Gaussian copula on the 19,719 respondents'
  normal-scores correlations with their exact score distributions), as T-scores
  against the same norms, so trait levels and combinations are as common as in people.

Draws are clipped to [20, 80] (three standard deviations), where adjectives still mean
something. A profile is put into words with Goldberg's (1992) markers: the pole's
adjective with a qualifier for the distance from 50 (``somewhat`` from 0.5 SD,
``very`` from 1 SD, ``extremely`` from 2 SD); domains within 0.5 SD of the mean get no
word (an average level is the absence of a salient trait).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from personascope.errors import PersonascopeError
from personascope.instruments.adjectives import DOMAIN_NAMES, DOMAINS, markers_for
from personascope.instruments.norms import ScaleNorms, load_norms

T_MIN, T_MAX = 20.0, 80.0
LEVELS = ("low", "average", "high")
_QUALIFIERS = ((2.0, "extremely"), (1.0, "very"), (0.5, "somewhat"))


def check_correlation(matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """A 5 x 5 correlation matrix as an array; ``ValueError`` naming what is wrong."""
    r = np.asarray(matrix, dtype=float)
    if r.shape != (5, 5):
        raise ValueError(f"the correlation matrix must be 5 x 5 (O, C, E, A, N), got {r.shape}")
    if not np.allclose(r, r.T, atol=1e-9):
        raise ValueError("the correlation matrix is not symmetric")
    if not np.allclose(np.diag(r), 1.0, atol=1e-9) or np.any(np.abs(r) > 1 + 1e-9):
        raise ValueError("a correlation matrix needs 1 on the diagonal and entries in [-1, 1]")
    if np.linalg.eigvalsh(r).min() <= 0:
        raise ValueError("the correlation matrix is not positive definite")
    return r


def sample_independent(rng: np.random.Generator, mean: float = 50.0, sd: float = 10.0) -> dict:
    """One profile with each domain ``T ~ N(mean, sd)``, clipped to [20, 80]."""
    draws = rng.normal(mean, sd, size=len(DOMAINS))
    return {d: round(float(np.clip(t, T_MIN, T_MAX)), 1) for d, t in zip(DOMAINS, draws)}


def sample_joint(rng: np.random.Generator, correlation: np.ndarray) -> dict:
    """One profile ``T = 50 + 10 L z`` (``L L' = R``), clipped to [20, 80]."""
    z = np.linalg.cholesky(correlation) @ rng.standard_normal(len(DOMAINS))
    return {d: round(float(np.clip(50 + 10 * v, T_MIN, T_MAX)), 1) for d, v in zip(DOMAINS, z)}


@lru_cache(maxsize=2)
def _human_norms(inventory: str) -> ScaleNorms | None:
    return load_norms(inventory)


def sample_human(rng: np.random.Generator, inventory: str = "ipip50") -> dict:
    """One human-like profile as T-scores (see the module docstring), clipped to [20, 80]."""
    norms = _human_norms(inventory)
    if norms is None:
        raise PersonascopeError(f"big_five mode 'human' needs human norms for {inventory!r}")
    scores = norms.sample(1, seed=int(rng.integers(2**63)))
    t_scores = norms.t_scores(scores)[0]
    return {d: round(float(np.clip(t_scores[norms.index(d)], T_MIN, T_MAX)), 1) for d in DOMAINS}


def level(t_score: float) -> str:
    """``low`` below T = 45, ``high`` above 55, else ``average`` (half an SD each way)."""
    if t_score < 45:
        return "low"
    if t_score > 55:
        return "high"
    return "average"


def describe_profile(t_scores: dict[str, float], rng: np.random.Generator) -> list[str]:
    """Qualified marker adjectives for the domains at least 0.5 SD from the mean."""
    words = []
    for domain in DOMAINS:
        z = (t_scores[domain] - 50.0) / 10.0
        qualifier = next((q for bound, q in _QUALIFIERS if abs(z) >= bound), None)
        if qualifier is None:
            continue
        pole = markers_for(domain, 1 if z > 0 else -1)
        words.append(f"{qualifier} {pole[int(rng.integers(len(pole)))]}")
    return words


def domain_question(domain: str) -> str:
    return f"How would you rate this person's {DOMAIN_NAMES[domain]}?"
