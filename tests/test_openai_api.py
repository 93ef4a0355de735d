"""The OpenAI-compatible HTTP backend against a real llama-cpp-python server on loopback.

The server serves the embedded SmolLM2 GGUF, the same file the in-process llama.cpp
backend (fixture ``smollm2``) loads, so the two can be compared directly. Faults
(503, 429, 400, garbage, silence, a closed port) come from real sockets: a scripted
HTTP proxy in front of the real server, a port that never answers, a port nobody holds.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager

import httpx
import pytest

from personascope.errors import BackendError, ModelNotFoundError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    GenerationResult,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.providers import load_model, resolve
from personascope.testing.clitools import one_error_line, run_cli
from personascope.testing.servers import (
    LlamaServer,
    Reply,
    ScriptedProxy,
    closed_port,
    silent_port,
    smollm2_gguf,
)

SERVED = "smollm2"
LIKERT = ("1", "2", "3", "4", "5")
ITEM = TextPrompt(
    "You are Jonas, a 34-year-old carpenter from Bergen who likes quiet evenings.\n"
    "Rate how well the statement describes you, from 1 (very inaccurate) to 5 (very "
    "accurate).\nStatement: I am the life of the party.\nAnswer: "
)
CHAT = ChatPrompt((Message("user", "Describe a person you know in one sentence."),))


@pytest.fixture(scope="module")
def server():
    with LlamaServer(smollm2_gguf(), alias=SERVED, n_threads=1) as running:
        yield running


@contextmanager
def http_model(url: str, model_id: str = f"openai-api/{SERVED}", **options):
    model = load_model(resolve(model_id, base_url=url, **options))
    try:
        yield model
    finally:
        model.close()


@pytest.fixture(scope="module")
def model(server):
    with http_model(server.base_url, timeout=120) as loaded:
        yield loaded


def greedy(max_tokens: int = 12, **kw) -> SamplerSettings:
    return SamplerSettings(temperature=0.0, max_tokens=max_tokens, **kw)


# A one-token request whose first token ("Z") starts no prompt compared below.
FLUSH = GenerationRequest(TextPrompt("Zebra"), greedy(1))


def from_scratch(model, request: GenerationRequest) -> GenerationResult:
    """``request``'s result, its prompt evaluated from an empty KV cache.

    Why results compared across calls cannot differ: the server (llama-cpp-python's
    ``llama_cpp.server``) holds one model and one sequence and serves one request at a time
    (a lock in its app: no parallel slots, no batching of requests together), and its
    prompt cache (``--cache``) is off. The one state carried from request to request is
    the KV-cache prefix ``Llama.generate`` reuses: a prompt that shares a prefix with the
    previous request is evaluated in a different batch shape, which may round differently
    (on this machine it matched bit for bit). A request with another first token before
    it (SmolLM2 adds no BOS) makes the server reset and evaluate the whole prompt, so the
    same request computes the same numbers whatever ran before, alone or concurrently.
    """
    model.generate([FLUSH])
    return model.generate([request])[0]


def raw_top(server, prompt: str, k: int = 20) -> dict[str, float]:
    """The server's top-K list for the next token, read with a plain HTTP request."""
    answer = httpx.post(
        f"{server.base_url}/completions",
        json={"model": SERVED, "prompt": prompt, "max_tokens": 1, "temperature": 0, "logprobs": k},
        timeout=120,
    ).json()
    return answer["choices"][0]["logprobs"]["top_logprobs"][0]


def assert_one_line(message: str) -> None:
    assert "\n" not in message and message.strip() == message


# --- settings ----------------------------------------------------------------------------


def test_openai_api_without_a_url_says_to_pass_base_url(monkeypatch):
    monkeypatch.delenv("PERSONASCOPE_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ModelNotFoundError, match="--base-url") as caught:
        load_model(resolve("openai-api/whatever"))
    assert_one_line(str(caught.value))


def test_the_url_can_come_from_the_environment_without_v1(monkeypatch, server):
    monkeypatch.setenv("PERSONASCOPE_BASE_URL", server.root_url)
    model = load_model(resolve(f"openai-api/{SERVED}"))
    try:
        assert model.info.extra["base_url"] == server.base_url
        result = model.score_choices([ChoiceRequest(ITEM, LIKERT)])[0]
        assert sum(result.probs) == pytest.approx(1.0)
    finally:
        model.close()


def test_openai_provider_defaults_and_needs_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelNotFoundError, match="OPENAI_API_KEY"):
        load_model(resolve("openai/gpt-4o-mini"))
    model = load_model(resolve("openai/gpt-4o-mini", api_key="sk-secret-123"))
    try:
        assert model.info.extra["base_url"] == "https://api.openai.com/v1"
        assert model.info.extra["served_model"] == "gpt-4o-mini"
        assert model.info.sampler_order == ("server",)
        assert "sk-secret-123" not in json.dumps(model.info.extra)
    finally:
        model.close()


