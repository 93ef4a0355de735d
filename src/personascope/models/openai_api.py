"""The OpenAI-compatible HTTP backend: the OpenAI API, ``vllm serve``, llama.cpp servers, Ollama.

Model ids and settings
----------------------
``openai-api/<served name>`` talks to any server with an OpenAI-compatible API; the part
after the slash is the model name sent in every request. Its URL comes from the option
``base_url`` (``--base-url`` on the command line), else ``$PERSONASCOPE_BASE_URL``, else
``$OPENAI_BASE_URL``; without one, loading fails with a one-line error. ``openai/<model>``
is the OpenAI API itself (``https://api.openai.com/v1`` unless ``$OPENAI_BASE_URL`` says
otherwise) and needs ``$OPENAI_API_KEY``. A URL without a path gets ``/v1`` appended
(``http://127.0.0.1:8000`` and ``http://127.0.0.1:8000/v1`` are the same server); a URL
with a path is used as given. Several replicas of one served model (e.g. ``vllm serve``
on several GPU nodes) are given as a comma-separated list (or a list, from Python):
``--base-url http://gpu1:8000/v1,http://gpu2:8000/v1``; see *Transport*.

Other options (``spec.options``): ``api_key`` (else ``$OPENAI_API_KEY``), ``timeout``
(seconds per attempt, default 30), ``concurrency`` (requests in flight per server,
default 4; ``"8,2"`` gives each server of the list its own limit),
``max_retries`` (default 4), ``backoff`` (first retry delay in seconds, default 0.5),
``top_logprobs`` (K for scoring, default 20), ``prefill`` (``"drop"`` or
``"continue_final_message"``, see below), ``echo`` (score multi-token options from
echoed prompt log-probs, default true for ``openai-api`` and false for ``openai``),
``extra_sampling`` (send ``top_k``, ``min_p``, ``repeat_penalty=1`` and
``return_tokens_as_token_ids``, which vLLM and llama.cpp servers accept and the OpenAI API
rejects; default true for ``openai-api``, false for ``openai``) and ``logprobs`` (ask for
the log-probs of generated tokens, default true; llama-cpp-python's server then sorts the
whole vocabulary in Python at every token, which made generation about 5x slower here).
``repeat_penalty=1`` is
sent because llama-cpp-python's server otherwise penalises repeats (its default is 1.1)
and top-k 40 / min-p 0.05 are its defaults unless ``top_k=0`` / ``min_p=0`` are sent.

Generation
----------
A :class:`TextPrompt` goes to ``/completions`` as is; a :class:`ChatPrompt` goes to
``/chat/completions`` and the server applies its chat template. Temperature, top-p,
max_tokens, stop strings and the seed are sent with every request; log-probs of the
sampled tokens are requested (``logprobs=1``, or ``logprobs=true, top_logprobs=1`` on
chat). Token ids come back only from servers that honour ``return_tokens_as_token_ids``
(vLLM); otherwise ``token_ids`` is empty and the result carries a note. The entropy of
the full next-token distribution never crosses HTTP: when requested, ``entropies`` is
None and a note says so. The sampler order is the server's (``sampler_order =
("server",)``). Seeds: llama-cpp-python's server repeats a seeded sample exactly (same
text and log-probs, whatever ran in between; tested), vLLM seeds each request, the OpenAI
API's seed is best effort only. Log-probs are the server's: llama-cpp-python reports them
under the untempered, unfiltered distribution, as the llama.cpp backend does; vLLM does so
with its default ``logprobs_mode=raw_logprobs``.

An ``assistant_prefix`` can only be sent to servers that continue a final assistant
message: with ``prefill="continue_final_message"`` it is sent as a last assistant message
with vLLM's ``continue_final_message=true, add_generation_prompt=false``; otherwise it is
dropped and every affected result carries a note saying so.

Scoring (``score_choices``)
---------------------------
One request per prompt asks for a single greedy token with the top-K log-probs of the
first position (completions: ``logprobs=K``; chat: ``logprobs=true, top_logprobs=K``).
Each option is matched to the listed entries whose token text **equals the option exactly,
leading spaces included**: ``"4"`` and ``" 4"`` are different tokens and different
continuations, so a prompt ending in ``"Answer: "`` is scored with bare options ``"1"`` ...
``"5"``, as on the llama.cpp backend. Entries with the same text are summed.

An option that is not listed is handled in one of two ways:

* if no listed token is a proper prefix of it, its first token is outside the top K, so
  P(option) <= p_min, the smallest listed probability, whatever its tokenisation. Such
  options share the leftover mass equally, capped at that bound:
  ``p = min((1 - sum_{j in top K} p_j) / m, p_min)`` for ``m`` such options. They are
  counted in ``ChoiceResult.n_fallback`` and named in a note;
* if a listed token is a proper prefix of it (``"1"`` listed, option ``"10"``), it may be
  a multi-token option. On the completions endpoint it is scored exactly from prompt
  log-probs: ``prompt + option`` is sent with ``echo=true`` and the log-probs of the
  option's tokens are summed (as lm-evaluation-harness does for API models). The echoed
  log-prob of the option's first token is checked against the top-K answer, because some
  servers misalign echoed log-probs (llama-cpp-python 0.3 shifts them by one token for
  models without a BOS token); a mismatch raises a :class:`BackendError` instead of
  returning wrong numbers. The chat endpoint has no echo: such options raise an error.

Transport
---------
httpx, with up to ``concurrency`` requests of a batch in flight per server. 429, 408,
5xx, timeouts and connection errors are retried ``max_retries`` times with exponential
backoff and jitter (delay ``backoff * 2**attempt`` scaled by a uniform factor in
[0.5, 1]), or after the server's ``Retry-After`` (capped at 60 s); other 4xx fail at
once. Every failure is a one-line :class:`BackendError` naming the URL and the cause.
A single server that times out before it has answered once fails at once, not after every
retry: a server that accepts connections but never answers would otherwise cost
``(max_retries + 1) * timeout`` seconds (157 s by default) before the first message.

With several servers (:mod:`personascope.models.endpoints`), each attempt goes to the
server with the fewest requests in flight relative to its limit; a server that fails
transiently is marked down for the backoff delay and the request is retried on another
one at once; a down server is probed with one request at a time once its delay has
passed and is back in rotation after its first success. A request that fails
``max_retries + 1`` times while every server is down ends the run with one line naming
each server and its last failure. Results do not depend on which replica answered as
long as the replicas serve the same model file with the same settings (the request hash
does not include the URL, so a rerun may use other replicas and still hit the cache).
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from personascope.errors import BackendError, ModelNotFoundError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.models.endpoints import Endpoint, EndpointPool

OPENAI_URL = "https://api.openai.com/v1"
MAX_RETRY_AFTER_S = 60.0
OPENAI_COMPLETIONS_MAX_LOGPROBS = 5  # the OpenAI API caps completions logprobs at 5
ECHO_TOLERANCE = 0.1  # nats between an echoed log-prob and the top-K answer for it
ENTROPY_NOTE = (
    "entropy of the full next-token distribution is not available over HTTP: entropies=None"
)
LOGPROBS_OFF_NOTE = "token log-probs not requested (option logprobs=false)"
IDS_NOTE = "the server returned no token ids (only vLLM honours return_tokens_as_token_ids)"
_RETRY_STATUS = frozenset({408, 429})

Prefill = Literal["drop", "continue_final_message"]


# --- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HTTPSettings:
    """Where and how to talk to the servers (the API key is never stored in results).

    ``base_urls`` are replicas serving the same model; ``concurrency[i]`` is the number of
    requests in flight to ``base_urls[i]``.
    """

    base_urls: tuple[str, ...]
    api_key: str | None = None
    timeout: float = 30.0
    concurrency: tuple[int, ...] = (4,)
    max_retries: int = 4
    backoff: float = 0.5
    top_logprobs: int = 20
    prefill: Prefill = "drop"
    echo: bool = True
    extra_sampling: bool = True
    logprobs: bool = True


def normalize_base_url(url: str, model_id: str) -> str:
    """``scheme://host[:port]`` -> ``.../v1``; a URL with a path is kept as given."""
    given = url
    url = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ModelNotFoundError(f"{model_id}: base URL {given!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ModelNotFoundError(
            f"{model_id}: base URL {given!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)"
        )
    return url + "/v1" if parsed.path in ("", "/") else url


