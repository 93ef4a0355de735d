"""Requests/s of the stability plan on each execution path, overheads, and a projection.

The plan is the stability study's own (``studies/stability.py``), built with its planning
functions for ``llamacpp/smollm2-135m-instruct``: P personas x R paraphrases of the
persona prompt, S seeded self-descriptions per (persona, paraphrase), and the Mini-IPIP
items (Likert choice requests that share the persona prefix) under each persona prompt.
Default: the quick design (``audit --quick``: 4 x 2 x 2, the first 2 items of each
domain: 16 + 80 = 96 requests); ``--full`` the full one (8 x 3 x 2, all 20 items:
48 + 480 = 528 requests). Every path runs the plan through a :class:`Runner` into a fresh
store, as the study would:

* ``in-process, 1 thread`` (and with ``--two-threads`` the default, one thread per core);
* ``ray, 1 worker`` and ``ray, 2 workers`` (a local 2-CPU Ray cluster; one llama.cpp thread
  per worker; cluster start-up is timed apart and not counted in requests/s);
* ``openai-api, 1 server`` and ``openai-api, 2 servers`` (llama-cpp-python servers on
  loopback, one thread each, one request in flight each; ``--base-url A,B``);
* ``openai-api, 2 no-op servers``: servers that answer at once with a canned answer,
  which leaves only the driver's own cost per request (runner, store, HTTP client).

It prints wall-clock requests/s and, because the 2-core machine is shared with other jobs
(whose load changes wall time from one minute to the next), the CPU seconds that each
path spends in this process and all its descendants (Ray daemons and workers, servers):
the overhead of a path is its extra CPU for the same work. Also: whether the Ray results
equal the in-process ones, and a **projection** for N servers: the measured driver
ceiling combined with a per-server rate (measured for llama.cpp on a CPU core, *assumed*
for a GPU vLLM server with ``--gpu-rps``, since no GPU is here).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--full] [--two-threads]`` (about 10
minutes for the quick design here under a load average of 10-15).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psutil

from personascope.executors.ray_executor import RayExecutor
from personascope.instruments.administration import plan_requests
from personascope.instruments.inventory import item_subset, load_inventory
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.runner import Executor, InProcessExecutor, Runner
from personascope.store import Store
from personascope.studies import stability
from personascope.testing.servers import LlamaServer, smollm2_gguf

MODEL = "llamacpp/smollm2-135m-instruct"
SERVED = "smollm2"


def stability_plan(full: bool, seed: int = 0) -> tuple[list, list]:
    """The stability study's requests for a chat model: self-descriptions and items."""
    design = stability.FULL if full else stability.QUICK
    personas = [
        stability.PersonaText(p["id"], p["description"])
        for p in stability.load_data()["personas"][: design.n_personas]
    ]
    prompts = stability.persona_prompts(personas, stability.paraphrase_templates(design))
    descriptions = stability.plan_self_descriptions("chat", prompts, design, seed)
    inventory = item_subset(load_inventory(design.inventory), design.items_per_domain)
    condition = stability.answer_condition(design, seed)
    return descriptions, plan_requests(inventory, prompts, "chat", condition)


def cpu_snapshot() -> dict[tuple[int, float], float]:
    """CPU seconds of this process and each descendant, by (pid, start time).

    Descendants are the llama.cpp servers, the no-op servers, and a local Ray cluster's
    daemons and workers: wall time on a shared machine depends on other people's jobs,
    CPU time much less.
    """
    me = psutil.Process()
    snapshot = {(me.pid, me.create_time()): sum(me.cpu_times()[:2])}
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
            snapshot[(child.pid, child.create_time())] = times.user + times.system
        except psutil.Error:
            continue
    return snapshot


def cpu_used(before: dict[tuple[int, float], float]) -> tuple[float, float]:
    """(CPU seconds used since ``before`` by the processes alive now, by this one alone).

    Per process: a process that was alive before and has exited since (a Ray worker of
    the previous executor, killed asynchronously) must not subtract its CPU.
    """
    after = cpu_snapshot()
    me = psutil.Process()
    mine = (me.pid, me.create_time())
    total = sum(cpu - before.get(key, 0.0) for key, cpu in after.items())
    return total, after[mine] - before[mine]


