"""Benchmark: what one llama.cpp decoding step costs at each width (tokens per step).

Batched generation (:mod:`personascope.models.llamacpp_batch`) puts one token of each
active sequence into one ``llama_decode`` call. It can be at most ``w * t(1) / t(w)`` times
faster than one sequence at a time, where ``t(w)`` is the time of a step of width ``w``:
that is the ceiling the prompt evaluation and the sampler only lower. This measures
``t(w)`` for w = 1..8 on each embedded model, with eight sequences that each hold a
``--context``-token prompt, and prints the ceiling per width.

Each width's steps alternate with the other widths' over ``--rounds`` rounds and the best
round counts, so that load from other processes hits all widths alike.

Run: .venv/bin/python benchmarks/bench_decode_width.py [--steps 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

from personascope.models.llamacpp_batch import MultiSequenceContext
from personascope.models.providers import load_model, resolve

MODELS = ("llamacpp/smollm2-135m-instruct", "llamacpp/gemma3-270m")
WIDTHS = range(1, 9)


def step_seconds(ctx: MultiSequenceContext, width: int, context: int, steps: int) -> float:
    """Seconds per decoding step of ``width`` tokens (one per sequence), each sequence
    growing from ``context`` tokens; the added cells are removed afterwards."""
    import llama_cpp

    start = time.perf_counter()
    for k in range(steps):
        ctx.step([(100 + seq + k, context + k, seq) for seq in range(width)])
    seconds = (time.perf_counter() - start) / steps
    for seq in range(width):
        llama_cpp.llama_memory_seq_rm(ctx._memory, seq, context, -1)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="decoding steps per width")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--context", type=int, default=48, help="prompt tokens per sequence")
    args = parser.parse_args()
    print("model\twidth\tms/step\ttokens/s\tceiling vs width 1")
    for model_id in MODELS:
        model = load_model(resolve(model_id))
        ctx = MultiSequenceContext(
            model._llm, len(WIDTHS), args.context + args.steps + 8, model._piece
        )
        try:
            for seq in range(len(WIDTHS)):
                ctx.start(seq, [200 + (seq * 7 + j) % 500 for j in range(args.context)])
            best = {w: float("inf") for w in WIDTHS}
            for _ in range(args.rounds):
                for w in WIDTHS:
                    best[w] = min(best[w], step_seconds(ctx, w, args.context, args.steps))
        finally:
            ctx.close()
            model.close()
        for w in WIDTHS:
            ceiling = w * best[1] / best[w]
            print(f"{model_id}\t{w}\t{1000 * best[w]:.1f}\t{w / best[w]:.1f}\t{ceiling:.2f}x")
        print(f"{model_id}\tinvariant width (the widest step generation uses)\t{ctx.width}")


if __name__ == "__main__":
    main()