def parse_base_urls(raw: str | Sequence[str], model_id: str) -> tuple[str, ...]:
    """One or more base URLs (a comma-separated string or a list), each normalised.

    A malformed entry is a one-line error naming its position; a URL listed twice too.
    """
    pieces = raw.split(",") if isinstance(raw, str) else [str(u) for u in raw]
    n = len(pieces)
    urls: list[str] = []
    for i, piece in enumerate(pieces, 1):
        where = model_id if n == 1 else f"{model_id} (endpoint {i} of {n})"
        if not piece.strip():
            raise ModelNotFoundError(f"{where}: empty base URL in {printable(str(raw), 200)!r}")
        url = normalize_base_url(piece, where)
        if url in urls:
            raise ModelNotFoundError(f"{where}: base URL {redact_url(url)!r} is listed twice")
        urls.append(url)
    return tuple(urls)


def parse_concurrency(raw: Any, n: int, model_id: str) -> tuple[int, ...]:
    """Requests in flight per endpoint: one number for all, or one per endpoint
    (``"4,2"``, matching the order of the base URLs)."""
    if raw is None:
        return (4,) * n
    pieces = str(raw).split(",") if not isinstance(raw, (list, tuple)) else list(raw)
    values = tuple(_option({"concurrency": p}, "concurrency", 4, int, 1, model_id) for p in pieces)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise BackendError(
            f"{model_id}: option concurrency={raw!r} gives {len(values)} limits for {n} "
            "base URLs (give one number, or one per URL)"
        )
    return values