def timed_run(spec: ModelSpec, plan: tuple[list, list], executor: Executor) -> tuple[float, list]:
    """Seconds to run the plan (self-descriptions, then items) and its results in order."""
    descriptions, items = plan
    with tempfile.TemporaryDirectory() as folder, Store(folder) as store:
        runner = Runner(store, "bench", executor=executor, progress=False)
        started = time.perf_counter()
        results = [*runner.generate(spec, descriptions), *runner.score(spec, items)]
        elapsed = time.perf_counter() - started
        assert store.count_results(spec.key) == len(results)
    return elapsed, results


def _noop_handler(answers: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    scoring, generation = (json.dumps(answers[k]).encode() for k in ("score", "generate"))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            payload = scoring if body.get("max_tokens") == 1 else generation
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _serve_noop(answers: dict[str, Any], ready: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _noop_handler(answers))
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


class NoOpServer:
    """An OpenAI-compatible server in its own process that answers every POST at once
    with a canned answer (a real one, recorded from llama.cpp): the model costs nothing,
    so what remains is the driver's own work per request."""

    def __init__(self, answers: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        self._process = context.Process(target=_serve_noop, args=(answers, ready), daemon=True)
        self._process.start()
        self.base_url = f"http://127.0.0.1:{ready.get(timeout=120)}/v1"

    def close(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


def recorded_answers(base_url: str, requests: list) -> dict[str, Any]:
    """One real scoring and one real generation answer from a llama.cpp server."""
    choice = next(r for r in requests if r.kind == "choice")
    generation = next(r for r in requests if r.kind == "generate")
    answers = {}
    for key, request, extra in (
        ("score", choice, {"max_tokens": 1, "logprobs": True, "top_logprobs": 20}),
        ("generate", generation, {"max_tokens": 32, "logprobs": True, "top_logprobs": 1}),
    ):
        messages = [{"role": m.role, "content": m.content} for m in request.prompt.messages]
        body = {"model": SERVED, "temperature": 0.0, "messages": messages, **extra}
        answers[key] = httpx.post(f"{base_url}/chat/completions", json=body, timeout=300).json()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full design, not the quick")
    parser.add_argument(
        "--two-threads",
        action="store_true",
        help="also run in process with 2 llama.cpp threads (the default setting; under load "
        "on 2 shared cores its spinning threads took 12x the CPU of one thread)",
    )
    parser.add_argument(
        "--gpu-rps",
        type=float,
        default=50.0,
        help="ASSUMED requests/s of one GPU vLLM server on such a plan (not measured here)",
    )
    args = parser.parse_args()
    plan = stability_plan(args.full)
    requests = [*plan[0], *plan[1]]
    n = len(requests)
    n_choice = sum(r.kind == "choice" for r in requests)
    print(
        f"plan: the stability study's {'full' if args.full else 'quick'} design: "
        f"{n - n_choice} self-descriptions of <= {requests[0].sampler.max_tokens} tokens + "
        f"{n_choice} Mini-IPIP choice requests ({n} requests); model {MODEL}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows: dict[str, tuple[float, float, float]] = {}  # wall s, CPU s (all), CPU s (driver)

    def measure(label: str, spec: ModelSpec, make: Callable[[], Executor]) -> list:
        executor = make()
        try:
            before = cpu_snapshot()
            elapsed, results = timed_run(spec, plan, executor)
            used = cpu_used(before)  # before close(): Ray workers are still alive
        finally:
            executor.close()
        rows[label] = (elapsed, *used)
        print(
            f"  {label:<30} {elapsed:7.1f} s wall {n / elapsed:6.2f} req/s   "
            f"{rows[label][1]:6.1f} s CPU ({rows[label][2]:5.1f} s in the driver)",
            flush=True,
        )
        return results

    one_thread = resolve(MODEL, n_threads=1)
    reference = measure("in-process, 1 thread", one_thread, InProcessExecutor)

    import ray

    started = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    ray_start = time.perf_counter() - started
    try:
        same = [
            measure(f"ray, {k} worker(s)", one_thread, lambda k=k: RayExecutor(workers=k))
            == reference
            for k in (1, 2)
        ]
    finally:
        ray.shutdown()

    with (
        LlamaServer(smollm2_gguf(), alias=SERVED, n_threads=1) as a,
        LlamaServer(smollm2_gguf(), alias=SERVED, n_threads=1) as b,
    ):
        http = dict(timeout=600, concurrency=1)
        one = resolve(f"openai-api/{SERVED}", base_url=a.base_url, **http)
        measure("openai-api, 1 server", one, InProcessExecutor)
        two = resolve(f"openai-api/{SERVED}", base_url=f"{a.base_url},{b.base_url}", **http)
        measure("openai-api, 2 servers", two, InProcessExecutor)
        answers = recorded_answers(a.base_url, requests)
    noop = [NoOpServer(answers), NoOpServer(answers)]
    try:
        urls = ",".join(s.base_url for s in noop)
        spec = resolve(f"openai-api/{SERVED}", base_url=urls, concurrency=4)
        measure("openai-api, 2 no-op servers", spec, InProcessExecutor)
    finally:
        for server in noop:
            server.close()
    if args.two_threads:  # last: spinning threads are very slow on a loaded 2-core machine
        measure("in-process, 2 threads", resolve(MODEL), InProcessExecutor)
    report(rows, n, ray_start, all(same), args.gpu_rps)


def report(
    rows: dict[str, tuple[float, float, float]],
    n: int,
    ray_start: float,
    same: bool,
    gpu_rps: float,
) -> None:
    wall = {label: row[0] for label, row in rows.items()}
    cpu = {label: row[1] for label, row in rows.items()}
    base = "in-process, 1 thread"
    print(f"\nload average now {os.getloadavg()[0]:.1f} (2 cores, shared with other jobs)")
    print(f"Ray cluster start-up, not counted above: {ray_start:.1f} s")
    print(f"Ray results identical to in-process: {same}")
    print(
        "\npath                            req/s   wall vs in-process"
        "   CPU s/request   CPU vs in-process"
    )
    for label in rows:
        print(
            f"  {label:<30} {n / wall[label]:6.2f}   {wall[base] / wall[label]:8.2f}x"
            f"   {1000 * cpu[label] / n:11.1f} ms   {100 * (cpu[label] / cpu[base] - 1):+13.1f}%"
        )
    for k in ("1 worker(s)", "2 worker(s)"):
        label = f"ray, {k}"
        print(
            f"Ray overhead, {k} (CPU of driver, Ray daemons and workers vs in-process, same "
            f"work): {100 * (cpu[label] / cpu[base] - 1):+.1f}%; wall: "
            f"{100 * (wall[label] / wall[base] - 1):+.1f}%"
        )
    driver_s = rows["openai-api, 2 no-op servers"][2] / n
    server_s = (cpu["openai-api, 1 server"] - rows["openai-api, 1 server"][2]) / n
    speedup = wall["openai-api, 1 server"] / wall["openai-api, 2 servers"]
    print(
        f"HTTP: 2 llama.cpp servers vs 1: {speedup:.2f}x wall; server CPU per request "
        f"{1000 * server_s:.0f} ms; driver CPU per request "
        f"(no-op servers) {1000 * driver_s:.1f} ms -> driver ceiling ~{1 / driver_s:.0f} req/s "
        "on one core"
    )
    print(
        "\nPROJECTION (not a measurement): N servers behind openai-api give "
        "min(N x per-server rate, driver ceiling)"
    )
    print(
        f"  per-server rate: llama.cpp on one CPU core {1 / server_s:.2f} req/s (from the "
        f"measured CPU per request); GPU vLLM server ASSUMED {gpu_rps:g} req/s (--gpu-rps)"
    )
    print("      N   CPU llama.cpp servers req/s   GPU servers (assumed rate) req/s")
    for servers in (1, 2, 4, 8, 16, 32, 64, 128):
        cpu_rate = min(servers / server_s, 1 / driver_s)
        gpu_rate = min(servers * gpu_rps, 1 / driver_s)
        print(f"  {servers:5d}   {cpu_rate:27.1f}   {gpu_rate:32.1f}")


if __name__ == "__main__":
    main()
