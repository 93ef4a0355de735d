"""Requests/s through llama-cpp-python's OpenAI-compatible server vs the in-process backend.

The same plan runs on ``llamacpp/smollm2-135m-instruct`` in this process and on
``openai-api/smollm2`` served from the same GGUF file on loopback (both with the same
number of threads):

* scoring: PERSONAS x ITEMS five-option Likert items (``score_choices``);
* generation: N seeded samples of up to T tokens (``generate``).

Prints requests/s for each, the HTTP/in-process ratio, and the largest option-probability
difference between the two backends. Run: ``.venv/bin/python benchmarks/bench_http.py``.
"""

from __future__ import annotations

import argparse
import os
import time

from likert import ITEMS, JOBS, likert_request
from personascope.models.base import (
    GenerationRequest,
    LanguageModel,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.llamacpp import LlamaCppModel
from personascope.models.providers import load_model, resolve
from personascope.testing.servers import LlamaServer, smollm2_gguf


def plans(personas: int, samples: int, tokens: int):
    scoring = [
        likert_request(f"You are a {40 + p}-year-old {JOBS[p % len(JOBS)]} (persona {p}).", item)
        for p in range(personas)
        for item in ITEMS[:5]
    ]
    settings = SamplerSettings(temperature=1.0, max_tokens=tokens)
    generation = [
        GenerationRequest(TextPrompt("Describe a person in one sentence:"), settings, seed=s)
        for s in range(samples)
    ]
    return scoring, generation


def timed(model: LanguageModel, scoring, generation):
    started = time.perf_counter()
    scores = model.score_choices(scoring)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    model.generate(generation)
    gen_s = time.perf_counter() - started
    return scores, len(scoring) / score_s, len(generation) / gen_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=10)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    scoring, generation = plans(args.personas, args.samples, args.tokens)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"plan: {len(scoring)} scoring requests, {len(generation)} x {args.tokens} tokens")

    local = LlamaCppModel(resolve("llamacpp/smollm2-135m-instruct"), n_threads=args.threads)
    local.score_choices(scoring[:1])  # warm-up
    local_scores, local_score_rps, local_gen_rps = timed(local, scoring, generation)
    local.close()
    print(f"in-process llamacpp   scoring {local_score_rps:7.2f} req/s   "
          f"generation {local_gen_rps:6.2f} req/s")  # fmt: skip

    with LlamaServer(smollm2_gguf(), alias="smollm2", n_threads=args.threads) as server:
        legs = [(c, True) for c in args.concurrency] + [(max(args.concurrency), False)]
        for concurrency, logprobs in legs:
            spec = resolve(
                "openai-api/smollm2",
                base_url=server.base_url,
                concurrency=concurrency,
                logprobs=logprobs,
                timeout=300,
            )
            remote = load_model(spec)
            remote.score_choices(scoring[:1])  # warm-up (the server's first request is slow)
            scores, score_rps, gen_rps = timed(remote, scoring, generation)
            remote.close()
            diff = max(
                abs(a - b) for x, y in zip(scores, local_scores) for a, b in zip(x.probs, y.probs)
            )
            print(
                f"HTTP, concurrency {concurrency:2d}, generation logprobs {logprobs!s:5}  "
                f"scoring {score_rps:7.2f} req/s ({score_rps / local_score_rps:.2f}x)   "
                f"generation {gen_rps:6.2f} req/s ({gen_rps / local_gen_rps:.2f}x)   "
                f"max |dp| vs in-process {diff:.1e}"
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