def redact_url(url: str) -> str:
    """The URL without any user:password part (safe to store and print)."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


def _option(
    options: Mapping[str, Any], name: str, default: Any, cast: type, minimum: float, model_id: str
) -> Any:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        raise BackendError(f"{model_id}: option {name}={raw!r} is not a {cast.__name__}") from None
    if value < minimum:
        raise BackendError(f"{model_id}: option {name}={raw!r} must be >= {minimum}")
    return value


def _flag(options: Mapping[str, Any], name: str, default: bool, model_id: str) -> bool:
    raw = options.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise BackendError(f"{model_id}: option {name}={raw!r} is not true or false")


def settings_from_spec(spec: ModelSpec, environ: Mapping[str, str] | None = None) -> HTTPSettings:
    """Read :class:`HTTPSettings` from ``spec.options`` with environment fallbacks."""
    env = os.environ if environ is None else environ
    options, model_id = spec.options, spec.model_id
    is_openai = spec.provider == "openai"
    if is_openai:
        url = options.get("base_url") or env.get("OPENAI_BASE_URL") or OPENAI_URL
    else:
        url = (
            options.get("base_url")
            or env.get("PERSONASCOPE_BASE_URL")
            or env.get("OPENAI_BASE_URL")
        )
        if not url:
            raise ModelNotFoundError(
                f"{model_id} needs the server's URL: pass --base-url URL "
                "(or set PERSONASCOPE_BASE_URL)"
            )
    api_key = options.get("api_key") or env.get("OPENAI_API_KEY") or None
    if is_openai and not api_key:
        raise ModelNotFoundError(f"{model_id} needs an API key: set OPENAI_API_KEY")
    prefill = options.get("prefill") or "drop"
    if prefill not in ("drop", "continue_final_message"):
        raise BackendError(
            f"{model_id}: option prefill={prefill!r} must be 'drop' or 'continue_final_message'"
        )
    base_urls = parse_base_urls(url, model_id)
    return HTTPSettings(
        base_urls=base_urls,
        api_key=api_key,
        timeout=_option(options, "timeout", 30.0, float, 0.001, model_id),
        concurrency=parse_concurrency(options.get("concurrency"), len(base_urls), model_id),
        max_retries=_option(options, "max_retries", 4, int, 0, model_id),
        backoff=_option(options, "backoff", 0.5, float, 0.0, model_id),
        top_logprobs=_option(options, "top_logprobs", 20, int, 1, model_id),
        prefill=prefill,
        echo=_flag(options, "echo", not is_openai, model_id),
        extra_sampling=_flag(options, "extra_sampling", not is_openai, model_id),
        logprobs=_flag(options, "logprobs", True, model_id),
    )


# --- transport --------------------------------------------------------------------------


class _Cancelled(Exception):
    """Another request of the batch failed; this one stops retrying."""


def server_message(response: httpx.Response) -> str:
    """The error text a server put in its answer (OpenAI, FastAPI or plain), on one line."""
    try:
        data = response.json()
    except ValueError:
        text = response.text
    else:
        text = json.dumps(data)
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict) and error.get("message"):
                text = str(error["message"])
            elif isinstance(error, str):
                text = error
            elif "detail" in data:
                text = str(data["detail"])
            elif "message" in data:
                text = str(data["message"])
    return printable(text, 300) or response.reason_phrase


def printable(text: str, limit: int) -> str:
    """Untrusted text for a one-line message: whitespace collapsed, control characters
    (terminal escapes) removed, cut to ``limit`` characters."""
    text = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header (seconds or an HTTP date) as seconds, capped at 60."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


_TIMED_OUT = "timed out"


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


class Transport:
    """POSTs JSON to one or more replicas of a server: per-replica concurrency limits,
    least-outstanding load balancing, failover, retries with backoff, one-line errors
    (:mod:`personascope.models.endpoints` decides which replica gets each attempt)."""

    def __init__(self, settings: HTTPSettings) -> None:
        self.settings = settings
        headers = {"Content-Type": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        total = sum(settings.concurrency)
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            headers=headers,
            limits=httpx.Limits(max_connections=total),
        )
        self._pool = ThreadPoolExecutor(max_workers=total, thread_name_prefix="personascope-http")
        self._endpoints = EndpointPool(settings.base_urls, settings.concurrency)
        self._jitter = random.Random()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self.settings.backoff * 2**attempt * self._jitter.uniform(0.5, 1.0)

    def _send(
        self, url: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str, float | None]:
        """One attempt: (answer, "", None), or (None, transient failure, Retry-After)."""
        shown = f"POST {redact_url(url)}"
        try:
            response = self._client.post(url, json=body)
        except httpx.TimeoutException:
            return None, f"{_TIMED_OUT} after {self.settings.timeout:g} s", None
        except httpx.ConnectError as exc:
            refused = "refused" in str(exc).lower()
            return None, "refused the connection" if refused else f"could not connect ({exc})", None
        except httpx.TransportError as exc:
            return None, f"failed in transit ({type(exc).__name__}: {exc})", None
        status = response.status_code
        if 200 <= status < 300:
            try:
                data = response.json()
            except ValueError:
                raise BackendError(
                    f"{shown}: the server answered {status} with a body that is not "
                    f"JSON: {printable(response.text, 120)!r}"
                ) from None
            if not isinstance(data, dict):
                raise BackendError(
                    f"{shown}: the server answered a JSON {type(data).__name__}, not an object"
                )
            return data, "", None
        failure = f"answered {status}: {server_message(response)}"
        if status < 500 and status not in _RETRY_STATUS:
            raise BackendError(f"{shown}: {failure}")
        return None, failure, retry_after_seconds(response)

    def post(
        self, path: str, body: dict[str, Any], cancel: threading.Event
    ) -> tuple[str, dict[str, Any]]:
        """POST ``body`` to ``path`` on some replica, retrying transient failures (on
        another replica when one is up); the URL that answered and its decoded JSON."""
        settings = self.settings
        endpoint: Endpoint | None = None
        for attempt in range(settings.max_retries + 1):
            try:
                endpoint = self._endpoints.acquire(cancel, avoid=endpoint)
            except InterruptedError:
                raise _Cancelled from None
            url = f"{endpoint.url}/{path}"
            try:
                data, failure, retry_after = self._send(url, body)
            except BaseException:  # an answer that is the request's fault, not the server's
                self._endpoints.released(endpoint)
                raise
            if data is not None:
                self._endpoints.succeeded(endpoint)
                return url, data
            self._endpoints.failed(endpoint, failure, self._delay(attempt, retry_after))
            if failure.startswith(_TIMED_OUT) and self._never_answered():
                raise BackendError(
                    f"POST {redact_url(url)}: {failure} on the first request: the server "
                    "accepts connections but has not answered; check that it is serving, or "
                    "wait longer for a slow start with -O timeout=SECONDS"
                )
        assert endpoint is not None
        attempts = _attempts(settings.max_retries + 1)
        endpoints = self._endpoints.endpoints
        if len(endpoints) > 1 and self._endpoints.all_down():
            detail = "; ".join(f"{redact_url(e.url)}: {e.last_failure}" for e in endpoints)
            raise BackendError(
                f"POST .../{path}: all {len(endpoints)} endpoints are down ({attempts} for "
                f"one request): {detail}"
            )
        hint = ""
        if failure.startswith(_TIMED_OUT):
            hint = "; -O timeout=SECONDS and -O max_retries=N set how long to wait"
        raise BackendError(f"POST {redact_url(url)}: {failure} ({attempts}{hint})")

    def _never_answered(self) -> bool:
        """One server, and it has not answered once: a timeout then means it is not serving
        (retrying would only multiply the wait: 5 attempts of 30 s by default)."""
        endpoints = self._endpoints.endpoints
        return len(endpoints) == 1 and endpoints[0].answered == 0

    def post_many(
        self, calls: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Run ``(path, body)`` calls concurrently; ``(URL, answer)`` pairs in order, or the
        first failure."""
        cancel = threading.Event()
        futures: list[Future[tuple[str, dict[str, Any]]]] = [
            self._pool.submit(self.post, path, body, cancel) for path, body in calls
        ]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
            return [f.result() for f in futures]
        finally:
            cancel.set()
            for future in futures:
                future.cancel()

    def status(self) -> list[dict[str, object]]:
        """Per replica: URL (without credentials), limit, requests sent and failed, down."""
        return [{**e, "url": redact_url(str(e["url"]))} for e in self._endpoints.status()]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


