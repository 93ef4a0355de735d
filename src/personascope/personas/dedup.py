"""Deduplication: exact duplicates and near-duplicates (MinHash LSH), first one kept.

* **Exact**: texts equal after lower-casing and collapsing whitespace.
* **Near**: estimated Jaccard similarity of the texts' word 3-gram shingle sets at or
  above ``threshold``. Each text gets a MinHash signature (Broder 1997) with
  ``num_perm`` permutations; locality-sensitive hashing over bands of the signature
  (``datasketch.MinHashLSH``) finds candidate pairs in about linear time, and a
  candidate counts as a duplicate only if its estimated Jaccard similarity is
  >= ``threshold`` (LSH alone also returns some pairs below it).

Texts are processed in order, so the earliest of a group of duplicates is kept and
each dropped text names the kept one it duplicates. Everything is deterministic
(fixed MinHash seed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from personascope.metrics.lexical import ngrams, tokenize_words

DEFAULT_THRESHOLD = 0.8
NUM_PERM = 128
SHINGLE = 3
MINHASH_SEED = 1


@dataclass(frozen=True)
class Dropped:
    index: int
    duplicate_of: int
    kind: str  # "exact" or "near"
    similarity: float


@dataclass(frozen=True)
class DedupResult:
    kept: tuple[int, ...]
    dropped: tuple[Dropped, ...]
    threshold: float

    def summary(self) -> dict[str, Any]:
        return {
            "n_in": len(self.kept) + len(self.dropped),
            "n_kept": len(self.kept),
            "dropped_exact": sum(d.kind == "exact" for d in self.dropped),
            "dropped_near": sum(d.kind == "near" for d in self.dropped),
            "threshold": self.threshold,
            "method": f"exact + MinHash LSH on word {SHINGLE}-grams, {NUM_PERM} permutations",
        }


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Word ``size``-grams of a text (the whole text as one shingle when shorter)."""
    tokens = tokenize_words(text)
    grams = ngrams(tokens, size)
    return {" ".join(g) for g in grams} if grams else {" ".join(tokens)}


def deduplicate(
    texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM
) -> DedupResult:
    """Indices of texts to keep, and why each other text was dropped."""
    if not 0 < threshold <= 1:
        raise ValueError(f"the near-duplicate threshold must be in (0, 1], got {threshold}")
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures: dict[int, MinHash] = {}
    exact: dict[str, int] = {}
    kept: list[int] = []
    dropped: list[Dropped] = []
    for i, text in enumerate(texts):
        key = hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()
        if key in exact:
            dropped.append(Dropped(i, exact[key], "exact", 1.0))
            continue
        signature = MinHash(num_perm=num_perm, seed=MINHASH_SEED)
        signature.update_batch([s.encode("utf-8") for s in shingles(text)])
        best = max(
            ((signature.jaccard(signatures[j]), j) for j in lsh.query(signature)),
            default=(0.0, -1),
        )
        if best[0] >= threshold:
            dropped.append(Dropped(i, best[1], "near", float(best[0])))
            continue
        exact[key] = i
        signatures[i] = signature
        lsh.insert(i, signature)
        kept.append(i)
    return DedupResult(tuple(kept), tuple(dropped), threshold)
