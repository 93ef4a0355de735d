"""Diversity metrics at scale: prints measured timings, memory and ratios.

Targets (issue 4): for 100,000 persona texts of about 60 words (seeded generator in
``scripts/make_texts.py``), all lexical metrics + dual-form Vendi + coverage on
precomputed embeddings in under 60 s total, peak memory under 4 GiB; the speed-up of
the dual Vendi form over the kernel form at n = 4,000; embedding throughput on 10,000
texts.

The "precomputed embeddings" of the 100,000 texts are seeded synthetic unit vectors of the
embedder's shape (n x 384, float32; a low-rank structure plus noise): the timed
computations depend on the shape only, and embedding 100,000 texts here would take longer
than everything else (the embedder's own throughput is measured separately, last, so
that its model does not count toward the peak memory of the metric run).

Usage: ``.venv/bin/python benchmarks/bench_metrics.py [-n 100000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from make_texts import make_texts
from personascope.metrics import coverage, lexical, overlap, semantic
from personascope.metrics.estimate import Jackknife


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(label: str, rows: list[tuple[str, float, str]], compute: Any) -> Any:
    start = time.perf_counter()
    result = compute()
    elapsed = time.perf_counter() - start
    value = getattr(result, "value", None)
    rows.append((label, elapsed, "" if value is None else f"{value:.4g}"))
    print(f"  {label:<42} {elapsed:7.2f} s  {rows[-1][2]}", flush=True)
    return result


def synthetic_embeddings(n: int, seed: int, dim: int = 384, rank: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, dim)).astype(np.float32)
    x = rng.normal(size=(n, rank)).astype(np.float32) @ basis
    x += 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vendi-n", type=int, default=4000)
    parser.add_argument("--embed-n", type=int, default=10_000)
    parser.add_argument("--tag-n", type=int, default=1000)
    args = parser.parse_args()
    jk = Jackknife(seed=args.seed)

    print(f"generating {args.n} persona texts (seed {args.seed}) ...", flush=True)
    texts = make_texts(args.n, args.seed)
    print(f"  mean words per text: {np.mean([len(t.split()) for t in texts]):.1f}")

    required: list[tuple[str, float, str]] = []
    print("lexical metrics (exact at every n; 20-group jackknife intervals)")
    tokens = timed("tokenise (words)", required, lambda: lexical.tokenize(texts))
    index = timed("n-gram index, orders 1-4", required, lambda: _index(tokens))
    for n in range(1, 5):
        timed(f"distinct-{n}", required, lambda n=n: lexical.distinct(index, n, jk))
    for n in range(1, 5):
        timed(f"EAD-{n}", required, lambda n=n: lexical.ead(index, n, 50_000, jk))
    timed("n-gram diversity", required, lambda: lexical.ngram_diversity(index, jk))
    timed("compression ratio", required, lambda: lexical.compression_ratio(texts, jk))
    timed("self-repetition", required, lambda: lexical.self_repetition(index, jk))
    timed("self-BLEU (subset of 1,000)", required, lambda: overlap.self_bleu(index, jk))
    timed(
        "ROUGE-L homogenization (subset of 300)",
        required,
        lambda: overlap.rouge_l_homogenization(index, jk),
    )

    print("semantic and coverage on precomputed (synthetic) embeddings")
    pooled = timed(
        "make precomputed embeddings (not counted)",
        [],
        lambda: synthetic_embeddings(args.n + args.n // 2, args.seed),
    )
    vectors, reference = pooled[: args.n], pooled[args.n :]
    timed(
        "Vendi q in {0.5,1,2,inf}, dual form",
        required,
        lambda: semantic.vendi(vectors, jk)["vendi_q1"],
    )
    timed(
        "coverage (reference subset 5,000)",
        required,
        lambda: coverage.coverage(vectors, reference, jk, metric="cosine"),
    )
    total = sum(row[1] for row in required)
    peak = peak_rss_gib()
    print(
        f"TOTAL lexical + dual Vendi + coverage: {total:.1f} s "
        f"(target < 60 s: ratio {total / 60:.2f})"
    )
    print(f"PEAK memory so far: {peak:.2f} GiB (target < 4 GiB: ratio {peak / 4:.2f})")

    extra: list[tuple[str, float, str]] = []
    print("other metrics at this n (not in the target)")
    timed(
        "mean pairwise cosine distance (exact)",
        extra,
        lambda: semantic.mean_cosine_distance(vectors, jk),
    )
    timed(
        "clusters at cos >= 0.8 (subset 2,000)",
        extra,
        lambda: semantic.clusters(vectors, jk)["clusters"],
    )
    timed(
        "nearest-neighbour distances (subset 5,000)",
        extra,
        lambda: semantic.nearest_neighbours(vectors, jk)["nn_distance_mean"],
    )
    timed(
        "uniformity (k-means cells)",
        extra,
        lambda: coverage.uniformity(vectors, reference, jk, metric="cosine"),
    )
    timed(
        "variance ratio (384 dims)",
        extra,
        lambda: coverage.variance_ratio(vectors, reference, jk, per_dimension=False)[
            "variance_ratio_geomean"
        ],
    )
    timed(
        "log-det ratio (10 components)",
        extra,
        lambda: coverage.logdet_ratio(vectors, reference, jk, components=10),
    )
    timed(
        "energy distance (subsets 1,000, 199 perms)",
        extra,
        lambda: coverage.energy_distance(vectors, reference, jk, metric="cosine"),
    )

    print(f"Vendi at n = {args.vendi_n}: dual (d x d) vs kernel (n x n) form")
    sub = vectors[: args.vendi_n].astype(np.float64)
    dual = _best_of(3, lambda: semantic.vendi_score(sub, q=1.0))
    kernel = _best_of(1, lambda: semantic.vendi_score(kernel=_kernel(sub), q=1.0))
    print(
        f"  dual {dual:.3f} s, kernel {kernel:.3f} s (kernel built and decomposed): "
        f"speed-up {kernel / dual:.0f}x"
    )

    print(f"part-of-speech tagging, {args.tag_n} texts")
    from personascope.metrics.syntactic import pos_tags

    pos_tags(texts[:10])  # load the tagger
    start = time.perf_counter()
    pos_tags(texts[: args.tag_n])
    elapsed = time.perf_counter() - start
    print(f"  {args.tag_n / elapsed:.0f} texts/s")

    print(f"embedding throughput, {args.embed_n} texts (all-MiniLM-L6-v2, CPU, batch 64)")
    from personascope.metrics.embedding import Embedder

    embedder = Embedder()
    start = time.perf_counter()
    embedder.embed(["warm up the model"])
    print(f"  model load: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    embedder.embed(texts[: args.embed_n])
    elapsed = time.perf_counter() - start
    print(f"  {args.embed_n / elapsed:.0f} texts/s ({elapsed:.1f} s)")


def _index(tokens: lexical.Tokens) -> lexical.NgramIndex:
    index = lexical.NgramIndex(tokens)
    for n in range(1, 5):
        index.occurrences(n)
    return index


def _kernel(u: np.ndarray) -> np.ndarray:
    kernel = u @ u.T
    np.fill_diagonal(kernel, 1.0)
    return kernel


def _best_of(repeats: int, compute: Any) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        compute()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    main()
