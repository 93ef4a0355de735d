"""Lexical diversity of a set of texts: distinct-n, EAD, n-gram diversity, compression
ratio and self-repetition, each exact at any corpus size and with a jackknife interval.

Texts are tokenised once into one array of integer token ids (:class:`Tokens`); the
n-grams of every order are then dense integer codes (:class:`NgramIndex`), so counting
unique n-grams in 100,000 texts is a few vectorised passes, and the leave-group-out values
the jackknife needs come from the same counts without recounting. N-grams never cross a
text boundary. Tokenisation is a recorded parameter: ``"words"`` (lower-cased word and
punctuation tokens), ``"whitespace"`` (``str.split``, case kept) or a :class:`Tokenizer`
passed in, recorded under its name: a model's tokenizer is built outside the metrics
(:func:`personascope.tokenizers.tokenization` turns ``llamacpp/<model>`` into one).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife

WORD_PATTERN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SEPARATOR = "\x01"  # joins texts for one tokenising pass; removed from the texts themselves

GZIP_LEVEL = 9
# Above this many bytes, the compression interval uses contiguous blocks (see below).
COMPRESSION_BLOCK_BYTES = 1 << 20


def tokenize_words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (the ``"words"`` tokenisation)."""
    return WORD_PATTERN.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# --- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """A tokenised corpus: text i is ``ids[offsets[i]:offsets[i + 1]]``.

    ``tokenization`` names how the ids were made; ``vocab_size`` is the tokenizer's
    vocabulary size when it has a fixed one (model tokenizers), else ``None``.
    """

    ids: np.ndarray
    offsets: np.ndarray
    tokenization: str
    vocab_size: int | None = None

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def text(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def subset(self, index: np.ndarray) -> Tokens:
        """The texts at ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.intp)
        lengths = self.lengths[index]
        starts = self.offsets[:-1][index]
        take = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        take += np.arange(int(lengths.sum()))
        return Tokens(
            self.ids[take],
            np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            self.tokenization,
            self.vocab_size,
        )

    @classmethod
    def from_lists(
        cls, token_lists: Sequence[Sequence[object]], tokenization: str, vocab_size: int | None
    ) -> Tokens:
        """Tokens from one list of tokens (strings or ints) per text."""
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        flat = [tok for tokens in token_lists for tok in tokens]
        ids = pd.factorize(np.asarray(flat, dtype=object))[0].astype(np.int64) if flat else None
        return cls(
            np.zeros(0, np.int64) if ids is None else ids,
            np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            tokenization,
            vocab_size,
        )


def _words(texts: Sequence[str]) -> Tokens:
    joined = _SEPARATOR.join(t.replace(_SEPARATOR, " ") for t in texts).lower()
    found = np.asarray(WORD_PATTERN.findall(joined), dtype=object)
    codes, uniques = pd.factorize(found)
    separator = [code for code, token in enumerate(uniques) if token == _SEPARATOR]
    is_separator = codes == separator[0] if len(separator) else np.zeros(len(codes), dtype=bool)
    boundaries = np.flatnonzero(is_separator)
    lengths = np.diff(np.concatenate(([-1], boundaries, [len(codes)]))) - 1
    return Tokens(
        codes[~is_separator].astype(np.int64),
        np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        "words",
    )


class Tokenizer(Protocol):
    """A tokenizer passed in (e.g. a model's): texts to :class:`Tokens`, whose
    ``tokenization`` is this tokenizer's ``name``."""

    @property
    def name(self) -> str: ...

    def __call__(self, texts: Sequence[str]) -> Tokens: ...


def tokenization_name(tokenization: str | Tokenizer) -> str:
    """How a tokenization is recorded: the name itself, or the tokenizer's name."""
    return tokenization if isinstance(tokenization, str) else tokenization.name