# --- reading answers ----------------------------------------------------------------------


def _field(data: Any, *path: str | int, where: str) -> Any:
    """``data[path[0]][path[1]]...`` or a one-line error naming the missing field."""
    current = data
    for i, key in enumerate(path):
        try:
            current = current[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[: i + 1])
            raise BackendError(f"{where}: the answer has no {shown.lstrip('.')}") from None
    return current


def _logprob(value: Any, where: str) -> float:
    """A log-probability from an answer, or a one-line error (NaN and > 0 are not ones)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BackendError(f"{where}: the answer has a log-prob that is not a number") from None
    if math.isnan(number) or number > 1e-4:
        raise BackendError(f"{where}: the answer has an impossible log-prob {number}")
    return min(number, 0.0)


def parse_token_ids(tokens: Sequence[str]) -> tuple[int, ...] | None:
    """Token ids from vLLM's ``return_tokens_as_token_ids`` form ``"token_id:123"``, else None."""
    ids: list[int] = []
    for token in tokens:
        head, sep, tail = token.partition("token_id:")
        if head or not sep or not tail.isdigit():
            return None
        ids.append(int(tail))
    return tuple(ids)


def top_entries_completion(data: dict[str, Any], where: str) -> list[tuple[str, float]]:
    """``(token text, logprob)`` at the first generated position of a completions answer."""
    top = _field(data, "choices", 0, "logprobs", "top_logprobs", 0, where=where)
    if not isinstance(top, dict) or not top:
        raise BackendError(f"{where}: choices[0].logprobs.top_logprobs[0] is empty")
    return [(str(text), _logprob(lp, where)) for text, lp in top.items()]


