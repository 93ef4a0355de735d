"""The transformers backend on the embedded SmolLM2 GGUF: load time and throughput.

For each dtype (float32, bfloat16) it measures

* load time (GGUF parsing and de-quantization included);
* scoring: PERSONAS x ITEMS five-option Likert items, each a persona + item prompt,
  ``score_choices`` in batches of 32 (the runner's default); prompt tokens/s and
  requests/s;
* generation: N seeded samples of T tokens from one prompt (one equal-length group);
  generated tokens/s;

and prints the bfloat16/float32 ratios and the largest option-probability difference
between the two dtypes. ``--gemma`` also times loading ``hf/gemma3-270m``. The machine is
shared: the 1-minute load average is printed with the figures.

Run: ``.venv/bin/python benchmarks/bench_hf.py [--personas 8] [--items 8] [--threads N]``
"""

from __future__ import annotations

import argparse
import os
import time

from likert import ITEMS, JOBS, likert_request
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    Message,
    SamplerSettings,
)
from personascope.models.providers import load_model, resolve


def scoring_plan(personas: int, items: int) -> list[ChoiceRequest]:
    return [
        likert_request(
            f"You are a {30 + 3 * p}-year-old {JOBS[p % len(JOBS)]}. You grew up in a small "
            "town, you have two siblings and you spend your weekends outdoors.",
            ITEMS[i % len(ITEMS)],
        )
        for p in range(personas)
        for i in range(items)
    ]


def measure(dtype: str, args: argparse.Namespace) -> dict[str, object]:
    options = {"dtype": dtype} | ({"n_threads": args.threads} if args.threads else {})
    started = time.perf_counter()
    model = load_model(resolve("hf/smollm2-135m-instruct", **options))
    load_s = time.perf_counter() - started

    plan = scoring_plan(args.personas, args.items)
    tokens = sum(len(model.tokenize_prompt(r.prompt)) for r in plan)
    model.score_choices(plan[:2])  # warm-up
    started = time.perf_counter()
    scores = []
    for start in range(0, len(plan), 32):
        scores += model.score_choices(plan[start : start + 32])
    score_s = time.perf_counter() - started

    prompt = ChatPrompt((Message("user", "Describe a person in two sentences."),))
    sampler = SamplerSettings(max_tokens=args.tokens)
    generations = [GenerationRequest(prompt, sampler, seed=s) for s in range(args.samples)]
    started = time.perf_counter()
    results = model.generate(generations)
    gen_s = time.perf_counter() - started
    generated = sum(len(r.token_ids) for r in results)
    threads = model.info.extra["n_threads"]
    model.close()
    return {
        "load_s": load_s,
        "score_tok_s": tokens / score_s,
        "score_req_s": len(plan) / score_s,
        "gen_tok_s": generated / gen_s,
        "probs": [s.probs for s in scores],
        "threads": threads,
        "prompt_tokens": tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=8)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--gemma", action="store_true", help="also time loading Gemma")
    args = parser.parse_args()

    figures = {dtype: measure(dtype, args) for dtype in ("float32", "bfloat16")}
    fp32, bf16 = figures["float32"], figures["bfloat16"]
    n = args.personas * args.items
    print(f"load average {os.getloadavg()[0]:.1f}, torch threads {fp32['threads']}")
    print(f"scoring: {n} persona+item prompts, {fp32['prompt_tokens']} prompt tokens")
    for dtype, f in figures.items():
        print(
            f"  {dtype:9s} load {f['load_s']:5.1f} s | scoring {f['score_tok_s']:6.0f} tok/s "
            f"({f['score_req_s']:5.1f} req/s) | generation {f['gen_tok_s']:5.1f} tok/s "
            f"({args.samples} x {args.tokens} tokens)"
        )
    print(
        f"  bf16/fp32: scoring x{bf16['score_tok_s'] / fp32['score_tok_s']:.2f}, "
        f"generation x{bf16['gen_tok_s'] / fp32['gen_tok_s']:.2f}"
    )
    gap = max(
        abs(a - b)
        for pa, pb in zip(fp32["probs"], bf16["probs"], strict=True)
        for a, b in zip(pa, pb, strict=True)
    )
    print(f"  largest option-probability difference bf16 vs fp32: {gap:.4f}")
    if args.gemma:
        started = time.perf_counter()
        load_model(resolve("hf/gemma3-270m")).close()
        print(f"hf/gemma3-270m load {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
