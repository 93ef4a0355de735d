"""The diversity panel: every metric for a list of texts in one call, as a JSON-able dict.

This is the entry point the collapse and scaffold studies and the ``diversity`` command
use. Each metric comes as ``{"value", "low", "high", "n", "method", "params", "direction"}``
(:meth:`~personascope.metrics.estimate.Estimate.to_dict` plus whether higher means more
or less diverse). :func:`compare_texts` matches two populations in n and length first and
adds the coverage of one by the other in embedding space; :func:`diversity_report` reads
JSONL files for the command line.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics import lexical, overlap
from personascope.metrics import semantic as sem
from personascope.metrics.by_input import (
    cosine_diversity_value,
    ead_mean_of_tokens,
    input_diversity,
)
from personascope.metrics.coverage import coverage_metrics
from personascope.metrics.distinct import distinct_classes, distinct_classes_estimate
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import Estimate, Jackknife, estimate_dict, jsonable
from personascope.metrics.files import labels_of, read_jsonl, texts_of, vectors_of
from personascope.metrics.matching import match_texts
from personascope.metrics.trait_reach import CoverageBaseline, trait_reach

# EAD needs a vocabulary size; word tokens have no fixed vocabulary, so this convention
# (recorded in the output) stands in; model tokenizers use their own vocabulary size.
DEFAULT_EAD_VOCAB = 50_000
# Size of the sample drawn from the human Big-Five norms for `--against human` (coverage
# uses at most 5,000 reference points anyway).
HUMAN_REFERENCE_N = 5000

MORE = "higher = more diverse"
LESS = "higher = less diverse"
DIRECTIONS = {
    "distinct": MORE,
    "ead": MORE,
    "ngram_diversity": MORE,
    "compression_ratio": LESS,
    "self_repetition": LESS,
    "self_bleu": LESS,
    "rouge_l_homogenization": LESS,
    "pos_compression_ratio": LESS,
    "pos_ngram_diversity": MORE,
    "mean_cosine_distance": MORE,
    "vendi": MORE,
    "clusters": MORE,
    "distinct_classes": MORE,
    "largest_cluster_share": LESS,
    "nn_distance_mean": MORE,
    "coverage": MORE,
    "uniformity": MORE,
    "variance_ratio": "1 = as spread as the reference; below 1 = narrower",
    "logdet_ratio": "0 = same volume as the reference; negative = smaller",
    "energy_distance": "0 = same distribution as the reference",
    "per_input": MORE,
    "across_input": MORE,
}


def direction(name: str) -> str:
    for prefix, words in DIRECTIONS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return words
    return "descriptive"


@dataclass(frozen=True)
class PanelSettings:
    """Every choice the panel makes, recorded in its output."""

    tokenization: str | lexical.Tokenizer = "words"
    ead_vocab_size: int | None = None
    max_n: int = 4
    syntactic: bool = True
    semantic: bool = True
    cluster_threshold: float = sem.CLUSTER_THRESHOLD
    self_bleu_limit: int = overlap.SELF_BLEU_LIMIT
    rouge_limit: int = overlap.ROUGE_LIMIT
    cluster_limit: int = sem.CLUSTER_LIMIT
    neighbour_limit: int = sem.NEIGHBOUR_LIMIT
    jackknife: Jackknife = field(default_factory=Jackknife)

    def record(self) -> dict[str, Any]:
        return jsonable(
            asdict(replace(self, tokenization=lexical.tokenization_name(self.tokenization)))
        )


def _entries(estimates: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, item in estimates.items():
        if isinstance(item, Estimate):
            out[name] = {**item.to_dict(), "direction": direction(name)}
        elif (
            isinstance(item, dict) and item and all(isinstance(v, Estimate) for v in item.values())
        ):
            out[name] = {k: {**v.to_dict(), "direction": direction(name)} for k, v in item.items()}
        else:
            out[name] = jsonable(item)
    return out


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise MetricInputError("expected a list of texts (strings)")
    if len(texts) < 2:
        raise MetricInputError(
            f"diversity is a property of a set: it needs at least 2 texts, got {len(texts)}"
        )


def _collect(n: int, parts: list[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Run each (name, compute); a metric the texts cannot support (too short, too few)
    becomes an entry with no value and the reason, instead of failing the whole panel."""
    out: dict[str, Any] = {}
    for name, compute in parts:
        try:
            result = compute()
        except MetricInputError as exc:
            out[name] = estimate_dict(None, None, n, "not computed", note=str(exc))
            continue
        if isinstance(result, dict):
            out.update(result)
        else:
            out[name] = result
    return out