def top_entries_chat(data: dict[str, Any], where: str) -> list[tuple[str, float]]:
    """``(token text, logprob)`` at the first generated position of a chat answer."""
    top = _field(data, "choices", 0, "logprobs", "content", 0, "top_logprobs", where=where)
    if not isinstance(top, list) or not top:
        raise BackendError(f"{where}: choices[0].logprobs.content[0].top_logprobs is empty")
    return [
        (str(_field(e, "token", where=where)), _logprob(_field(e, "logprob", where=where), where))
        for e in top
    ]


def logsumexp(values: Sequence[float]) -> float:
    """log sum_i exp(v_i), computed stably."""
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass(frozen=True)
class OptionReading:
    """What a top-K list says about a set of options.

    ``listed[i]`` is the option's log-prob when its text is listed; ``prefixed`` are the
    options not listed that a listed token starts (possibly multi-token); ``absent`` are
    the others, bounded by :func:`fallback_logprob`.
    """

    listed: dict[int, float]
    prefixed: tuple[int, ...]
    absent: tuple[int, ...]


def read_options(entries: Sequence[tuple[str, float]], options: Sequence[str]) -> OptionReading:
    """Match options to top-K entries by exact token text (entries with equal text summed)."""
    by_text: dict[str, list[float]] = {}
    for text, logprob in entries:
        by_text.setdefault(text, []).append(logprob)
    listed: dict[int, float] = {}
    prefixed: list[int] = []
    absent: list[int] = []
    for i, option in enumerate(options):
        if option in by_text:
            listed[i] = logsumexp(by_text[option])
        elif any(text and option.startswith(text) for text in by_text):
            prefixed.append(i)
        else:
            absent.append(i)
    return OptionReading(listed, tuple(prefixed), tuple(absent))