@pytest.mark.parametrize(
    ("option", "value"), [("concurrency", "zero"), ("concurrency", 0), ("prefill", "yes")]
)
def test_bad_options_are_one_line_errors(option, value):
    with pytest.raises(BackendError, match=option) as caught:
        load_model(resolve("openai-api/x", base_url="http://127.0.0.1:9", **{option: value}))
    assert_one_line(str(caught.value))


# --- generation ----------------------------------------------------------------------------


def test_completions_generation_matches_the_in_process_backend(model, smollm2):
    request = GenerationRequest(ITEM, greedy(10))
    remote = model.generate([request])[0]
    local = smollm2.generate([request])[0]
    assert remote.text == local.text and remote.text
    assert remote.finish_reason == local.finish_reason
    assert remote.n_prompt_tokens == local.n_prompt_tokens
    assert remote.token_logprobs == pytest.approx(local.token_logprobs, abs=1e-3)
    assert remote.token_ids == ()
    assert any("token ids" in note for note in remote.notes)


def test_chat_generation_uses_the_served_template_and_returns_logprobs(model, smollm2):
    request = GenerationRequest(CHAT, greedy(10))
    remote = model.generate([request])[0]
    local = smollm2.generate([request])[0]
    assert remote.text == local.text and remote.text
    assert remote.n_prompt_tokens == local.n_prompt_tokens
    assert remote.token_logprobs == pytest.approx(local.token_logprobs, abs=1e-3)


def test_seeded_sampling_repeats_on_this_server(model):
    settings = SamplerSettings(temperature=1.0, max_tokens=10)
    target = GenerationRequest(TextPrompt("My neighbour is"), settings, seed=11)
    first = from_scratch(model, target)
    model.generate([GenerationRequest(TextPrompt("My neighbour is a"), settings, seed=3)])
    again = from_scratch(model, target)  # equal log-probs: the same evaluation
    others = model.generate(
        [GenerationRequest(TextPrompt("My neighbour is"), settings, seed=s) for s in (12, 13)]
    )
    assert again.text == first.text
    assert again.token_logprobs == first.token_logprobs
    assert {first.text, *(o.text for o in others)} != {first.text}


def greedy_margins(server, prompt: str, n: int) -> list[float]:
    """Log-prob gap between the first and second candidate at each of the first ``n``
    greedy tokens (sampled with the settings the backend sends: no repeat penalty)."""
    answer = httpx.post(
        f"{server.base_url}/completions",
        json={
            "model": SERVED,
            "prompt": prompt,
            "max_tokens": n,
            "temperature": 0,
            "top_k": 0,
            "min_p": 0,
            "repeat_penalty": 1.0,
            "logprobs": 2,
        },
        timeout=120,
    ).json()
    margins = []
    for top in answer["choices"][0]["logprobs"]["top_logprobs"]:
        values = sorted(top.values(), reverse=True)
        margins.append(values[0] - values[1] if len(values) > 1 else math.inf)
    return margins


def test_the_server_honours_top_k_and_min_p(model, server):
    # Deterministic by construction: requests go one at a time, and texts are compared only
    # over the greedy tokens that beat the runner-up by 0.05 nats (a near-tie flips with the
    # server's prompt-cache state, which made this test fail once).
    text = "A short story about a lighthouse keeper:"
    margins = greedy_margins(server, text, 8)
    n = next((i for i, m in enumerate(margins) if m < 0.05), len(margins))
    assert n >= 3, f"the greedy path has a near-tie at token {n + 1}: margins {margins}"
    prompt = TextPrompt(text)
    reference = model.generate([GenerationRequest(prompt, greedy(n))])[0]
    hot = [
        SamplerSettings(temperature=1.5, max_tokens=n, top_k=1),
        SamplerSettings(temperature=1.5, max_tokens=n, min_p=0.999),
    ]
    for seed, settings in enumerate(hot):
        filtered = model.generate([GenerationRequest(prompt, settings, seed=seed)])[0]
        assert filtered.text == reference.text


