"""Lexical diversity of a set of texts."""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize_words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (the ``"words"`` tokenisation)."""
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n (Li et al. 2016): unique n-grams / total n-grams over all texts.

    1.0 when no n-gram repeats anywhere in the corpus; 1/T when one n-gram fills all T
    positions. Raises ``ValueError`` when the texts contain no n-gram at all.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams = [g for text in texts for g in ngrams(tokenize_words(text), n)]
    if not grams:
        raise ValueError(f"distinct-{n} needs at least one {n}-gram; the texts have none")
    return len(set(grams)) / len(grams)
