"""Distinct classes under resampling (NoveltyBench; Zhang et al. 2025, "NoveltyBench:
Evaluating Language Models for Humanlike Diversity").

Given k outputs y_1..y_k for one prompt and an equivalence relation ~ between outputs,
NoveltyBench partitions the outputs greedily: in order, y_i joins the first existing
class whose *representative* (its first member) is equivalent to it, else it founds a
new class. The measures are

    distinct = number of classes (1 = the k outputs are one answer; k = all differ),
    sizes    = the class sizes (in order of first appearance, summing to k),
    largest_share = max(sizes) / k.

NoveltyBench decides equivalence with a trained classifier; here it is pluggable:

* ``exact``: equal after normalisation (Unicode NFKC, case-folded, punctuation removed,
  whitespace collapsed);
* ``embedding``: cosine similarity of the sentence embeddings >= ``threshold`` (0.8 by
  default, the threshold of the panel's near-duplicate clusters);
* ``ast``: for Python code, equal normalised syntax trees
  (:func:`personascope.metrics.code.normalised_ast`: docstrings, comments, formatting and
  the names the code binds do not matter); code that does not parse is compared by
  ``exact`` and counted in ``unparseable``;
* any function ``same(a, b) -> bool`` of two texts.

With a threshold (not transitive) the partition depends on the order, as in NoveltyBench;
the order used is the order given (e.g. seed order).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.code import extract_code, normalised_ast
from personascope.metrics.estimate import Estimate, sample_indices
from personascope.metrics.semantic import CLUSTER_LIMIT, CLUSTER_THRESHOLD, unit_rows

EquivalenceName = Literal["exact", "embedding", "ast"]
EQUIVALENCES: tuple[str, ...] = ("exact", "embedding", "ast")
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class DistinctClasses:
    """The partition of k outputs: ``labels[i]`` is the class of output i."""

    count: int
    sizes: tuple[int, ...]
    labels: tuple[int, ...]
    equivalence: str
    unparseable: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.labels)

    @property
    def largest_share(self) -> float:
        return max(self.sizes) / self.k

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "k": self.k,
            "sizes": list(self.sizes),
            "largest_share": self.largest_share,
            "equivalence": self.equivalence,
            "unparseable": self.unparseable,
            **({"params": self.params} if self.params else {}),
        }


def normalise_text(text: str) -> str:
    """NFKC, case-folded, punctuation removed, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def greedy_partition(k: int, same: Callable[[int, int], bool]) -> tuple[int, ...]:
    """NoveltyBench's greedy partition of items 0..k-1: each joins the first class whose
    representative (first member) it is ``same`` as, else founds a class."""
    representatives: list[int] = []
    labels = []
    for i in range(k):
        for c, rep in enumerate(representatives):
            if same(rep, i):
                labels.append(c)
                break
        else:
            labels.append(len(representatives))
            representatives.append(i)
    return tuple(labels)


def distinct_classes(
    texts: Sequence[str],
    equivalence: EquivalenceName | Callable[[str, str], bool] = "exact",
    *,
    threshold: float = CLUSTER_THRESHOLD,
    embeddings: np.ndarray | None = None,
    embedder: Any | None = None,
) -> DistinctClasses:
    """Partition ``texts`` into equivalence classes (module docstring); ``embeddings``
    (one row per text) or ``embedder`` (with ``.embed(texts)``) serve ``embedding``."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise MetricInputError("distinct classes need a list of texts (strings)")
    if len(texts) < 1:
        raise MetricInputError("distinct classes need at least one text")
    k = len(texts)
    if callable(equivalence):
        same = equivalence
        labels = greedy_partition(k, lambda a, b: bool(same(texts[a], texts[b])))
        return _finish(labels, getattr(same, "__name__", "custom"), 0, {})
    if equivalence in ("exact", "ast"):
        unparseable = 0
        keys = [normalise_text(t) for t in texts]
        if equivalence == "ast":
            trees = [normalised_ast(extract_code(t)) for t in texts]
            unparseable = sum(tree is None for tree in trees)
            keys = [f"ast:{tree}" if tree is not None else f"text:{key}"
                    for tree, key in zip(trees, keys, strict=True)]  # fmt: skip
        return _finish(_by_key(keys), str(equivalence), unparseable, {})
    if equivalence == "embedding":
        if not 0.0 < threshold <= 1.0:
            raise MetricInputError(f"cosine threshold must be in (0, 1], got {threshold}")
        if embeddings is None:
            if embedder is None:
                raise MetricInputError("embedding equivalence needs embeddings or an embedder")
            embeddings = embedder.embed(list(texts))
        if len(embeddings) != k:
            raise MetricInputError(f"{len(embeddings)} embeddings for {k} texts")
        params = {"threshold": threshold, "similarity": "cosine"}
        labels = _by_cosine(unit_rows(np.asarray(embeddings, dtype=float)), threshold)
        return _finish(labels, "embedding", 0, params)
    raise MetricInputError(f"unknown equivalence {equivalence!r}; known: {', '.join(EQUIVALENCES)}")


def _finish(
    labels: tuple[int, ...], name: str, unparseable: int, params: dict[str, Any]
) -> DistinctClasses:
    count = max(labels) + 1
    sizes = tuple(int(n) for n in np.bincount(labels, minlength=count))
    return DistinctClasses(count, sizes, labels, name, unparseable, params)


def _by_key(keys: Sequence[str]) -> tuple[int, ...]:
    """The greedy partition under key equality (transitive: one pass with a dict)."""
    classes: dict[str, int] = {}
    return tuple(classes.setdefault(key, len(classes)) for key in keys)


def _by_cosine(u: np.ndarray, threshold: float) -> tuple[int, ...]:
    """The greedy partition under cosine >= threshold, each item compared with all
    representatives at once (O(k x classes x d))."""
    representatives = np.empty((0, u.shape[1]))
    labels = []
    for row in u:
        hits = np.flatnonzero(representatives @ row >= threshold - 1e-9)
        if len(hits):
            labels.append(int(hits[0]))
        else:
            labels.append(len(representatives))
            representatives = np.vstack([representatives, row])
    return tuple(labels)


def distinct_classes_estimate(
    texts: Sequence[str],
    embeddings: np.ndarray | None,
    threshold: float = CLUSTER_THRESHOLD,
    limit: int = CLUSTER_LIMIT,
    seed: int = 0,
) -> Estimate:
    """The number of distinct classes of a whole set, as a panel entry: embedding
    equivalence when ``embeddings`` are given, else normalised exact; above ``limit``
    texts on a seeded random subset. No interval: the count is a property of this set."""
    chosen, sampling = sample_indices(len(texts), limit, seed)
    subset = [texts[i] for i in chosen]
    if embeddings is None:
        result = distinct_classes(subset, "exact")
    else:
        result = distinct_classes(
            subset, "embedding", threshold=threshold, embeddings=np.asarray(embeddings)[chosen]
        )
    return Estimate(
        float(result.count),
        None,
        len(subset),
        f"{sampling}; NoveltyBench greedy partition ({result.equivalence})",
        {**result.params, "equivalence": result.equivalence,
         "largest_share": result.largest_share},
    )  # fmt: skip
