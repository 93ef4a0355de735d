"""Benchmark: the IPIP-NEO-120 given to 50 personas on SmolLM2 (issue 3).

Plans the inventory with :func:`personascope.instruments.administration.plan_requests`
(accuracy wording, persona as system message) for 50 marker personas of the adoption
study's complete design (its 32 high/low profiles, then the first 18 rungs of its 5 x 9
ladder), and times the backend two ways:

  (a) prefix reuse: all requests in one batch, so each persona's shared prefix is
      evaluated once and only the item suffixes after it;
  (b) naive: every prompt evaluated in full (``prefix_reuse=False``), on the first
      ``--naive-personas`` personas (the rate is per item, so a sample suffices).

Prints items/s for both (and the CPU seconds of this process, steadier than wall time
on a shared machine), the ratio a/b (target >= 5x) and the projected time of (a) for
1,000 personas. Run: .venv/bin/python benchmarks/bench_inventory.py
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from personascope.instruments.administration import Condition, plan_requests
from personascope.instruments.inventory import load_inventory
from personascope.models.base import ChoiceRequest
from personascope.models.providers import load_model, resolve
from personascope.studies.adoption import DOMAIN_ORDER, FULL, persona_units

MODEL = "llamacpp/smollm2-135m-instruct"


def personas(n: int) -> list[str]:
    complete = replace(FULL, combos=True, ladder_levels=tuple(range(1, 10)))
    texts = [u.text for u in persona_units(complete, DOMAIN_ORDER) if u.text]
    if len(texts) < n:
        raise SystemExit(f"the complete design has {len(texts)} personas, fewer than {n}")
    return texts[:n]


def rate(model, requests: list[ChoiceRequest]) -> tuple[float, float, float]:
    """Items per wall-clock second, wall seconds, and CPU seconds of this process."""
    started, cpu = time.perf_counter(), time.process_time()
    model.score_choices(requests)
    elapsed = time.perf_counter() - started
    return len(requests) / elapsed, elapsed, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", type=int, default=50)
    parser.add_argument("--naive-personas", type=int, default=2)
    args = parser.parse_args()
    inv = load_inventory("ipip_neo_120")
    texts = personas(args.personas)
    requests = plan_requests(inv, texts, "chat", Condition())
    naive_requests = requests[: args.naive_personas * len(inv.items)]
    reuse_model = load_model(resolve(MODEL))
    naive_model = load_model(resolve(MODEL, prefix_reuse=False))
    n_prompt = len(reuse_model.tokenize_prompt(requests[0].prompt))
    reuse_rate, reuse_s, reuse_cpu = rate(reuse_model, requests)
    naive_rate, naive_s, naive_cpu = rate(naive_model, naive_requests)
    reuse_model.close()
    naive_model.close()
    per_persona = len(inv.items) / reuse_rate
    print(
        f"IPIP-NEO-120 x {len(texts)} personas = {len(requests)} items on {MODEL} "
        f"(~{n_prompt} prompt tokens per item, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    n_naive = len(naive_requests)
    cpu_ratio = (naive_cpu / n_naive) / (reuse_cpu / len(requests))
    print(f"(a) prefix reuse  {reuse_rate:8.1f} items/s  ({reuse_s:.1f} s; CPU {reuse_cpu:.1f} s)")
    print(
        f"(b) naive         {naive_rate:8.1f} items/s  ({naive_s:.1f} s; CPU {naive_cpu:.1f} s; "
        f"{n_naive} items)"
    )
    print(
        f"ratio a/b: {reuse_rate / naive_rate:.1f}x wall, {cpu_ratio:.1f}x CPU per item "
        "(target >= 5x; CPU is the steadier figure on a shared machine)"
    )
    print(
        f"projected for 1,000 personas with reuse: {1000 * per_persona / 60:.1f} min "
        f"({per_persona:.1f} s per persona); from CPU time, one core: "
        f"{1000 * len(inv.items) * reuse_cpu / len(requests) / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