def fallback_logprob(entries: Sequence[tuple[str, float]], n_missing: int) -> float:
    """Bound for each of ``n_missing`` options absent from a top-K list.

    An option outside the top K has P <= p_min (the smallest listed probability), and the
    absent options together have at most the leftover mass L = 1 - sum_{j in top K} p_j.
    Each gets ``log min(max(L, 0) / n_missing, p_min)``; -inf when nothing is left over.
    """
    probs = [math.exp(lp) for _, lp in entries]
    leftover = max(1.0 - math.fsum(probs), 0.0)
    share = min(leftover / n_missing, min(probs))
    return math.log(share) if share > 0 else -math.inf


def echoed_option_logprob(
    data: dict[str, Any], prompt: str, option: str, where: str
) -> tuple[float, str, float]:
    """Sum of the option's token log-probs in an echoed ``prompt + option`` completion.

    Returns (sum, text of the option's first token, its log-prob). The option's tokens are
    those whose text offset lies in [len(prompt), len(prompt) + len(option)); they must
    start exactly at the prompt's end and spell the option, else the prompt and option
    were tokenised across their boundary and the option cannot be read.
    """
    logprobs = _field(data, "choices", 0, "logprobs", where=where)
    tokens = _field(logprobs, "tokens", where=where)
    values = _field(logprobs, "token_logprobs", where=where)
    offsets = _field(logprobs, "text_offset", where=where)
    start, end = len(prompt), len(prompt) + len(option)
    picked = [i for i, off in enumerate(offsets) if start <= off < end]
    if not picked or offsets[picked[0]] != start or "".join(tokens[i] for i in picked) != option:
        raise BackendError(
            f"{where}: cannot find option {option!r} as whole tokens after the prompt in the "
            "echoed answer (the prompt's end and the option tokenise together)"
        )
    if any(values[i] is None for i in picked):
        raise BackendError(f"{where}: the echoed answer has no log-prob for option {option!r}")
    picked_lps = [_logprob(values[i], where) for i in picked]
    return math.fsum(picked_lps), tokens[picked[0]], picked_lps[0]


# --- the backend --------------------------------------------------------------------------