def lexical_metrics(texts: Sequence[str], settings: PanelSettings) -> dict[str, Any]:
    """Distinct-n and EAD (n = 1..max_n), n-gram diversity, compression ratio,
    self-repetition, self-BLEU and ROUGE-L homogenization."""
    jk = settings.jackknife
    index = lexical.NgramIndex(lexical.tokenize(texts, settings.tokenization))
    vocab = settings.ead_vocab_size or index.tokens.vocab_size or DEFAULT_EAD_VOCAB
    orders = range(1, settings.max_n + 1)
    return _collect(
        len(texts),
        [
            *((f"distinct_{n}", partial(lexical.distinct, index, n, jk)) for n in orders),
            *((f"ead_{n}", partial(lexical.ead, index, n, vocab, jk)) for n in orders),
            ("ngram_diversity", partial(lexical.ngram_diversity, index, jk, settings.max_n)),
            ("compression_ratio", partial(lexical.compression_ratio, texts, jk)),
            ("self_repetition", partial(lexical.self_repetition, index, jk, settings.max_n)),
            (
                "self_bleu",
                partial(overlap.self_bleu, index, jk, settings.max_n, settings.self_bleu_limit),
            ),
            (
                "rouge_l_homogenization",
                partial(overlap.rouge_l_homogenization, index, jk, settings.rouge_limit),
            ),
        ],
    )


def semantic_metrics(vectors: np.ndarray, settings: PanelSettings) -> dict[str, Any]:
    """Mean pairwise cosine distance, Vendi scores, clusters, nearest-neighbour distances."""
    jk = settings.jackknife
    return _collect(
        len(vectors),
        [
            ("mean_cosine_distance", partial(sem.mean_cosine_distance, vectors, jk)),
            ("vendi", partial(sem.vendi, vectors, jk)),
            (
                "clusters",
                partial(
                    sem.clusters, vectors, jk, settings.cluster_threshold, settings.cluster_limit
                ),
            ),
            (
                "nn_distance_mean",
                partial(sem.nearest_neighbours, vectors, jk, settings.neighbour_limit),
            ),
        ],
    )


