"""Matching two populations of texts before comparing set-level metrics.

Distinct-n, compression ratio, self-BLEU, Vendi, clusters and nearest-neighbour distances
all move with the number of texts and with their length, so a comparison of two
populations is only fair at the same n and the same length. :func:`match_texts` truncates
every text to the same number of word tokens (keeping the original characters up to the
end of that token) and subsamples the larger population without replacement, with a
recorded seed; the record goes into the output so that readers know what was compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.lexical import WORD_PATTERN


def word_counts(texts: Sequence[str]) -> np.ndarray:
    """Number of ``"words"`` tokens of each text."""
    return np.array([len(WORD_PATTERN.findall(t)) for t in texts], dtype=np.int64)


def truncate_words(text: str, length: int) -> str:
    """The prefix of ``text`` that holds its first ``length`` word/punctuation tokens."""
    if length < 1:
        raise MetricInputError(f"truncation length must be >= 1, got {length}")
    for count, match in enumerate(WORD_PATTERN.finditer(text), start=1):
        if count == length:
            return text[: match.end()]
    return text


def match_populations(
    groups: dict[str, Sequence[str]], *, seed: int = 0, length: int | None = None
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Every population at the same n and the same maximum length, plus what was done.

    n = the smallest population's size: larger ones are subsampled without replacement
    (``numpy.random.default_rng([seed, 3])``, in the order of ``groups``). Texts are
    truncated to ``length`` tokens, by default the smallest of the populations' median
    lengths.
    """
    if len(groups) < 2 or any(len(texts) < 2 for texts in groups.values()):
        sizes = ", ".join(str(len(texts)) for texts in groups.values())
        raise MetricInputError(f"matching needs two populations of at least 2 texts ({sizes})")
    n = min(len(texts) for texts in groups.values())
    rng = np.random.default_rng([seed, 3])
    picked = {}
    for name, texts in groups.items():
        index = np.sort(rng.choice(len(texts), size=n, replace=False)) if len(texts) > n else None
        picked[name] = list(texts) if index is None else [texts[i] for i in index]
    if length is None:
        length = int(min(np.median(word_counts(texts)) for texts in picked.values()))
    length = max(length, 1)
    matched = {name: [truncate_words(t, length) for t in texts] for name, texts in picked.items()}
    record = {
        "n": n,
        "from_n": [len(texts) for texts in groups.values()],
        "truncated_to_words": length,
        "seed": seed,
        "how": "larger populations subsampled without replacement; texts cut after `length` tokens",
    }
    return matched, record


def match_texts(
    a: Sequence[str], b: Sequence[str], *, seed: int = 0, length: int | None = None
) -> tuple[list[str], list[str], dict[str, Any]]:
    """``a`` and ``b`` at the same n and the same maximum length (see
    :func:`match_populations`), plus what was done."""
    matched, record = match_populations({"a": a, "b": b}, seed=seed, length=length)
    return matched["a"], matched["b"], record