def test_stop_strings_are_applied(model):
    settings = SamplerSettings(temperature=1.0, max_tokens=40, stop=(" ", "\n"))
    results = model.generate(
        [
            GenerationRequest(TextPrompt("Alice lives in a town called"), settings, seed=s)
            for s in range(3)
        ]
    )
    for result in results:
        assert " " not in result.text.strip() and "\n" not in result.text.strip()
    assert any(r.finish_reason == "stop" for r in results)


def test_entropy_is_not_invented_over_http(model):
    result = model.generate([GenerationRequest(TextPrompt("Hello"), greedy(4), want_entropy=True)])[
        0
    ]
    assert result.entropies is None
    assert any("entropy" in note for note in result.notes)


def test_generation_log_probs_can_be_turned_off(server, model):
    request = GenerationRequest(TextPrompt("Hello"), greedy(4))
    with http_model(server.base_url, logprobs="false", timeout=120) as plain:
        without = from_scratch(plain, request)
    assert without.text == from_scratch(model, request).text
    assert without.token_logprobs == ()
    assert any("logprobs=false" in note for note in without.notes)


def test_an_assistant_prefix_is_dropped_with_a_note(model):
    prefixed = ChatPrompt(CHAT.messages, assistant_prefix="Name:")
    # one at a time, each from an empty cache: two together would reach the server in
    # either order, the second reusing the first's prompt
    dropped = from_scratch(model, GenerationRequest(prefixed, greedy(8)))
    plain = from_scratch(model, GenerationRequest(CHAT, greedy(8)))
    assert any("'Name:' dropped" in note for note in dropped.notes)
    assert not any("dropped" in note for note in plain.notes)
    assert dropped.text == plain.text  # the prefix really was not sent


