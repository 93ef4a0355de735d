"""Benchmark: requests and wall time of the stability and commitment studies (issue 5).

Runs each study on the embedded models in a fresh store (nothing cached), for the
quick and full default designs and, for stability, a few P x R x S variants, and
prints one row per (study, design, model): requests by kind, wall time and the time
per executed request. Stability scales as P*R*S generations plus P*R*I choice
requests (I = inventory items); commitment as C*T main-line answers, C*(T+1)*K
self-descriptions and C*(T+1)*Q probe requests (Q = 5 probes).

    .venv/bin/python benchmarks/bench_stability.py                   # defaults, both models
    .venv/bin/python benchmarks/bench_stability.py --scaling 3x2x2,6x2x2,6x3x2,6x2x4
    .venv/bin/python benchmarks/bench_stability.py --only quick --models llamacpp/gemma3-270m

The machine is shared: the load average at the start and end is printed with the
figures, because llama.cpp threads slow down sharply when the cores are oversubscribed
(``--threads 1`` avoids their spinning; see docs/scaling.md). Next to the wall time the
process CPU time is printed: with ``--threads 1`` it is the time the run needs on one
free core (on an oversubscribed machine it still runs high, because cores shared with
other work run slower).

    .venv/bin/python benchmarks/bench_stability.py --studies commitment --threads 1
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from personascope.defaults import DEFAULT_ALIGNED_MODEL, DEFAULT_BASE_MODEL
from personascope.metrics.embedding import Embedder
from personascope.models.providers import resolve
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies.base import StudyContext, run_study
from personascope.studies.commitment import CommitmentStudy
from personascope.studies.stability import StabilityStudy


def run_one(
    study: Any, model_id: str, quick: bool, config: dict[str, Any], threads: int | None
) -> dict[str, Any]:
    """Run ``study`` on one model in a fresh store; requests by kind and wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        runner = Runner(store, "bench", progress=False)
        spec = resolve(model_id, **({"n_threads": threads} if threads else {}))
        ctx = StudyContext(runner, store, [spec], Path(tmp), "bench", 0, quick, config)
        runner.model_info(spec)  # load the model before the clock starts
        Embedder().embed(["load the embedder before the clock starts"])
        started, cpu = time.perf_counter(), time.process_time()
        findings = run_study(ctx, study).to_json()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        store.close()
    counts = findings["models"][spec.model_id]["requests"]
    gen = counts.get("generate", counts.get("self_descriptions", 0))
    choice = counts.get("choice", counts.get("inventory", 0))
    return {
        "generate": gen,
        "choice": choice,
        "executed": runner.executed,
        "elapsed": elapsed,
        "cpu": cpu,
    }


def fmt_row(study: str, design: str, model_id: str, m: dict[str, Any]) -> str:
    per = m["elapsed"] / max(m["executed"], 1)
    return (
        f"{study:<11} {design:<14} {model_id:<32} {m['generate']:>5} {m['choice']:>6} "
        f"{m['elapsed']:>8.1f} {m['cpu']:>7.1f} {1000 * per:>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=f"{DEFAULT_BASE_MODEL},{DEFAULT_ALIGNED_MODEL}")
    parser.add_argument("--only", choices=("quick", "full"), default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: the backend's)"
    )
    parser.add_argument("--studies", default="stability,commitment")
    parser.add_argument(
        "--scaling", default="", help="stability designs PxRxS, e.g. 3x2x2,6x2x2 (quick sizes)"
    )
    args = parser.parse_args()
    models = args.models.split(",")
    known = {"stability": StabilityStudy(), "commitment": CommitmentStudy()}
    studies = [known[name] for name in args.studies.split(",")]
    print(
        f"load average at start: {os.getloadavg()}; llama.cpp threads: {args.threads or 'default'}"
    )
    header = (
        f"{'study':<11} {'design':<14} {'model':<32} {'gens':>5} {'choice':>6} "
        f"{'wall s':>8} {'cpu s':>7} {'ms/req':>8}"
    )
    print(header)
    totals: dict[str, list[float]] = {}
    designs = [d for d in ("quick", "full") if args.only in (None, d)]
    for design in designs:
        for study in studies:
            for model_id in models:
                m = run_one(study, model_id, design == "quick", {}, args.threads)
                total = totals.setdefault(f"{design} {study.name}", [0.0, 0.0])
                total[0] += m["elapsed"]
                total[1] += m["cpu"]
                print(fmt_row(study.name, design, model_id, m), flush=True)
    for spec in filter(None, args.scaling.split(",")):
        p, r, s = (int(x) for x in spec.split("x"))
        config = {"stability": {"n_personas": p, "paraphrases": r, "seeds": s}}
        for model_id in models:
            m = run_one(StabilityStudy(), model_id, True, config, args.threads)
            print(fmt_row("stability", f"P{p} R{r} S{s}", model_id, m), flush=True)
    for name, (wall, cpu) in totals.items():
        print(f"total {name}, {len(models)} models: {wall:.1f} s wall, {cpu:.1f} s cpu")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
