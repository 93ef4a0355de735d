"""Benchmark: llama.cpp generation one sequence at a time vs 8 sequences per decoding step.

For each embedded model, 16 seeded sampling requests (temperature 1, 64 new tokens, the
persona-writing prompt of the collapse study's kind) are generated twice in one run:

  (a) ``parallel=1``: one sequence at a time, one token per decoding step;
  (b) ``parallel=8``: eight sequences per step (:mod:`personascope.models.llamacpp_batch`).

The two alternate ``--rounds`` times and the best round of each counts, so that load from
other processes on a shared machine hits both alike: compare the ratio b/a (target >= 3x
on the 2-core development machine), not the absolute speeds. The run also checks that (a)
and (b) produced the same tokens for every request.

Run: .venv/bin/python benchmarks/bench_generation.py [--rounds 2] [--tokens 64]
"""

from __future__ import annotations

import argparse
import time

from personascope.models.base import GenerationRequest, SamplerSettings, TextPrompt
from personascope.models.providers import load_model, resolve

MODELS = ("llamacpp/smollm2-135m-instruct", "llamacpp/gemma3-270m")
PROMPTS = (
    "Write a short description of a person: their name, age, job and what they care about.\n\n",
    "Describe a fictional character in three sentences.\n\n",
)


def requests(n: int, tokens: int) -> list[GenerationRequest]:
    settings = SamplerSettings(temperature=1.0, max_tokens=tokens)
    return [
        GenerationRequest(TextPrompt(PROMPTS[i % len(PROMPTS)]), settings, seed=i) for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("-n", type=int, default=16)
    args = parser.parse_args()
    batch = requests(args.n, args.tokens)
    for model_id in MODELS:
        models = {p: load_model(resolve(model_id, parallel=p)) for p in (1, 8)}
        best = dict.fromkeys(models, float("inf"))
        outputs = {}
        for _ in range(args.rounds):
            for parallel, model in models.items():
                start = time.perf_counter()
                outputs[parallel] = model.generate(batch)
                best[parallel] = min(best[parallel], time.perf_counter() - start)
        n_tokens = sum(len(r.token_ids) for r in outputs[1])
        same = all(a.token_ids == b.token_ids for a, b in zip(outputs[1], outputs[8]))
        print(f"{model_id}: {args.n} requests, {n_tokens} tokens, best of {args.rounds}")
        for parallel in models:
            print(f"  parallel={parallel}: {n_tokens / best[parallel]:7.1f} tokens/s")
        print(f"  speed-up 8 / 1: {best[1] / best[8]:.2f}x; same tokens: {same}", flush=True)
        for model in models.values():
            model.close()


if __name__ == "__main__":
    main()
