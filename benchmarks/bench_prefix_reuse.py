"""Benchmark: scoring Likert items under shared persona prefixes (issue 2).

20 five-option Likert items x 20 persona prefixes = 400 choice requests on
llamacpp/smollm2-135m-instruct, measured three ways in one run:

  (a) the backend with KV-cache reuse of the shared persona prefix,
  (b) the backend evaluating every full prompt from scratch,
  (c) the runner (store lookups, batching, writes) with an empty cache, on (a).

Prints requests/s for each, the speed-up a/b (target >= 5x) and the runner overhead
(c vs a, target < 10%). Run: .venv/bin/python benchmarks/bench_prefix_reuse.py
"""

from __future__ import annotations

import os
import random
import tempfile
import time

from personascope.models.base import ChatPrompt, ChoiceRequest, Message
from personascope.models.providers import load_model, resolve
from personascope.runner import Runner
from personascope.store import Store

MODEL = "llamacpp/smollm2-135m-instruct"
LIKERT = ("1", "2", "3", "4", "5")
ITEMS = [  # IPIP-50 markers (Goldberg 1992, public domain)
    "Am the life of the party.",
    "Feel little concern for others.",
    "Am always prepared.",
    "Get stressed out easily.",
    "Have a rich vocabulary.",
    "Don't talk a lot.",
    "Am interested in people.",
    "Leave my belongings around.",
    "Am relaxed most of the time.",
    "Have difficulty understanding abstract ideas.",
    "Feel comfortable around people.",
    "Insult people.",
    "Pay attention to details.",
    "Worry about things.",
    "Have a vivid imagination.",
    "Keep in the background.",
    "Sympathize with others' feelings.",
    "Make a mess of things.",
    "Seldom feel blue.",
    "Am not interested in abstract ideas.",
]
TRAITS = ["calm", "anxious", "tidy", "chaotic", "warm", "cold", "curious", "cautious", "bold"]
JOBS = ["nurse", "welder", "teacher", "farmer", "accountant", "chef", "pilot", "librarian"]


def persona(rng: random.Random) -> str:
    sentences = [
        f"You are a {rng.randint(19, 85)}-year-old {rng.choice(JOBS)}.",
        *(
            f"People who know you say you are {rng.choice(TRAITS)} and {rng.choice(TRAITS)}, "
            f"and that you spend weekends {rng.choice(['hiking', 'reading', 'fixing cars'])}."
            for _ in range(12)
        ),
    ]
    return " ".join(sentences)


def plan() -> list[ChoiceRequest]:
    rng = random.Random(0)
    requests = []
    for _ in range(20):
        system = persona(rng)
        for item in ITEMS:
            question = (
                "How accurately does this statement describe you? Answer with one number "
                f"from 1 (very inaccurate) to 5 (very accurate).\nStatement: {item}"
            )
            prompt = ChatPrompt((Message("system", system), Message("user", question)), "Answer: ")
            requests.append(ChoiceRequest(prompt, LIKERT))
    return requests


def timed(fn) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process (steadier on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    requests = plan()
    spec = resolve(MODEL)
    with_reuse = load_model(spec)
    without_reuse = load_model(resolve(MODEL, prefix_reuse=False))
    n_prompt = len(with_reuse.tokenize_prompt(requests[0].prompt))
    (t_a, cpu_a) = timed(lambda: with_reuse.score_choices(requests))
    (t_b, cpu_b) = timed(lambda: without_reuse.score_choices(requests))
    with tempfile.TemporaryDirectory() as folder, Store(folder) as store:
        runner = Runner(store, store.start_run("bench", {}), progress=False)
        (t_c, cpu_c) = timed(lambda: runner.score(spec, requests))
        runner.executor.close()
    n = len(requests)
    print(f"{n} requests, 20 personas x 20 items, ~{n_prompt} prompt tokens each, {MODEL}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    for label, wall, cpu in (
        ("(a) prefix reuse     ", t_a, cpu_a),
        ("(b) full prompt each ", t_b, cpu_b),
        ("(c) runner, cold     ", t_c, cpu_c),
    ):
        print(f"{label} {n / wall:8.1f} req/s  ({wall:.1f} s wall, {cpu:.1f} s CPU)")
    print(f"speed-up a/b: {t_b / t_a:.1f}x wall, {cpu_b / cpu_a:.1f}x CPU (target >= 5x)")
    print(
        f"runner overhead c vs a: {100 * (t_c / t_a - 1):+.1f}% wall, "
        f"{100 * (cpu_c / cpu_a - 1):+.1f}% CPU (target < 10%)"
    )


if __name__ == "__main__":
    main()
