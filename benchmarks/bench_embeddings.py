"""Sentence-embedder throughput: the ONNX route against the torch reference, side by side.

Target (issue 18): at least 2x the torch route's texts/s for persona texts of about 60
words (seeded generator in ``scripts/make_texts.py``), with every text's ONNX vector at
cosine >= 0.99 to its torch vector, and the semantic metrics computed on the ONNX vectors
(Vendi q=1, coverage of a second seeded population) inside the intervals the torch vectors
report. The two routes run alternately ``--rounds`` times and the best round of each
counts, so that load from other processes on a shared machine hits both alike; compare the
ratio, not the absolute speeds.

Usage: ``.venv/bin/python benchmarks/bench_embeddings.py [-n 1000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from make_texts import make_texts
from personascope.metrics import coverage, semantic
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import Estimate, Jackknife


def inside(estimate: Estimate, reference: Estimate) -> str:
    if reference.ci is None:
        return "no interval"
    low, high = reference.ci
    return "inside" if low <= estimate.value <= high else "OUTSIDE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts = make_texts(args.n, args.seed)
    others = make_texts(args.n, args.seed + 1)
    words = np.mean([len(t.split()) for t in texts])
    routes = {"torch": Embedder(route="torch"), "onnx": Embedder(route="onnx")}
    start = time.perf_counter()
    print(f"ONNX route: {routes['onnx'].name.partition('#')[2]}", flush=True)
    print(f"  ready in {time.perf_counter() - start:.1f} s (exported on first use)")
    for embedder in routes.values():
        embedder.encode(texts[:8])  # load before the clock starts

    print(f"{args.n} texts of {words:.0f} words on average, batch 64, best of {args.rounds}")
    best = dict.fromkeys(routes, np.inf)
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, embedder in routes.items():
            start = time.perf_counter()
            vectors[name] = embedder.encode(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    for name in routes:
        print(f"  {name:<6} {args.n / best[name]:7.1f} texts/s")
    print(f"  speed-up onnx / torch: {best['torch'] / best['onnx']:.2f}x")

    cosine = np.sum(vectors["torch"] * vectors["onnx"], axis=1)
    print(f"cosine(onnx, torch) per text: min {cosine.min():.4f}, mean {cosine.mean():.4f}")

    jackknife = Jackknife()
    reference = {name: routes[name].encode(others) for name in routes}
    print("metrics on each route's vectors (value [torch interval]):")
    for label, compute in (
        ("Vendi q=1", lambda v, r: semantic.vendi(v, jackknife, orders=(1.0,))["vendi_q1"]),
        ("coverage", lambda v, r: coverage.coverage(v, r, jackknife, metric="cosine")),
    ):
        torch_value = compute(vectors["torch"], reference["torch"])
        onnx_value = compute(vectors["onnx"], reference["onnx"])
        ci = torch_value.ci or (float("nan"), float("nan"))
        print(
            f"  {label:<10} torch {torch_value.value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]  "
            f"onnx {onnx_value.value:.4f}  {inside(onnx_value, torch_value)}"
        )


if __name__ == "__main__":
    main()
