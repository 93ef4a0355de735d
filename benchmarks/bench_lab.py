"""The collapse lab, timed: stage timings, peak memory and the dose-response it measures.

Runs ``personascope lab`` (default or ``--quick``) in a fresh run folder and lab home and
prints, per stage (convert, sample, score, train, register, evaluate, analyse), the wall
clock, the CPU time of the process (on a busy machine a better guide than the wall clock
to what the stage takes on a quiet one: with one thread they are equal when quiet), the
peak resident memory and the 1-minute load average when the stage began; then seconds per
DPO step, the totals against the budgets (default 25 min, quick 8 min) and the
dose-response figures of every checkpoint. ``--convert`` also times the one-time GGUF ->
safetensors conversion into a temporary folder (normally done once per machine).

Run: ``.venv/bin/python benchmarks/bench_lab.py [--quick] [--threads 1] [--convert]
[--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

BUDGET_S = {"default": 25 * 60, "quick": 8 * 60}
FIGURES = (
    "first_name_entropy",
    "first_name_repeats",
    "age_sd",
    "occupations_distinct",
    "adjective_entropy",
    "polish",
    "distinct_2",
    "mean_cosine_distance",
    "base_logprob",
    "words",
)


def time_conversion() -> None:
    from personascope.models.hf_convert import converted_folder
    from personascope.models.providers import resolve

    with tempfile.TemporaryDirectory() as root:
        started, cpu = time.perf_counter(), time.process_time()
        converted_folder(resolve("hf/gemma3-270m"), root=Path(root))
        print(
            f"one-time conversion GGUF -> safetensors: {time.perf_counter() - started:.1f} s "
            f"wall, {time.process_time() - cpu:.1f} s CPU (load {os.getloadavg()[0]:.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--convert", action="store_true", help="Also time the conversion.")
    parser.add_argument("--out", type=Path, default=None, help="Run folder (default: temp).")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-lab-"))
    os.environ.setdefault("PERSONASCOPE_LAB_HOME", str(out / "lab-home"))
    from personascope.audit import RunSession
    from personascope.lab.config import LabConfig
    from personascope.lab.run import run_lab

    if args.convert:
        time_conversion()
    config = LabConfig.preset(args.quick, threads=args.threads)
    kind = "quick" if args.quick else "default"
    print(f"lab ({kind}): {out}, threads {args.threads or 'all'}, cores {os.cpu_count()}")
    started = time.perf_counter()
    with RunSession(out, f"bench_lab {kind}") as session:
        findings = run_lab(session.runner, session.store, out, config)
    total = time.perf_counter() - started

    print(f"\n{'stage':<10} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'load':>6}")
    for name, stage in findings["stages"].items():
        print(
            f"{name:<10} {stage['seconds']:>8.1f} {stage['cpu_seconds']:>8.1f} "
            f"{stage['peak_rss_mb']:>12.0f} {stage['load_average_1min_at_start']:>6.1f}"
        )
    cpu_total = sum(s["cpu_seconds"] for s in findings["stages"].values())
    training = findings["training"]
    print(
        f"\ntrain: {training['steps_run_now']} steps run now, "
        f"{training['seconds_per_step'] or float('nan'):.1f} s/step (wall)"
    )
    print(
        f"total: {total:.0f} s wall ({total / BUDGET_S[kind]:.2f} of the {kind} budget of "
        f"{BUDGET_S[kind] // 60} min), {cpu_total:.0f} s CPU; peak RSS "
        f"{max(s['peak_rss_mb'] for s in findings['stages'].values()):.0f} MB"
    )
    data = findings["data"]
    confound = data["length_confound"]
    print(
        f"\npairs: {data['n_pairs']} from {data['counts']['distinct']} distinct samples; "
        f"reward-length Spearman {confound['reward_length_spearman']['value']:.2f}; "
        f"chosen {confound['chosen_words']['value']:.1f} vs rejected "
        f"{confound['rejected_words']['value']:.1f} words"
    )
    curves = findings["curves"]
    print("\ndose-response (value [95% CI]; ref = US adults at the same n):")
    for key in FIGURES:
        curve = curves[key]
        cells = []
        for p in curve["points"]:
            if p["value"] is None:
                cells.append(f"{p['step']}: -")
            elif p["low"] is None:
                cells.append(f"{p['step']}: {p['value']:.3f}")
            else:
                cells.append(f"{p['step']}: {p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}]")
        reference = curve["reference"]
        ref = "" if reference is None else f"  (ref {reference:.3f})"
        print(f"  {curve['label']}{ref}\n    " + "; ".join(cells))


if __name__ == "__main__":
    main()
