"""The retrying HTTP transport: POSTs JSON to one or more replicas of a server with
per-replica concurrency limits, least-outstanding load balancing, failover, retries with
backoff and one-line errors (:mod:`personascope.models.endpoints` decides which replica
gets each attempt)."""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from personascope.errors import BackendError
from personascope.models.endpoints import Endpoint, EndpointPool
from personascope.models.openai_api.settings import HTTPSettings, printable, redact_url

MAX_RETRY_AFTER_S = 60.0
_RETRY_STATUS = frozenset({408, 429})


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
