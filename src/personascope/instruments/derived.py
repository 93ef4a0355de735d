"""A four-letter MBTI-style type *derived* from Big-Five domain scores.

This is not an MBTI assessment. McCrae & Costa (1989, Journal of Personality, 57(1),
17-40) found the four MBTI indices to correlate with four Big-Five domains:
E/I with Extraversion, N/S (intuition) with Openness, F/T (feeling) with
Agreeableness and J/P (judging) with Conscientiousness. The derived letters split
each domain at the human mean (T = 50) when norms exist, else at the scale midpoint;
``clarity`` is the distance from the split in human SD units (or scale points).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from personascope.instruments.norms import ScaleNorms

# (domain, letter when high, letter when low)
LETTERS: tuple[tuple[str, str, str], ...] = (
    ("E", "E", "I"),
    ("O", "N", "S"),
    ("A", "F", "T"),
    ("C", "J", "P"),
)
LABEL = "derived MBTI-style type (from Big-Five scores; McCrae & Costa 1989), not an MBTI result"


def derived_type(
    scores: dict[str, float], norms: ScaleNorms | None = None, points: int = 5
) -> dict[str, Any]:
    """The derived four-letter type of one profile of domain scores.

    Splits at the human mean when ``norms`` are given (clarity = |x - mean| / sd),
    else at the scale midpoint ``(points + 1) / 2`` (clarity in scale points). Returns
    ``{"type", "letters": {domain: {"letter", "clarity"}}, "split", "label"}``; the type
    is None when a needed domain score is missing.
    """
    letters: dict[str, dict[str, Any]] = {}
    for domain, high, low in LETTERS:
        value = scores.get(domain)
        if value is None or not np.isfinite(value):
            return {"type": None, "letters": {}, "split": None, "label": LABEL}
        if norms is not None:
            j = norms.index(domain)
            centre, unit = float(norms.mean[j]), float(norms.sd[j])
        else:
            centre, unit = (points + 1) / 2, 1.0
        letters[domain] = {
            "letter": high if value >= centre else low,
            "clarity": round(abs(value - centre) / unit, 3),
        }
    return {
        "type": "".join(letters[d]["letter"] for d, _, _ in LETTERS),
        "letters": letters,
        "split": "human mean (T = 50)" if norms is not None else "scale midpoint",
        "label": LABEL,
    }
