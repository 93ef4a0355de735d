"""Several replicas of one served model: load balancing, health, failover.

An :class:`EndpointPool` hands each request of the HTTP backend an endpoint to try:

* **Limits.** Endpoint *i* never has more than ``limit[i]`` requests in flight.
* **Least outstanding requests.** Among the endpoints that can take a request, the one
  with the smallest share of its limit in flight gets it (ties: the one that has been sent
  the fewest requests), so a slow replica gets fewer requests and equal ones take turns.
* **Failover.** A transient failure (refused connection, timeout, 5xx, 429) marks the
  endpoint *down*: ``retry_at`` is set to now plus the caller's backoff delay (or the
  server's ``Retry-After``) and the request is retried elsewhere at once; a request is
  steered away from the endpoint it last failed on while another can take it.
* **Probes.** While some endpoint is up, a down endpoint gets no requests until
  ``retry_at`` and then one at a time: the first success marks it up again (full limit),
  a failure pushes ``retry_at`` further out. When every endpoint is down, each takes
  requests again as soon as its ``retry_at`` has passed, so the callers' retries (bounded
  by their attempt counts) end the run promptly with an error instead of queueing for
  one probe after another.

With a single endpoint this is plain retry-with-backoff: after a failure the endpoint
rests for the backoff delay, then takes requests again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

POLL_S = 0.25  # longest wait before a waiting request checks whether it was cancelled


@dataclass
class Endpoint:
    """One server and what the pool knows of it."""

    url: str
    limit: int
    outstanding: int = 0
    fails: int = 0  # consecutive transient failures; > 0 means down
    retry_at: float = 0.0  # monotonic time before which it takes no request
    sent: int = 0
    failed: int = 0
    answered: int = 0
    last_failure: str = ""

    @property
    def down(self) -> bool:
        return self.fails > 0


class EndpointPool:
    """Hands out endpoints to concurrent requests (thread-safe); see the module docs."""

    def __init__(
        self,
        urls: Sequence[str],
        limits: Sequence[int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls or len(urls) != len(limits) or min(limits) < 1:
            raise ValueError("need one limit >= 1 per URL")
        self.endpoints = [Endpoint(url, limit) for url, limit in zip(urls, limits)]
        self._clock = clock
        self._cond = threading.Condition()

    def _can_take(self, endpoint: Endpoint, now: float, some_up: bool) -> bool:
        if endpoint.retry_at > now:
            return False
        if endpoint.down and some_up:
            return endpoint.outstanding == 0  # a probe, one at a time
        return endpoint.outstanding < endpoint.limit

    def pick(self, avoid: Endpoint | None = None) -> Endpoint | None:
        """Reserve a slot on the best endpoint that can take a request now, or None."""
        with self._cond:
            return self._pick(self._clock(), avoid)

    def _pick(self, now: float, avoid: Endpoint | None) -> Endpoint | None:
        some_up = any(not e.down for e in self.endpoints)
        ready = [e for e in self.endpoints if self._can_take(e, now, some_up)]
        if not ready:
            return None
        preferred = [e for e in ready if e is not avoid] or ready
        best = min(preferred, key=lambda e: (e.outstanding / e.limit, e.sent))
        best.outstanding += 1
        best.sent += 1
        return best

    def acquire(self, cancelled: threading.Event, avoid: Endpoint | None = None) -> Endpoint:
        """Wait for a slot (see :meth:`pick`); raises ``InterruptedError`` once cancelled."""
        with self._cond:
            while True:
                if cancelled.is_set():
                    raise InterruptedError
                now = self._clock()
                chosen = self._pick(now, avoid)
                if chosen is not None:
                    return chosen
                due = [e.retry_at - now for e in self.endpoints if e.retry_at > now]
                self._cond.wait(timeout=min([POLL_S, *due]))

    def succeeded(self, endpoint: Endpoint) -> None:
        """Release a slot after an answer: the endpoint is up."""
        with self._cond:
            endpoint.outstanding -= 1
            if endpoint.down:
                log.info("endpoint %s is up again", endpoint.url)
            endpoint.fails = 0
            endpoint.answered += 1
            self._cond.notify_all()

    def released(self, endpoint: Endpoint) -> None:
        """Release a slot after an answer that says nothing of the endpoint's health."""
        with self._cond:
            endpoint.outstanding -= 1
            self._cond.notify_all()

    def failed(self, endpoint: Endpoint, failure: str, rest_s: float) -> None:
        """Release a slot after a transient failure: the endpoint is down for ``rest_s``."""
        with self._cond:
            endpoint.outstanding -= 1
            if not endpoint.down:
                log.info("endpoint %s is down: %s", endpoint.url, failure)
            endpoint.fails += 1
            endpoint.failed += 1
            endpoint.last_failure = failure
            endpoint.retry_at = max(endpoint.retry_at, self._clock() + rest_s)
            self._cond.notify_all()

    def all_down(self) -> bool:
        with self._cond:
            return all(e.down for e in self.endpoints)

    def status(self) -> list[dict[str, object]]:
        """Per endpoint: URL, limit, requests sent and failed, whether it is down now."""
        with self._cond:
            return [
                {"url": e.url, "limit": e.limit, "sent": e.sent, "failed": e.failed, "down": e.down}
                for e in self.endpoints
            ]
