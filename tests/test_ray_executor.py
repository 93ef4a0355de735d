"""The Ray executor on a real local Ray cluster (2 CPUs) with the embedded models.

One cluster serves the module (Ray takes seconds to start). Results are compared with the
in-process executor's for the same plan; a worker process is killed with SIGKILL mid-run;
the command line runs in subprocesses, on a private local cluster and joining this one.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import pytest

from personascope.errors import ExecutorError, PromptTooLongError
from personascope.executors import make_executor
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.providers import resolve
from personascope.runner import InProcessExecutor, Runner
from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli
from personascope.testing.servers import closed_port

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'personascope[ray]')")
from personascope.executors.ray_executor import (  # noqa: E402
    RayExecutor,
    check_reachable,
    parse_address,
)

SMOLLM2 = "llamacpp/smollm2-135m-instruct"
GEMMA = "llamacpp/gemma3-270m"
LIKERT = ("1", "2", "3", "4", "5")
PERSONAS = ("a nurse from Lyon", "a retired sailor", "a law student")
STATEMENTS = ("I am the life of the party.", "I worry about things.", "I like order.")
BATCHES = {"choice": 2, "generate": 2}
PROMPT = "Describe a person in one sentence."


def plan(chat: bool, n_generations: int) -> tuple[list[ChoiceRequest], list[GenerationRequest]]:
    """Persona x statement choice requests (shared persona prefixes), and generations."""
    choices: list[ChoiceRequest] = []
    for persona in PERSONAS:
        for statement in STATEMENTS:
            question = f"Statement: {statement}\nRate it from 1 to 5."
            if chat:
                messages = (Message("system", f"You are {persona}."), Message("user", question))
                prompt = ChatPrompt(messages, assistant_prefix="Answer: ")
            else:
                prompt = TextPrompt(f"I am {persona}.\n{question}\nAnswer: ")
            choices.append(ChoiceRequest(prompt, LIKERT))
    ask = "Describe yourself in one sentence."
    prompt = ChatPrompt((Message("user", ask),)) if chat else TextPrompt(f"{ask}\nI am")
    sampler = SamplerSettings(temperature=1.0, top_p=0.95, max_tokens=10)
    return choices, [GenerationRequest(prompt, sampler, seed=s) for s in range(n_generations)]


PLANS = {SMOLLM2: plan(chat=True, n_generations=4), GEMMA: plan(chat=False, n_generations=2)}


def run_plan(folder, executor, model_id: str, **options) -> list:
    """Run a model's plan into a fresh store (choice results, then generations); every
    request must be stored once."""
    spec = resolve(model_id, **options)
    choices, generations = PLANS[model_id]
    with Store(folder) as store:
        runner = Runner(store, "test", executor=executor, batch_size=BATCHES, progress=False)
        results = [*runner.score(spec, choices), *runner.generate(spec, generations)]
        assert store.count_results(spec.key) == len(results)
    assert runner.executed == len(results)  # no batch ran twice
    return results


@pytest.fixture(scope="module")
def cluster():
    """A local 2-CPU Ray cluster; yields its address for other drivers."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The in-process executor's results for each plan.

    One llama.cpp thread, like each Ray worker here: on this shared 2-core machine two
    spinning threads ran ten times slower. The thread count does not change results.
    """
    executor = InProcessExecutor()
    try:
        return {
            model_id: run_plan(tmp_path_factory.mktemp("local"), executor, model_id, n_threads=1)
            for model_id in PLANS
        }
    finally:
        executor.close()


def test_two_workers_on_a_private_cluster_give_the_in_process_results(reference, tmp_path):
    # first in the module, before the shared cluster: this executor starts its own
    executor = RayExecutor(workers=2)
    try:
        assert executor.owns_cluster
        for model_id in PLANS:  # the second model replaces the first in the workers
            results = run_plan(tmp_path / model_id.replace("/", "_"), executor, model_id)
            assert results == reference[model_id]
        info = executor.model_info(resolve(GEMMA))
        assert info.kind == "base" and info.extra["n_threads"] == 1  # one thread per worker
        assert executor.stats["workers_started"] == 4 and executor.stats["workers_lost"] == 0
    finally:
        executor.close()
    assert not ray.is_initialized()


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(cluster, reference, tmp_path):
    executor = RayExecutor(workers=2)
    assert not executor.owns_cluster
    killed: list[int] = []

    def kill_one_worker_mid_run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pids = executor.worker_pids()
            if executor.stats["batches"] >= 1 and len(pids) == 2:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker_mid_run, daemon=True)
    killer.start()
    try:
        results = run_plan(tmp_path, executor, SMOLLM2)
    finally:
        killer.join(timeout=5)
        stats = dict(executor.stats)
        executor.close()
    assert killed, "no worker was killed"
    assert stats["workers_lost"] == 1 and stats["retried"] == 1
    assert stats["workers_started"] == 3  # a replacement was started
    assert stats["batches"] == 7  # 5 choice + 2 generation batches, each delivered once
    assert results == reference[SMOLLM2]


def test_the_cli_joins_a_running_cluster_by_address(cluster, reference, tmp_path):
    out = tmp_path / "s.jsonl"
    done = run_cli(
        "sample", GEMMA, "--prompt", "Describe yourself in one sentence.\nI am", "-n", "2",
        "--max-tokens", "10", "--top-p", "0.95", "--executor", "ray", "--ray-address", cluster,
        "--run-dir", str(tmp_path / "run"), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == [r.text for r in reference[GEMMA][-2:]]


def test_a_backend_error_in_a_worker_is_raised_as_in_process(cluster, tmp_path):
    spec = resolve(SMOLLM2, n_ctx=64)
    too_long = ChoiceRequest(TextPrompt("word " * 1000 + "Answer: "), LIKERT)
    executor = RayExecutor(workers=1)
    try:
        with Store(tmp_path) as store, pytest.raises(PromptTooLongError) as caught:
            Runner(store, "test", executor=executor, progress=False).score(spec, [too_long])
    finally:
        executor.close()
    assert "does not fit the context of" in str(caught.value)
    assert executor.stats["workers_lost"] == 0  # an error raised is not a lost worker


def test_a_vllm_model_on_a_cluster_without_gpus_is_one_line(cluster):
    executor = RayExecutor()
    try:
        with pytest.raises(ExecutorError) as caught:
            executor.model_info(resolve("vllm/org/model", tensor_parallel_size=2))
    finally:
        executor.close()
    assert str(caught.value) == (
        "the Ray cluster has 0 GPU; one worker for vllm/org/model needs 2 GPU"
    )


def test_an_unreachable_ray_address_is_one_line_and_keeps_the_store(tmp_path):
    run_dir = tmp_path / "run"
    executor = InProcessExecutor()
    try:
        with Store(run_dir) as store:
            Runner(store, "first", executor=executor, progress=False).score(
                resolve(SMOLLM2, n_threads=1), PLANS[SMOLLM2][0][:2]
            )
    finally:
        executor.close()
    address = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    done = run_cli(
        "sample", SMOLLM2, "--prompt", PROMPT, "-n", "1", "--max-tokens", "4",
        "--executor", "ray", "--ray-address", address,
        "--run-dir", str(run_dir), "--out", str(tmp_path / "s.jsonl"),
    )  # fmt: skip
    assert done.returncode == 1
    assert f"cannot reach the Ray cluster at '{address}'" in one_error_line(done.stderr)
    assert time.monotonic() - started < 60  # Ray alone would wait for minutes
    with Store(run_dir) as store:
        assert store.count_results() == 2


def test_an_unreachable_ray_client_address_fails_at_once():
    address = f"ray://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(ExecutorError, match="cannot reach the Ray cluster") as caught:
        check_reachable(address)  # what RayExecutor does before ray.init
    assert time.monotonic() - started < 10  # Ray Client alone waits 30 s
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.5:6379", ("", "10.0.0.5", 6379)),
        ("ray://head.example", ("ray", "head.example", 10001)),
        ("ray://[::1]:10002", ("ray", "::1", 10002)),
        ("auto", None),
    ],
)
def test_ray_addresses(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["http://head:8265", "head:port", "head:70000"])
def test_malformed_ray_addresses_are_one_line(address):
    with pytest.raises(ExecutorError, match="Ray address") as caught:
        parse_address(address)
    assert "\n" not in str(caught.value)


def test_executor_choices_are_checked():
    with pytest.raises(ExecutorError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(ExecutorError, match="need --executor ray"):
        make_executor("local", address="10.0.0.5:6379")