class OpenAIAPIModel:
    """A model behind an OpenAI-compatible HTTP API (see the module documentation)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.settings = settings_from_spec(spec)
        self._name = spec.name
        self._provider = spec.provider
        self._transport = Transport(self.settings)
        settings = self.settings
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=spec.kind or "chat",
            file_sha256=None,
            revision=spec.options.get("revision") or None,
            backend=spec.provider,
            backend_version=f"httpx {httpx.__version__}",
            sampler_order=("server",),
            extra={
                "base_url": ",".join(redact_url(u) for u in settings.base_urls),
                "served_model": spec.name,
                "timeout_s": settings.timeout,
                "concurrency": (
                    settings.concurrency[0]
                    if len(settings.concurrency) == 1
                    else list(settings.concurrency)
                ),
                "max_retries": settings.max_retries,
                "top_logprobs": settings.top_logprobs,
                "prefill": settings.prefill,
                "echo": settings.echo,
                "extra_sampling": settings.extra_sampling,
                "logprobs": settings.logprobs,
            },
        )

    # -- request bodies --------------------------------------------------------------------

    def _messages(self, prompt: ChatPrompt) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Chat fields for ``prompt`` and the notes they call for (a dropped prefix)."""
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        if not prompt.assistant_prefix:
            return {"messages": messages}, ()
        if self.settings.prefill == "continue_final_message":
            messages.append({"role": "assistant", "content": prompt.assistant_prefix})
            fields = {
                "messages": messages,
                "continue_final_message": True,
                "add_generation_prompt": False,
            }
            return fields, ()
        note = (
            f"assistant_prefix {prompt.assistant_prefix!r} dropped: the server cannot pre-fill "
            "an assistant turn (option prefill=continue_final_message does so on vLLM)"
        )
        return {"messages": messages}, (note,)

    def _sampling(self, sampler: SamplerSettings, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "temperature": sampler.temperature,
            "top_p": sampler.top_p,
            "max_tokens": sampler.max_tokens,
            "seed": seed,
        }
        if sampler.stop:
            body["stop"] = list(sampler.stop)
        if self.settings.extra_sampling:
            body.update(
                top_k=sampler.top_k,
                min_p=sampler.min_p,
                repeat_penalty=1.0,
                return_tokens_as_token_ids=True,
            )
        elif sampler.top_k or sampler.min_p:
            raise BackendError(
                f"{self.info.model_id}: top_k/min_p cannot be sent to this server "
                "(option extra_sampling is off; the OpenAI API rejects them)"
            )
        return body

    # -- generation ------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        calls: list[tuple[str, dict[str, Any]]] = []
        notes: list[tuple[str, ...]] = []
        for request in requests:
            body: dict[str, Any] = {
                "model": self._name,
                **self._sampling(request.sampler, request.seed),
            }
            extra: tuple[str, ...] = ()
            if isinstance(request.prompt, ChatPrompt):
                fields, extra = self._messages(request.prompt)
                body.update(fields)
                if self.settings.logprobs:
                    body.update(logprobs=True, top_logprobs=1)
                calls.append(("chat/completions", body))
            else:
                body.update(prompt=request.prompt.text)
                if self.settings.logprobs:
                    body.update(logprobs=1)
                calls.append(("completions", body))
            if not self.settings.logprobs:
                extra = (*extra, LOGPROBS_OFF_NOTE)
            if request.want_entropy:
                extra = (*extra, ENTROPY_NOTE)
            notes.append(extra)
        answers = self._transport.post_many(calls)
        return [
            self._generation_result(answer, url, path, extra)
            for (url, answer), (path, _), extra in zip(answers, calls, notes)
        ]

    def _generation_result(
        self,
        data: dict[str, Any],
        url: str,
        path: str,
        notes: tuple[str, ...],
    ) -> GenerationResult:
        where = f"POST {redact_url(url)}"
        choice = _field(data, "choices", 0, where=where)
        if not isinstance(choice, dict):
            raise BackendError(f"{where}: choices[0] in the answer is not an object")
        logprobs = choice.get("logprobs")
        logprobs = logprobs if isinstance(logprobs, dict) else {}
        if path == "chat/completions":
            text = _field(choice, "message", "content", where=where) or ""
            content = logprobs.get("content") or []
            tokens = [str(_field(t, "token", where=where)) for t in content]
            values = [_field(t, "logprob", where=where) for t in content]
        else:
            text = _field(choice, "text", where=where)
            tokens = [str(t) for t in logprobs.get("tokens") or []]
            values = list(logprobs.get("token_logprobs") or [])
        if not values and text and self.settings.logprobs:
            notes = (*notes, "the server returned no token log-probs")
        ids = parse_token_ids(tokens)
        if ids is None:
            ids = ()
            notes = (*notes, IDS_NOTE)
        reason = choice.get("finish_reason")
        if reason not in ("stop", "length"):
            notes = (*notes, f"finish_reason {reason!r} reported as 'stop'")
        usage = data.get("usage")
        n_prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        return GenerationResult(
            text=str(text),
            token_ids=ids,
            token_logprobs=tuple(_logprob(v, where) for v in values if v is not None),
            finish_reason="length" if reason == "length" else "stop",
            n_prompt_tokens=n_prompt if isinstance(n_prompt, int) else 0,
            entropies=None,
            notes=notes,
        )

    # -- scoring ---------------------------------------------------------------------------

    def _top_k(self, prompt: Prompt) -> int:
        k = self.settings.top_logprobs
        if self._provider == "openai" and isinstance(prompt, TextPrompt):
            return min(k, OPENAI_COMPLETIONS_MAX_LOGPROBS)
        return k

    def _first_token_call(self, prompt: Prompt) -> tuple[str, dict[str, Any], tuple[str, ...]]:
        body: dict[str, Any] = {"model": self._name, "max_tokens": 1, "temperature": 0.0}
        k = self._top_k(prompt)
        if isinstance(prompt, ChatPrompt):
            fields, notes = self._messages(prompt)
            body.update(fields, logprobs=True, top_logprobs=k)
            return "chat/completions", body, notes
        body.update(prompt=prompt.text, logprobs=k)
        return "completions", body, ()

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        calls = [self._first_token_call(r.prompt) for r in requests]
        answers = self._transport.post_many([(path, body) for path, body, _ in calls])
        readings: list[tuple[list[tuple[str, float]], OptionReading]] = []
        echo_calls: list[tuple[int, int]] = []  # (request index, option index)
        for i, (request, (url, answer), (path, _, _)) in enumerate(zip(requests, answers, calls)):
            where = f"POST {redact_url(url)}"
            if path == "chat/completions":
                entries = top_entries_chat(answer, where)
            else:
                entries = top_entries_completion(answer, where)
            reading = read_options(entries, request.options)
            if reading.prefixed and not (path == "completions" and self.settings.echo):
                option = request.options[reading.prefixed[0]]
                how = "the chat endpoint has no echo" if path != "completions" else "echo is off"
                raise BackendError(
                    f"{where}: option {option!r} is not one listed token but a listed token "
                    f"starts it, so it may span several tokens; {how}, so it cannot be scored "
                    "(use single-token options or a text prompt with echo)"
                )
            readings.append((entries, reading))
            echo_calls.extend((i, j) for j in reading.prefixed)
        echoed = self._echo_scores(requests, readings, echo_calls)
        return [
            self._choice_result(request, entries, reading, echoed, i, notes)
            for i, (request, (entries, reading), (_, _, notes)) in enumerate(
                zip(requests, readings, calls)
            )
        ]

    def _echo_scores(
        self,
        requests: list[ChoiceRequest],
        readings: list[tuple[list[tuple[str, float]], OptionReading]],
        targets: list[tuple[int, int]],
    ) -> dict[tuple[int, int], float]:
        """Exact log-probs of possibly multi-token options, from echoed prompt log-probs."""
        calls = []
        for i, j in targets:
            prompt = requests[i].prompt
            assert isinstance(prompt, TextPrompt)
            body = {
                "model": self._name,
                "prompt": prompt.text + requests[i].options[j],
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": 1,
                "echo": True,
            }
            calls.append(("completions", body))
        answers = self._transport.post_many(calls)
        scores: dict[tuple[int, int], float] = {}
        for (i, j), (url, answer) in zip(targets, answers):
            where = f"POST {redact_url(url)}"
            prompt = requests[i].prompt
            assert isinstance(prompt, TextPrompt)
            option = requests[i].options[j]
            total, first, first_lp = echoed_option_logprob(answer, prompt.text, option, where)
            entries = readings[i][0]
            listed = dict(entries)
            floor = min(lp for _, lp in entries)
            if first in listed:
                wrong = abs(first_lp - listed[first]) > ECHO_TOLERANCE
            else:
                wrong = first_lp > floor + ECHO_TOLERANCE
            if wrong:
                raise BackendError(
                    f"{where}: the echoed log-prob of {first!r} ({first_lp:.3f}) disagrees with "
                    f"the top_logprobs answer ({listed.get(first, floor):.3f}), so this server "
                    f"cannot score multi-token option {option!r} (llama-cpp-python shifts echoed "
                    "log-probs for models without a BOS token); use single-token options"
                )
            scores[(i, j)] = total
        return scores

    def _choice_result(
        self,
        request: ChoiceRequest,
        entries: list[tuple[str, float]],
        reading: OptionReading,
        echoed: dict[tuple[int, int], float],
        index: int,
        notes: tuple[str, ...],
    ) -> ChoiceResult:
        logprobs = [0.0] * len(request.options)
        for j, value in reading.listed.items():
            logprobs[j] = value
        for j in reading.prefixed:
            logprobs[j] = echoed[(index, j)]
        if reading.absent:
            bound = fallback_logprob(entries, len(reading.absent))
            for j in reading.absent:
                logprobs[j] = bound
            names = ", ".join(repr(request.options[j]) for j in reading.absent)
            notes = (
                *notes,
                f"{len(reading.absent)} of {len(request.options)} options not in the server's "
                f"top-{len(entries)} list ({names}): each given min(leftover mass / "
                f"{len(reading.absent)}, smallest listed probability)",
            )
        if reading.prefixed:
            notes = (*notes, f"{len(reading.prefixed)} options scored from echoed prompt log-probs")
        mass = math.fsum(math.exp(lp) for lp in logprobs)
        return ChoiceResult(tuple(logprobs), mass, n_fallback=len(reading.absent), notes=notes)

    def endpoint_status(self) -> list[dict[str, object]]:
        """Per server of the list: URL, limit, requests sent and failed, whether down."""
        return self._transport.status()

    def close(self) -> None:
        self._transport.close()