def tokenize(texts: Sequence[str], tokenization: str | Tokenizer = "words") -> Tokens:
    """Tokenise ``texts``: ``"words"``, ``"whitespace"`` or with a :class:`Tokenizer`."""
    if isinstance(texts, str):
        raise MetricInputError("expected a list of texts, got a single string")
    if len(texts) == 0:
        raise MetricInputError("no texts to measure")
    if not isinstance(tokenization, str):
        return tokenization(texts)
    if tokenization == "words":
        return _words(texts)
    if tokenization == "whitespace":
        return Tokens.from_lists([t.split() for t in texts], "whitespace", None)
    raise MetricInputError(
        f"unknown tokenization {tokenization!r}: use 'words', 'whitespace' or a tokenizer "
        "(personascope.tokenizers.tokenization builds one from a llamacpp/ model id)"
    )


# --- n-gram index ---------------------------------------------------------------------


class NgramIndex:
    """Every n-gram occurrence of a corpus as a dense integer code, per order n.

    ``occurrences(n)`` returns ``(codes, docs)``: one entry per n-gram position, the code
    identifying the n-gram (equal codes = equal n-grams) and the text it occurs in.
    Codes of order n are built from order n-1 by factorising (code, next token) pairs.
    """

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        lengths = tokens.lengths
        self._doc = np.repeat(np.arange(tokens.n), lengths)
        self._end = np.repeat(tokens.offsets[1:], lengths)
        codes = pd.factorize(tokens.ids)[0].astype(np.int64)
        self._orders: dict[int, tuple[np.ndarray, np.ndarray]] = {
            1: (codes, np.arange(len(tokens.ids)))
        }
        self._counts: dict[tuple[int, str], tuple[int, int, np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(
        cls, corpus: NgramIndex | Sequence[str], tokenization: str | Tokenizer = "words"
    ) -> NgramIndex:
        return corpus if isinstance(corpus, NgramIndex) else cls(tokenize(corpus, tokenization))

    @property
    def n(self) -> int:
        return self.tokens.n

    def occurrences(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n < 1:
            raise MetricInputError(f"n-gram order must be >= 1, got {n}")
        top = max(self._orders)
        while top < n:
            codes, positions = self._orders[top]
            keep = positions + top < self._end[positions]
            positions = positions[keep]
            width = int(self.tokens.ids.max()) + 1 if len(self.tokens.ids) else 1
            pairs = codes[keep] * width + self.tokens.ids[positions + top]
            top += 1
            self._orders[top] = (pd.factorize(pairs)[0].astype(np.int64), positions)
        codes, positions = self._orders[n]
        return codes, self._doc[positions]

    def group_counts(self, n: int, labels: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
        """(U, T, drop_k, T_k) of order n for a grouping of the texts (see
        :func:`_group_counts`); cached, since distinct-n, EAD and n-gram diversity share it."""
        key = (n, hashlib.sha1(labels.tobytes()).hexdigest())
        if key not in self._counts:
            codes, docs = self.occurrences(n)
            self._counts[key] = _group_counts(codes, labels[docs], int(labels.max()) + 1)
        return self._counts[key]


# --- distinct-n, EAD, n-gram diversity --------------------------------------------------


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, ascending (a sort and one comparison pass;
    ``np.unique`` and hashing are many times slower on millions of distinct values)."""
    return sorted_unique_counts(values)[0]


def sorted_unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer array, ascending, and how often each occurs."""
    ordered = np.sort(values)
    first = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def _group_counts(
    codes: np.ndarray, group: np.ndarray, g: int
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Unique and total n-gram counts, and per group k the unique n-grams only k has and
    the n-gram count of k: leave-group-out counts are then ``U - drop_k`` and ``T - T_k``."""
    unique = int(codes.max()) + 1 if len(codes) else 0
    pairs = sorted_unique(codes * g + group)
    pair_code, pair_group = pairs // g, pairs % g
    groups_per_code = np.bincount(pair_code, minlength=unique)
    only_one = groups_per_code[pair_code] == 1
    drop = np.bincount(pair_group[only_one], minlength=g)
    return unique, len(codes), drop, np.bincount(group, minlength=g)


def _require_ngrams(total: int, n: int) -> None:
    if total == 0:
        raise MetricInputError(f"the texts contain no {n}-gram (too short or empty)")


def distinct_n(
    texts: Sequence[str] | NgramIndex, n: int = 2, tokenization: str | Tokenizer = "words"
) -> float:
    """Distinct-n (Li et al. 2016): unique n-grams / total n-grams over all texts.

    1.0 when no n-gram repeats anywhere in the corpus; 1/T when one n-gram fills all T
    positions. Raises :class:`MetricInputError` when the texts contain no n-gram at all.
    """
    codes, _ = NgramIndex.of(texts, tokenization).occurrences(n)
    _require_ngrams(len(codes), n)
    return (int(codes.max()) + 1) / len(codes)


def distinct(index: NgramIndex, n: int, jackknife: Jackknife) -> Estimate:
    """Distinct-n with its jackknife interval (see :func:`distinct_n`)."""
    labels = jackknife.labels(index.n)
    unique, total, drop, per_group = index.group_counts(n, labels)
    _require_ngrams(total, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = (unique - drop) / (total - per_group)
    return jackknife.estimate(
        unique / total,
        replicates,
        index.n,
        "exact",
        {"order": n, "tokenization": index.tokens.tokenization, "ngrams": total},
        bounds=(0.0, 1.0),
    )


def expected_distinct(vocab_size: int, count: np.ndarray | int) -> np.ndarray | float:
    """E[#distinct] when ``count`` tokens are drawn uniformly from ``vocab_size`` types:
    V * (1 - ((V - 1) / V)^C)  (Liu et al. 2022, eq. 3)."""
    return -vocab_size * np.expm1(np.asarray(count, dtype=float) * math.log1p(-1.0 / vocab_size))


def ead(index: NgramIndex, n: int, vocab_size: int, jackknife: Jackknife) -> Estimate:
    """Expectation-adjusted distinct n-grams (Liu et al. 2022, "Rethinking and Refining the
    Distinct Metric", ACL):

        EAD_n = N_unique / (V * (1 - ((V - 1) / V)^C))

    with C the total number of n-grams and V the vocabulary size (a parameter: the
    tokenizer's vocabulary for model tokenizers). Unlike distinct-n it does not fall
    merely because the texts are longer.
    """
    if vocab_size < 1:
        raise MetricInputError(f"EAD vocabulary size must be >= 1, got {vocab_size}")
    labels = jackknife.labels(index.n)
    unique, total, drop, per_group = index.group_counts(n, labels)
    _require_ngrams(total, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = (unique - drop) / expected_distinct(vocab_size, total - per_group)
    return jackknife.estimate(
        unique / float(expected_distinct(vocab_size, total)),
        replicates,
        index.n,
        "exact",
        {"order": n, "vocab_size": vocab_size, "tokenization": index.tokens.tokenization},
    )


def ngram_diversity(index: NgramIndex, jackknife: Jackknife, max_n: int = 4) -> Estimate:
    """N-gram diversity (Meister et al. 2022; Padmakumar & He 2024; Shaib et al. 2024):

        NGD = sum_{n=1}^{max_n} unique n-grams / total n-grams,

    in (0, max_n]; max_n when no n-gram of any order repeats. Here n-grams stay within a
    text (the published definition concatenates the texts).
    """
    labels = jackknife.labels(index.n)
    value, replicates = 0.0, 0.0
    for n in range(1, max_n + 1):
        unique, total, drop, per_group = index.group_counts(n, labels)
        _require_ngrams(total, n)
        value += unique / total
        with np.errstate(divide="ignore", invalid="ignore"):
            replicates = replicates + (unique - drop) / (total - per_group)
    return jackknife.estimate(
        value,
        np.asarray(replicates),
        index.n,
        "exact",
        {"max_n": max_n, "tokenization": index.tokens.tokenization},
        bounds=(0.0, float(max_n)),
    )


# --- self-repetition ------------------------------------------------------------------


def self_repetition(index: NgramIndex, jackknife: Jackknife, n: int = 4) -> Estimate:
    """Self-repetition score (Salkar et al. 2022; as in Shaib et al. 2024):

        SRS = (1/N) sum_i log(1 + sum_{g in G_i} (df(g) - 1)),

    G_i the distinct n-grams of text i, df(g) the number of texts containing g. 0 when no
    text shares an n-gram with another (fully disjoint); log(1 + (N-1)|G|) for N
    identical texts. Higher = more repetition across texts = less diverse.
    """
    codes, docs = index.occurrences(n)
    _require_ngrams(len(codes), n)
    n_texts = index.n
    unique = int(codes.max()) + 1
    pairs = sorted_unique(docs.astype(np.int64) * unique + codes)
    pair_doc, pair_code = pairs // unique, pairs % unique
    df = np.bincount(pair_code, minlength=unique)
    shared = np.bincount(pair_doc, weights=df[pair_code] - 1, minlength=n_texts)
    value = float(np.mean(np.log1p(shared)))

    labels = jackknife.labels(n_texts)
    g = int(labels.max()) + 1
    pair_group = labels[pair_doc]
    replicates = np.empty(g)
    for k in range(g):
        # df_k(code): texts of group k containing the n-gram. Leaving group k out lowers
        # the sum of every other text by the df_k of its n-grams.
        df_k = np.bincount(pair_code[pair_group == k], minlength=unique)
        lost = np.bincount(pair_doc, weights=df_k[pair_code], minlength=n_texts)
        keep = labels != k
        replicates[k] = np.mean(np.log1p(shared[keep] - lost[keep]))
    return jackknife.estimate(
        value,
        replicates,
        n_texts,
        "exact",
        {"order": n, "tokenization": index.tokens.tokenization},
        bounds=(0.0, math.inf),
    )


# --- compression ratio ----------------------------------------------------------------


def _gzip_size(texts: Sequence[str]) -> tuple[int, int]:
    raw = "\n".join(texts).encode("utf-8")
    return len(raw), len(gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0))


def compression_ratio_value(texts: Sequence[str]) -> float:
    """UTF-8 bytes of the texts joined by newlines / their gzip size, compressed once."""
    if len(texts) == 0:
        raise MetricInputError("no texts to measure")
    raw, packed = _gzip_size(texts)
    return raw / packed


def compression_ratio(texts: Sequence[str], jackknife: Jackknife, name: str = "text") -> Estimate:
    """Compression ratio (Shaib et al. 2024, "Standardizing the Measurement of Text
    Diversity"): the UTF-8 bytes of the texts joined by newlines divided by the size of
    their gzip compression (level 9), compressed once. Higher = more redundancy = less
    diverse; about 2-3 for varied English prose.

    gzip sees 32 KB back, so the ratio depends on text order (texts are kept in the
    given order). Interval: up to 1 MiB, the delete-a-group jackknife over texts (each
    leave-group-out corpus compressed again); beyond, the corpus is cut into g contiguous
    blocks (each far larger than the window), each compressed separately, and the
    delete-a-block jackknife of the ratio sum(raw) / sum(compressed) gives the standard
    error around the once-compressed value.
    """
    value = compression_ratio_value(texts)
    n = len(texts)
    labels = jackknife.labels(n)
    g = int(labels.max()) + 1
    total_raw = sum(len(t.encode("utf-8")) for t in texts) + n - 1
    if total_raw <= COMPRESSION_BLOCK_BYTES:
        replicates = jackknife.replicate(
            lambda keep: compression_ratio_value([t for t, k in zip(texts, keep) if k]), labels
        )
        computation = "compressed once"
    else:
        blocks = np.array_split(np.arange(n), g)
        sizes = np.array([_gzip_size([texts[i] for i in block]) for block in blocks])
        raw, packed = sizes.sum(axis=0)
        replicates = (raw - sizes[:, 0]) / (packed - sizes[:, 1])
        computation = "compressed once; blocks for the interval"
    return jackknife.estimate(
        value, replicates, n, computation, {"of": name, "gzip_level": GZIP_LEVEL}
    )