def test_request_bodies_carry_the_sampler_and_vllm_prefill_fields(server):
    with (
        ScriptedProxy(upstream=server.root_url) as proxy,
        http_model(proxy.url, prefill="continue_final_message") as model,
    ):
        settings = SamplerSettings(0.7, 0.9, 5, 0.02, max_tokens=6, stop=("\n",))
        model.generate([GenerationRequest(ChatPrompt(CHAT.messages, "Name:"), settings, seed=42)])
    body = proxy.received[0].body
    assert proxy.received[0].path == "/v1/chat/completions"
    assert body["model"] == SERVED
    assert (body["temperature"], body["top_p"], body["top_k"], body["min_p"]) == (
        0.7,
        0.9,
        5,
        0.02,
    )
    assert (body["max_tokens"], body["stop"], body["seed"]) == (6, ["\n"], 42)
    assert body["repeat_penalty"] == 1.0 and body["logprobs"] is True
    assert body["messages"][-1] == {"role": "assistant", "content": "Name:"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


def test_the_openai_provider_sends_only_openai_fields_and_the_key(server):
    with (
        ScriptedProxy(upstream=server.root_url) as proxy,
        http_model(proxy.url, model_id=f"openai/{SERVED}", api_key="sk-test") as model,
    ):
        model.generate([GenerationRequest(TextPrompt("Hi"), greedy(3))])
        with pytest.raises(BackendError, match="top_k/min_p"):
            model.generate([GenerationRequest(TextPrompt("Hi"), SamplerSettings(top_k=5))])
    assert len(proxy.received) == 1
    assert proxy.received[0].headers.get("authorization") == "Bearer sk-test"
    assert not {"top_k", "min_p", "repeat_penalty"} & set(proxy.received[0].body)


# --- scoring -------------------------------------------------------------------------------


def test_options_outside_the_top_list_get_a_counted_bounded_fallback(model, server, smollm2):
    options = (*LIKERT, "zebra", "Quixotic")
    top = raw_top(server, ITEM.text)
    assert not any(text and o.startswith(text) for o in options[5:] for text in top)
    result = model.score_choices([ChoiceRequest(ITEM, options)])[0]
    listed = [o for o in LIKERT if o in top]
    assert result.n_fallback == len(options) - len(listed)
    assert any("'zebra', 'Quixotic'" in note for note in result.notes)
    for option in listed:
        assert result.logprobs[options.index(option)] == pytest.approx(top[option])
    probs = [math.exp(v) for v in top.values()]
    bound = min((1 - sum(probs)) / result.n_fallback, min(probs))
    truth = smollm2.score_choices([ChoiceRequest(ITEM, options)])[0]
    for option in options[5:]:
        i = options.index(option)
        assert math.exp(result.logprobs[i]) == pytest.approx(bound)
        assert math.exp(truth.logprobs[i]) <= bound  # the fallback is an upper bound
    assert result.option_mass == pytest.approx(sum(math.exp(v) for v in result.logprobs))


def test_chat_scoring_agrees_with_the_in_process_backend(model, smollm2):
    question = "On a scale from 1 to 5, how much do you enjoy parties? Answer with one digit."
    prompt = ChatPrompt((Message("user", question),))
    remote = model.score_choices([ChoiceRequest(prompt, LIKERT)])[0]
    local = smollm2.score_choices([ChoiceRequest(prompt, LIKERT)])[0]
    assert remote.n_fallback == 0, remote.notes
    assert remote.logprobs == pytest.approx(local.logprobs, abs=0.1)


def test_multi_token_options_with_misaligned_echo_raise_instead_of_lying(model):
    with pytest.raises(BackendError, match="echo") as caught:
        model.score_choices([ChoiceRequest(ITEM, ("1", "10"))])
    assert_one_line(str(caught.value))


def test_multi_token_options_cannot_be_scored_over_chat(model):
    prompt = ChatPrompt((Message("user", "Pick a number from 1 to 20."),))
    with pytest.raises(BackendError, match="no echo"):
        model.score_choices([ChoiceRequest(prompt, ("1", "10", "12"))])


@pytest.mark.slow
def test_multi_token_options_are_scored_from_echo_on_a_bos_model(gemma):
    """Gemma has a BOS token, so llama-cpp-python's echoed log-probs are aligned.

    Slow: the server sorts Gemma's 262k-token vocabulary in Python at every echoed position.
    """
    prompt = TextPrompt("Q: How many legs does a spider have?\nA: ")
    request = ChoiceRequest(prompt, ("1", "8", "10"))
    path = resolve("llamacpp/gemma3-270m").path
    with (
        LlamaServer(path, alias="gemma", n_ctx=256, n_threads=1) as running,
        http_model(
            running.base_url, "openai-api/gemma", kind="base", timeout=300, concurrency=1
        ) as remote,
    ):
        result = remote.score_choices([request])[0]
    local = gemma.score_choices([request])[0]
    assert result.n_fallback == 0
    assert any("echo" in note for note in result.notes)
    assert result.logprobs == pytest.approx(local.logprobs, abs=0.1)


# --- transport -----------------------------------------------------------------------------


def test_503s_are_retried_until_the_real_answer(model, server):
    busy = Reply(503, {"error": {"message": "Service is busy"}})
    with (
        ScriptedProxy([busy, busy], upstream=server.root_url) as proxy,
        http_model(proxy.url, backoff=0.05, timeout=120) as flaky,
    ):
        result = flaky.score_choices([ChoiceRequest(ITEM, LIKERT)])[0]
    assert len(proxy.received) == 3
    assert result.logprobs == pytest.approx(
        model.score_choices([ChoiceRequest(ITEM, LIKERT)])[0].logprobs
    )


def test_429_waits_for_retry_after(server):
    limited = Reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": "1"})
    with (
        ScriptedProxy([limited], upstream=server.root_url) as proxy,
        http_model(proxy.url, backoff=0.0, timeout=120) as model,
    ):
        model.score_choices([ChoiceRequest(ITEM, LIKERT)])
    assert len(proxy.received) == 2
    assert proxy.received[1].at - proxy.received[0].at >= 0.9


def test_a_server_that_never_answers_fails_on_its_first_timeout_and_says_how_to_wait():
    with (
        silent_port() as port,
        http_model(f"http://127.0.0.1:{port}", timeout=0.5, max_retries=4, backoff=0.0) as model,
        pytest.raises(BackendError) as caught,
    ):
        started = time.monotonic()
        model.score_choices([ChoiceRequest(ITEM, LIKERT)])
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert_one_line(message)
    assert f"127.0.0.1:{port}/v1/completions" in message
    assert "timed out after 0.5 s on the first request" in message
    assert "-O timeout=SECONDS" in message
    assert elapsed < 1.5  # one attempt, not max_retries + 1 = 5 of 0.5 s


def test_a_closed_port_is_a_refused_connection():
    port = closed_port()
    with (
        http_model(f"http://127.0.0.1:{port}", max_retries=1, backoff=0.0) as model,
        pytest.raises(BackendError) as caught,
    ):
        model.generate([GenerationRequest(TextPrompt("Hi"), greedy(2))])
    message = str(caught.value)
    assert_one_line(message)
    assert message.endswith(f"127.0.0.1:{port}/v1/completions: refused the connection (2 attempts)")


def test_a_400_fails_at_once_with_the_server_message(server):
    bad = Reply(400, {"error": {"message": "max_tokens is\ntoo large", "type": "invalid"}})
    with (
        ScriptedProxy([bad], upstream=server.root_url) as proxy,
        http_model(proxy.url, backoff=0.0) as model,
        pytest.raises(BackendError) as caught,
    ):
        model.generate([GenerationRequest(TextPrompt("Hi"), greedy(2))])
    assert len(proxy.received) == 1
    assert_one_line(str(caught.value))
    assert str(caught.value).endswith("answered 400: max_tokens is too large")


def test_the_real_server_400s_a_prompt_longer_than_its_context(model):
    with pytest.raises(BackendError, match=r"answered 400: .*context length") as caught:
        model.generate([GenerationRequest(TextPrompt("word " * 3000), greedy(2))])
    assert_one_line(str(caught.value))


def test_persistent_500s_give_up_with_the_count(server):
    with (
        ScriptedProxy([Reply(500, "internal trouble")] * 3, upstream=server.root_url) as proxy,
        http_model(proxy.url, max_retries=2, backoff=0.0) as model,
        pytest.raises(BackendError) as caught,
    ):
        model.score_choices([ChoiceRequest(ITEM, LIKERT)])
    assert len(proxy.received) == 3
    assert str(caught.value).endswith("answered 500: internal trouble (3 attempts)")


def test_a_body_that_is_not_json_is_a_clear_error():
    with (
        ScriptedProxy([Reply(200, "<html>hello</html>")]) as proxy,
        http_model(proxy.url) as model,
        pytest.raises(BackendError, match="not JSON") as caught,
    ):
        model.score_choices([ChoiceRequest(ITEM, LIKERT)])
    assert_one_line(str(caught.value))


@pytest.mark.parametrize("concurrency", [1, 3])
def test_no_more_than_concurrency_requests_are_in_flight(server, concurrency):
    real = httpx.post(
        f"{server.base_url}/completions",
        json={
            "model": SERVED,
            "prompt": ITEM.text,
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": 20,
        },
        timeout=120,
    ).json()
    with (
        ScriptedProxy([Reply(200, real, delay=0.3)] * 7) as proxy,
        http_model(proxy.url, concurrency=concurrency) as model,
    ):
        results = model.score_choices([ChoiceRequest(ITEM, LIKERT)] * 7)
    assert len(results) == 7 and len(proxy.received) == 7
    assert proxy.max_in_flight == concurrency


# --- command line --------------------------------------------------------------------------


def test_cli_samples_through_the_server(server, tmp_path):
    out = tmp_path / "s.jsonl"
    done = run_cli(
        "sample", f"openai-api/{SERVED}", "--base-url", server.base_url,
        "--prompt", "Describe a person in one sentence.", "-n", "2", "--max-tokens", "12",
        "--seed", "5", "--run-dir", str(tmp_path / "run"), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seed"] for r in rows] == [5, 6]
    assert all(r["text"] and r["model_id"] == f"openai-api/{SERVED}" for r in rows)
    assert rows[0]["sampler"]["order"] == ["server"]


def test_cli_with_a_dead_url_prints_one_error_line(tmp_path):
    port = closed_port()
    done = run_cli(
        "sample", f"openai-api/{SERVED}", "--base-url", f"http://127.0.0.1:{port}",
        "--prompt", "Hi", "-n", "1", "--run-dir", str(tmp_path / "run"),
        "--out", str(tmp_path / "s.jsonl"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "refused the connection (5 attempts)" in one_error_line(done.stderr)
