"""Several replicas behind ``openai-api``: balancing, per-server limits, failover, bad lists.

The pool's rules are checked on their own with a hand-driven clock (expected picks worked
out from the documented rules); the transport is checked against real llama.cpp servers on
loopback (tests/servers.py), one of them stopped mid-run, and scripted proxies that stall
or fail on purpose.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from personascope.errors import BackendError, ModelNotFoundError
from personascope.models.base import (
    ChoiceRequest,
    GenerationRequest,
    SamplerSettings,
    TextPrompt,
    request_hash,
)
from personascope.models.endpoints import EndpointPool
from personascope.models.providers import load_model, resolve
from personascope.runner import Runner
from personascope.store import Store
from personascope.testing.clitools import one_error_line, run_cli
from personascope.testing.servers import (
    LlamaServer,
    Reply,
    ScriptedProxy,
    closed_port,
    smollm2_gguf,
)

SERVED = "smollm2"
LIKERT = ("1", "2", "3", "4", "5")
PERSONAS = ("a nurse from Lyon", "a retired sailor", "a student of law")
STATEMENTS = ("I am the life of the party.", "I worry about things.", "I like order.")


def item(persona: str, statement: str) -> TextPrompt:
    return TextPrompt(
        f"You are {persona}.\nRate how well the statement describes you, from 1 (very "
        f"inaccurate) to 5 (very accurate).\nStatement: {statement}\nAnswer: "
    )


def plan() -> tuple[list[ChoiceRequest], list[GenerationRequest]]:
    """Persona x statement choices, and four seeded generations."""
    choices = [ChoiceRequest(item(p, s), LIKERT) for p in PERSONAS for s in STATEMENTS]
    sampler = SamplerSettings(temperature=1.0, max_tokens=8)
    prompt = TextPrompt("Describe yourself in one sentence. I am")
    return choices, [GenerationRequest(prompt, sampler, seed=s) for s in range(4)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- the pool's rules ---------------------------------------------------------------------


def test_least_outstanding_relative_to_each_limit():
    pool = EndpointPool(["a", "b"], [3, 1], clock=Clock())
    picks = [pool.pick() for _ in range(5)]
    # a 0/3 ties b 0/1 (first listed wins), then b 0/1 < a 1/3, then only a has room
    assert [p.url if p else None for p in picks] == ["a", "b", "a", "a", None]
    pool.succeeded(picks[1])
    assert pool.pick().url == "b"


def test_a_failed_endpoint_rests_then_is_probed_one_request_at_a_time():
    clock = Clock()
    pool = EndpointPool(["a", "b"], [2, 2], clock=clock)
    a = pool.pick()
    assert a.url == "a"
    pool.failed(a, "refused the connection", rest_s=5.0)
    assert [pool.pick().url for _ in range(2)] == ["b", "b"]  # a is down
    assert pool.pick() is None  # b is full, a rests
    clock.now += 5.0
    probe = pool.pick()
    assert probe.url == "a"
    assert pool.pick() is None  # one probe at a time while b is up
    pool.succeeded(probe)
    assert [pool.pick().url for _ in range(2)] == ["a", "a"]  # back to its full limit


def test_a_request_is_steered_away_from_where_it_just_failed():
    pool = EndpointPool(["a", "b"], [4, 4], clock=Clock())
    assert pool.pick().url == "a"
    assert pool.pick(avoid=pool.endpoints[1]).url == "a"  # b has room but is avoided
    assert pool.pick(avoid=pool.endpoints[0]).url == "b"


def test_when_every_endpoint_is_down_each_takes_requests_again_after_its_rest():
    clock = Clock()
    pool = EndpointPool(["a", "b"], [2, 2], clock=clock)
    a, b = pool.pick(), pool.pick()
    pool.failed(a, "refused", rest_s=1.0)
    pool.failed(b, "refused", rest_s=3.0)
    assert pool.all_down() and pool.pick() is None
    clock.now += 1.0
    picks = [pool.pick() for _ in range(3)]
    # nothing is up, so no one-probe limit: a takes up to its limit; b still rests
    assert [p.url if p else None for p in picks] == ["a", "a", None]


def test_acquire_waits_for_a_slot_and_stops_when_cancelled():
    pool = EndpointPool(["a"], [1])
    held = pool.pick()
    cancelled = threading.Event()
    threading.Timer(0.3, cancelled.set).start()
    started = time.monotonic()
    with pytest.raises(InterruptedError):
        pool.acquire(cancelled)
    assert time.monotonic() - started >= 0.25
    pool.succeeded(held)
    assert pool.acquire(threading.Event()).url == "a"


# --- settings -----------------------------------------------------------------------------


def test_a_list_of_urls_and_per_server_limits():
    model = load_model(
        resolve("openai-api/x", base_url="http://h1:8000, http://h2:9000/v1", concurrency="3,1")
    )
    try:
        assert model.info.extra["base_url"] == "http://h1:8000/v1,http://h2:9000/v1"
        assert model.info.extra["concurrency"] == [3, 1]
        status = model.endpoint_status()
        assert [(s["url"], s["limit"]) for s in status] == [
            ("http://h1:8000/v1", 3),
            ("http://h2:9000/v1", 1),
        ]
    finally:
        model.close()


@pytest.mark.parametrize(
    ("urls", "options", "error", "words"),
    [
        ("http://h1:8000,htp://h2", {}, ModelNotFoundError, "endpoint 2 of 2"),
        ("http://h1:8000,,http://h2", {}, ModelNotFoundError, "empty base URL"),
        ("http://h1:8000,http://h1:8000/v1", {}, ModelNotFoundError, "listed twice"),
        ("http://h1,http://h2,http://h3", {"concurrency": "4,2"}, BackendError, "2 limits for 3"),
        ("http://h1,http://h2", {"concurrency": "4,0"}, BackendError, "concurrency"),
    ],
)
def test_bad_endpoint_lists_are_one_line_errors(urls, options, error, words):
    with pytest.raises(error, match=words) as caught:
        load_model(resolve("openai-api/x", base_url=urls, **options))
    assert "\n" not in str(caught.value)


# --- real servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with LlamaServer(smollm2_gguf(), alias=SERVED, n_threads=1) as running:
        yield running


@pytest.fixture(scope="module")
def canned(server):
    """A real scoring answer, for proxies that answer without a model."""
    return httpx.post(
        f"{server.base_url}/completions",
        json={
            "model": SERVED,
            "prompt": item(PERSONAS[0], STATEMENTS[0]).text,
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": 20,
        },
        timeout=120,
    ).json()


def http_model(urls: str, **options):
    return load_model(resolve(f"openai-api/{SERVED}", base_url=urls, timeout=120, **options))


def test_each_server_keeps_its_own_limit(canned):
    requests = [ChoiceRequest(item(PERSONAS[0], STATEMENTS[0]), LIKERT)] * 12
    with (
        ScriptedProxy([Reply(200, canned, delay=0.3)] * 12) as a,
        ScriptedProxy([Reply(200, canned, delay=0.3)] * 12) as b,
    ):
        model = http_model(f"{a.url},{b.url}", concurrency="3,1")
        try:
            results = model.score_choices(requests)
        finally:
            model.close()
    assert len(results) == 12 and len(a.received) + len(b.received) == 12
    assert (a.max_in_flight, b.max_in_flight) == (3, 1)
    assert len(a.received) > len(b.received)


def test_a_slow_server_gets_fewer_requests(canned):
    requests = [ChoiceRequest(item(PERSONAS[0], STATEMENTS[0]), LIKERT)] * 16
    with (
        ScriptedProxy([Reply(200, canned, delay=0.05)] * 16) as fast,
        ScriptedProxy([Reply(200, canned, delay=1.0)] * 16) as slow,
    ):
        model = http_model(f"{slow.url},{fast.url}", concurrency=2)
        try:
            model.score_choices(requests)
        finally:
            model.close()
    assert len(fast.received) + len(slow.received) == 16
    assert len(fast.received) >= 3 * len(slow.received), (len(fast.received), len(slow.received))


def test_a_failing_server_is_left_at_once_for_a_healthy_one(server):
    requests = [ChoiceRequest(item(p, STATEMENTS[1]), LIKERT) for p in PERSONAS]
    reference = http_model(server.base_url)
    try:
        expected = reference.score_choices(requests)
    finally:
        reference.close()
    busy = Reply(503, {"error": {"message": "Service is busy"}})
    with (
        ScriptedProxy([busy] * 10, upstream=server.root_url) as failing,
        ScriptedProxy([], upstream=server.root_url) as healthy,
    ):
        # a 60 s backoff: waiting for the failing server would show in the elapsed time
        model = http_model(f"{failing.url},{healthy.url}", concurrency=1, backoff=60)
        started = time.monotonic()
        try:
            results = model.score_choices(requests)
            status = model.endpoint_status()
        finally:
            model.close()
    assert time.monotonic() - started < 30
    assert len(failing.received) == 1  # marked down after its 503, not probed within 60 s
    assert len(healthy.received) == len(requests)
    assert status[0]["down"] and not status[1]["down"]
    for got, want in zip(results, expected):
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-4)


def test_a_server_stopped_mid_run_loses_and_duplicates_nothing(server, tmp_path):
    choices, generations = plan()
    requests = [*choices, *generations]
    with Store(tmp_path / "reference") as store:
        runner = Runner(store, "reference", progress=False)
        reference = resolve(f"openai-api/{SERVED}", base_url=server.base_url)
        expected_scores = runner.score(reference, choices)
        expected_texts = runner.generate(reference, generations)
        runner.executor.close()

    with LlamaServer(smollm2_gguf(), alias=SERVED, n_threads=1) as second, Store(tmp_path) as store:
        spec = resolve(
            f"openai-api/{SERVED}",
            base_url=f"{server.base_url},{second.base_url}",
            concurrency=2,
            timeout=120,
            backoff=0.2,
        )
        runner = Runner(store, "failover", batch_size={"choice": 3, "generate": 2}, progress=False)

        def stop_after_first_batch() -> None:
            while runner.executed < 3:
                time.sleep(0.02)
            second.stop()

        stopper = threading.Thread(target=stop_after_first_batch, daemon=True)
        stopper.start()
        scores = runner.score(spec, choices)
        texts = runner.generate(spec, generations)
        stopper.join(timeout=60)
        status = runner.executor.model(spec).endpoint_status()
        runner.executor.close()
        assert store.count_results(spec.key) == len(requests)
        assert store.known_hashes([request_hash(r, spec.key) for r in requests]) == {
            request_hash(r, spec.key) for r in requests
        }
    assert runner.executed == len(requests)  # every request ran once: no batch twice
    assert status[0]["sent"] > 0 and status[1]["sent"] > 0  # both served before the stop
    assert status[1]["down"] and status[1]["failed"] >= 1
    for got, want in zip(scores, expected_scores, strict=True):
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-4)
    for got, want in zip(texts, expected_texts, strict=True):
        assert got.text == want.text and got.token_ids == want.token_ids


# --- command line ---------------------------------------------------------------------------


def sample_args(urls: str, run_dir, seed: int) -> list[str]:
    return [
        "sample", f"openai-api/{SERVED}", "--base-url", urls, "--prompt", "Hi", "-n", "1",
        "--max-tokens", "4", "--seed", str(seed), "--run-dir", str(run_dir),
        "--out", str(run_dir.parent / "s.jsonl"),
    ]  # fmt: skip


def test_every_server_down_is_one_line_and_stored_results_stay(server, tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(*sample_args(server.base_url, run_dir, seed=1))
    assert first.returncode == 0, first.stderr
    ports = closed_port(), closed_port()
    dead = ",".join(f"http://127.0.0.1:{p}" for p in ports)
    done = run_cli(*sample_args(dead, run_dir, seed=2))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "all 2 endpoints are down (5 attempts" in line
    assert all(f"127.0.0.1:{p}/v1: refused the connection" in line for p in ports)
    with Store(run_dir) as store:
        assert store.count_results() == 1
        assert [r["status"] for r in store.runs()] == ["finished", "failed"]


def test_a_malformed_url_in_the_list_is_one_line(tmp_path):
    done = run_cli(*sample_args("http://127.0.0.1:8000,ftp://x", tmp_path / "run", seed=0))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "endpoint 2 of 2" in line and "'ftp://x'" in line


def test_the_cli_spreads_a_run_over_two_servers(server, tmp_path):
    with (
        ScriptedProxy([], upstream=server.root_url) as a,
        ScriptedProxy([], upstream=server.root_url) as b,
    ):
        args = sample_args(f"{a.url},{b.url}", tmp_path / "run", seed=3)
        args[args.index("-n") + 1] = "4"
        done = run_cli(*args, "--model-option", "concurrency=2,1")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in rows] == [3, 4, 5, 6]
    assert len(a.received) + len(b.received) == 4
    assert (a.max_in_flight, b.max_in_flight) == (2, 1)  # per-server limits from the CLI


def test_a_model_option_that_is_not_key_value_is_one_line(tmp_path):
    args = sample_args("http://127.0.0.1:8000", tmp_path / "run", seed=0)
    done = run_cli(*args, "-O", "concurrency")
    assert done.returncode == 1
    assert "--model-option 'concurrency' is not KEY=VALUE" in one_error_line(done.stderr)