def text_panel(
    texts: Sequence[str],
    *,
    settings: PanelSettings | None = None,
    embedder: Embedder | None = None,
    embeddings: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every diversity metric of ``texts`` with its interval, n and method.

    ``embeddings`` (one row per text) skip the embedder; otherwise ``embedder`` (or a new
    one without a cache) embeds the texts when ``settings.semantic`` is on.
    """
    settings = settings or PanelSettings()
    _check_texts(texts)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def timed(group: str, compute: Any) -> Any:
        begin = time.perf_counter()
        result = compute()
        timings[group] = round(time.perf_counter() - begin, 3)
        return result

    metrics: dict[str, Any] = timed("lexical", lambda: lexical_metrics(texts, settings))
    if settings.syntactic:
        from personascope.metrics.syntactic import syntactic_metrics

        metrics.update(
            timed(
                "syntactic",
                lambda: _collect(
                    len(texts),
                    [("syntactic", partial(syntactic_metrics, texts, settings.jackknife))],
                ),
            )
        )
    embedder_name = None
    if settings.semantic:
        if embeddings is None:
            embedder = embedder or Embedder()
            embedder_name = embedder.name
            embeddings = timed("embedding", lambda: embedder.embed(texts))
        if len(embeddings) != len(texts):
            raise MetricInputError(f"{len(embeddings)} embeddings for {len(texts)} texts")
        metrics.update(timed("semantic", lambda: semantic_metrics(embeddings, settings)))
    metrics["distinct_classes"] = distinct_classes_estimate(
        texts,
        embeddings,
        settings.cluster_threshold,
        settings.cluster_limit,
        settings.jackknife.seed,
    )
    lengths = lexical.tokenize(texts, "words").lengths
    return {
        "n": len(texts),
        "mean_length_words": float(lengths.mean()),
        "settings": settings.record(),
        "embedder": embedder_name,
        "metrics": _entries(metrics),
        "timings_s": {**timings, "total": round(time.perf_counter() - started, 3)},
    }


def compare_texts(
    generated: Sequence[str],
    reference: Sequence[str],
    *,
    settings: PanelSettings | None = None,
    embedder: Embedder | None = None,
    length: int | None = None,
) -> dict[str, Any]:
    """Both populations' panels at matched n and length (see
    :func:`~personascope.metrics.matching.match_texts`), and, with semantic metrics on,
    the coverage of ``reference`` by ``generated`` in embedding space."""
    settings = settings or PanelSettings()
    _check_texts(generated)
    _check_texts(reference)
    gen, ref, record = match_texts(
        generated, reference, seed=settings.jackknife.seed, length=length
    )
    out: dict[str, Any] = {"matching": record}
    if settings.semantic:
        embedder = embedder or Embedder()
        gen_vectors, ref_vectors = embedder.embed(gen), embedder.embed(ref)
        out["generated"] = text_panel(gen, settings=settings, embeddings=gen_vectors)
        out["reference"] = text_panel(ref, settings=settings, embeddings=ref_vectors)
        out["generated"]["embedder"] = out["reference"]["embedder"] = embedder.name
        out["coverage"] = {
            "space": f"embeddings ({embedder.name}), cosine",
            "metrics": _entries(
                coverage_metrics(gen_vectors, ref_vectors, settings.jackknife, metric="cosine")
            ),
        }
    else:
        out["generated"] = text_panel(gen, settings=settings)
        out["reference"] = text_panel(ref, settings=settings)
    return out


def trait_coverage(
    generated: np.ndarray,
    reference: np.ndarray,
    names: list[str],
    jackknife: Jackknife,
    reference_name: str,
) -> dict[str, Any]:
    """Coverage metrics of trait vectors (Euclidean) against a reference population."""
    return {
        "space": f"trait vectors ({', '.join(names)}), euclidean",
        "reference": reference_name,
        "metrics": _entries(
            coverage_metrics(generated, reference, jackknife, metric="euclidean", names=names)
        ),
    }


def reach_section(
    generated: np.ndarray, baseline: CoverageBaseline, jackknife: Jackknife
) -> dict[str, Any]:
    """Trait reach (the collapse index's trait component, docs/collapse.md) and the
    coverage n people from the reference population reach at the same n."""
    reach = trait_reach(generated, baseline, jackknife)
    return {
        "trait_reach": {**reach.to_dict(), "direction": "1 = as varied as n real people"},
        "coverage_baseline": baseline.summary(len(generated), baseline.covered(generated)),
    }


def by_input_panel(
    texts: Sequence[str],
    labels: Sequence[str],
    settings: PanelSettings,
    embeddings: np.ndarray | None,
) -> dict[str, Any]:
    """Per-input vs across-input diversity, texts grouped by ``labels`` (e.g. the prompt):
    EAD (mean over orders) and, with embeddings, mean pairwise cosine distance."""
    positions: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        positions[label].append(i)
    groups = list(positions.values())
    tokens = lexical.tokenize(texts, settings.tokenization)
    vocab = settings.ead_vocab_size or tokens.vocab_size or DEFAULT_EAD_VOCAB
    ead = input_diversity(
        groups,
        lambda items: ead_mean_of_tokens(tokens.subset(np.array(items)), vocab, settings.max_n),
        settings.jackknife,
        f"EAD mean over orders 1..{settings.max_n}",
    )
    for estimate in ead.values():
        estimate.params.update(vocab_size=vocab, tokenization=settings.tokenization)
    out = {"ead_mean": _entries(ead)}
    out["distinct_classes"] = _entries(
        input_diversity(
            groups,
            lambda items: float(
                distinct_classes(
                    [texts[i] for i in items],
                    "exact" if embeddings is None else "embedding",
                    threshold=settings.cluster_threshold,
                    embeddings=None if embeddings is None else embeddings[list(items)],
                ).count
            ),
            settings.jackknife,
            "NoveltyBench distinct classes ("
            + ("normalised exact" if embeddings is None else "embedding cosine")
            + ")",
        )
    )
    if embeddings is not None:
        out["cosine"] = _entries(
            input_diversity(
                [[embeddings[i] for i in g] for g in groups],
                cosine_diversity_value,
                settings.jackknife,
                "mean pairwise cosine distance",
            )
        )
    return out


@dataclass(frozen=True)
class TraitReference:
    """A reference population of trait vectors (e.g. a sample from human norms); with a
    ``baseline`` (a population one can draw from again), trait reach and the coverage of
    n people from it are reported too."""

    vectors: np.ndarray
    names: list[str]
    description: str
    baseline: CoverageBaseline | None = None


def _aligned(
    vectors: np.ndarray, names: list[str], where: str, reference: TraitReference
) -> np.ndarray:
    """``vectors`` with columns in the reference's order; named columns must match."""
    if vectors.shape[1] != len(reference.names):
        raise MetricInputError(
            f"{where}: {vectors.shape[1]} trait dimensions, the reference has "
            f"{len(reference.names)} ({', '.join(reference.names)})"
        )
    if names == [f"dim{j}" for j in range(len(names))]:  # a plain list: reference order
        return vectors
    if sorted(names) != sorted(reference.names):
        raise MetricInputError(
            f"{where}: trait names {names} differ from the reference's {reference.names}"
        )
    return vectors[:, [names.index(name) for name in reference.names]]


def diversity_report(
    path: Path,
    *,
    field: str = "description",
    against: Path | None = None,
    traits: str | None = None,
    trait_reference: TraitReference | None = None,
    by: str | None = None,
    settings: PanelSettings | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """What ``personascope diversity`` prints: the panel of the texts in ``field`` of a JSONL
    file; with ``against`` (another file), both compared at matched n and length, and the
    coverage of its ``traits`` vectors by ours; with ``trait_reference`` (e.g. the human
    Big-Five norms), the coverage of that reference by our ``traits`` vectors; with
    ``by``, per-input vs across-input diversity."""
    settings = settings or PanelSettings()
    if against is not None and trait_reference is not None:
        raise MetricInputError("compare with one reference: a file or a trait reference")
    if traits is not None and against is None and trait_reference is None:
        raise MetricInputError("--traits compares trait vectors with a reference: add --against")
    if trait_reference is not None and traits is None:
        raise MetricInputError("a trait reference needs the field of our trait vectors (--traits)")
    rows = read_jsonl(path)
    texts = texts_of(path, rows, field)
    report: dict[str, Any] = {"file": str(path), "field": field}
    reference: TraitReference | None = trait_reference
    other_texts = None
    if against is not None:
        other_rows = read_jsonl(against)
        other_texts = texts_of(against, other_rows, field)
        report["against"] = str(against)
        if traits is not None:
            ref_vectors, ref_names = vectors_of(against, other_rows, traits)
            reference = TraitReference(ref_vectors, ref_names, str(against))
    gen = None
    if reference is not None and traits is not None:
        gen, names = vectors_of(path, rows, traits)
        gen = _aligned(gen, names, str(path), reference)
    if settings.semantic and embedder is None:
        embedder = Embedder()
    needs_vectors = embedder is not None and (other_texts is None or by is not None)
    vectors = embedder.embed(texts) if needs_vectors else None
    if other_texts is not None:
        report["comparison"] = compare_texts(
            texts, other_texts, settings=settings, embedder=embedder
        )
    else:
        report["panel"] = text_panel(texts, settings=settings, embeddings=vectors)
        report["panel"]["embedder"] = None if embedder is None else embedder.name
    if reference is not None and gen is not None:
        report["traits"] = trait_coverage(
            gen, reference.vectors, reference.names, settings.jackknife, reference.description
        )
        if reference.baseline is not None:
            report["traits"].update(reach_section(gen, reference.baseline, settings.jackknife))
    if by is not None:
        report["by_input"] = by_input_panel(texts, labels_of(path, rows, by), settings, vectors)
    return report
