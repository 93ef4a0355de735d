"""Run the runner's batches on Ray actors, each holding one backend instance.

``RayExecutor`` implements :class:`personascope.runner.Executor`. The runner plans the
batches and stores every outcome; this executor only decides where batches run:

* **Cluster.** With no address it starts a private local Ray cluster
  (``ray.init(address="local")``, no dashboard) and shuts it down at :meth:`close`. With an
  address it joins an existing cluster: ``host:port`` (the head's GCS port, from a machine
  of the cluster), ``ray://host:10001`` (Ray Client, from outside) or ``auto`` (the cluster
  ``ray start`` runs on this machine). A ``host:port`` that does not accept TCP connections
  is an error at once; Ray itself would wait for minutes. If Ray is already initialised in
  this process (a script called ``ray.init``), that connection is used and left open.
* **Workers.** One actor per worker (default: as many as the cluster's CPUs allow, or its
  GPUs for ``vllm/`` models, one GPU per tensor-parallel rank). An actor receives the
  :class:`ModelSpec`, loads the model itself and keeps it; a llama.cpp worker gets as many
  threads as CPUs it holds (``cpus_per_worker``, default 1), so two workers on two cores do
  not oversubscribe them. Workers serve one model at a time: a different model replaces
  the pool (big models do not fit twice).
* **Dispatch.** Each free worker takes the next batch; results come back to the driver as
  batches finish (the runner stores them, one writer, and advances its progress bar, which
  so counts the work of every worker).
* **Lost workers.** A worker that dies (killed, out of memory, node lost) produced no
  result, so nothing of its batch was stored: the batch goes back to the front of the
  queue and runs on another worker, and a replacement worker is started (up to
  ``max_restarts`` in all). A batch that has lost ``max_attempts`` workers stops the run
  with an :class:`ExecutorError` (a batch that crashes every worker would otherwise loop).
  An error *raised* by a backend (a prompt too long, a server that refuses) is not a lost
  worker: it is raised in the driver as the backend raised it, as in process.

Results are identical to the in-process executor's: a result is a pure function of the
model file and the request (see the llama.cpp backend), whatever worker runs it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from personascope.errors import ExecutorError
from personascope.executors.worker import BatchWorker, with_threads
from personascope.models.base import ModelInfo
from personascope.models.catalog import ModelSpec
from personascope.runner import Batch, BatchOutcome

log = logging.getLogger(__name__)

RAY_HINT = "pip install 'personascope[ray]' (or: pip install 'ray[client]==2.60.0')"
DEFAULT_PORTS = {"ray": 10001, "": 6379}  # Ray Client port, GCS port


def import_ray() -> Any:
    """The ``ray`` module, or a one-line install hint."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(f"--executor ray needs Ray ({exc}): {RAY_HINT}") from exc
    return ray


def parse_address(address: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a Ray address; None for ``auto`` and ``local``.

    ``host:port`` (scheme ``""``) is a GCS address, ``ray://host[:port]`` a Ray Client
    address (default port 10001); a bare host gets the scheme's default port.
    """
    text = address.strip()
    if text in ("auto", "local"):
        return None
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    if scheme not in DEFAULT_PORTS:
        raise ExecutorError(
            f"Ray address {address!r}: unknown scheme {scheme!r} (use host:port, "
            "ray://host:10001 or auto)"
        )
    hostport = rest.split("/", 1)[0]
    host, colon, port = hostport.rpartition(":")
    if not colon:
        host, port = hostport, str(DEFAULT_PORTS[scheme])
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorError(
            f"Ray address {address!r} is not host:port, ray://host:port or auto "
            "(e.g. 10.0.0.5:6379 or ray://10.0.0.5:10001)"
        )
    return scheme, host, int(port)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, in one line, when nothing accepts connections at a Ray address."""
    parsed = parse_address(address)
    if parsed is None:
        return
    _, host, port = parsed
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address!r} ({host}:{port}: {reason}); "
            "start it with `ray start --head` or check --ray-address"
        ) from None


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


@dataclass
class _Worker:
    handle: Any
    number: int
    host: str = ""
    pid: int | None = None

    def __str__(self) -> str:
        if self.pid is None:
            return f"worker {self.number} (starting)"
        return f"worker {self.number} (pid {self.pid} on {self.host})"


class RayExecutor:
    """Batches on Ray actors; see the module documentation."""

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_worker: float = 1.0,
        max_attempts: int = 3,
        max_restarts: int | None = None,
        start_timeout: float = 600.0,
    ) -> None:
        if workers is not None and workers < 1:
            raise ExecutorError(f"Ray workers must be >= 1, got {workers}")
        if cpus_per_worker <= 0:
            raise ExecutorError(f"cpus_per_worker must be > 0, got {cpus_per_worker}")
        self._ray = ray = import_ray()
        self.requested_workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.max_attempts = max_attempts
        self.max_restarts = max_restarts
        self.start_timeout = start_timeout
        self.owns_cluster = not ray.is_initialized()
        if self.owns_cluster:
            self._connect(address)
        self._actor_class = ray.remote(BatchWorker)
        self._spec: ModelSpec | None = None
        self._ready: deque[_Worker] = deque()
        self._starting: dict[Any, _Worker] = {}
        self._alive: dict[int, _Worker] = {}
        self._infos: dict[str, ModelInfo] = {}
        self._started = 0
        self.stats = {"batches": 0, "retried": 0, "workers_lost": 0, "workers_started": 0}

    # -- connection ------------------------------------------------------------------------

    def _connect(self, address: str | None) -> None:
        ray = self._ray
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        }
        if address is None:
            needed = (self.requested_workers or 1) * self.cpus_per_worker
            options.update(address="local", num_cpus=max(os.cpu_count() or 1, math.ceil(needed)))
        else:
            check_reachable(address)
            options["address"] = address
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError, OSError) as exc:
            where = "start a local Ray cluster" if address is None else f"join {address!r}"
            raise ExecutorError(
                f"cannot {where}: {type(exc).__name__}: {first_line(str(exc))}"
            ) from None

    # -- the worker pool -------------------------------------------------------------------

    def _resources(self, spec: ModelSpec) -> tuple[float, float]:
        """(CPUs, GPUs) one worker of ``spec`` asks for."""
        gpus = float(spec.options.get("tensor_parallel_size", 1)) if spec.provider == "vllm" else 0
        return self.cpus_per_worker, gpus

    def _n_workers(self, spec: ModelSpec) -> int:
        """``--ray-workers``, else as many workers as the cluster's resources hold."""
        cpus, gpus = self._resources(spec)
        total = self._ray.cluster_resources()
        fits = int(total.get("GPU", 0) // gpus) if gpus else int(total.get("CPU", 0) // cpus)
        if fits < 1:
            unit, need = ("GPU", gpus) if gpus else ("CPU", cpus)
            raise ExecutorError(
                f"the Ray cluster has {total.get(unit, 0):g} {unit}; one worker for "
                f"{spec.model_id} needs {need:g} {unit}"
            )
        return self.requested_workers or fits

    def _start_worker(self, spec: ModelSpec) -> None:
        cpus, gpus = self._resources(spec)
        threads = max(1, int(cpus))
        handle = self._actor_class.options(num_cpus=cpus, num_gpus=gpus, max_restarts=0).remote(
            with_threads(spec, threads)
        )
        self._started += 1
        self.stats["workers_started"] += 1
        worker = _Worker(handle, self._started)
        self._alive[worker.number] = worker
        self._starting[handle.load.remote()] = worker

    def _pool(self, spec: ModelSpec) -> None:
        """Make the pool serve ``spec``: start its workers, replacing another model's."""
        if self._spec is not None and self._spec.key == spec.key:
            return
        self._discard_pool()
        n_workers = self._n_workers(spec)
        self._spec = spec
        for _ in range(n_workers):
            self._start_worker(spec)

    def _discard_pool(self) -> None:
        for worker in self._alive.values():
            self._ray.kill(worker.handle, no_restart=True)
        self._alive.clear()
        self._ready.clear()
        self._starting.clear()
        self._spec = None

    def _restart_allowed(self, spec: ModelSpec) -> bool:
        limit = self.max_restarts
        if limit is None:
            limit = 2 * self._n_workers(spec)
        return self.stats["workers_lost"] <= limit

    def _lost(self, worker: _Worker, exc: Exception, spec: ModelSpec) -> None:
        self.stats["workers_lost"] += 1
        self._alive.pop(worker.number, None)
        log.warning("Ray %s was lost: %s", worker, first_line(str(exc)))
        if self._restart_allowed(spec):
            self._start_worker(spec)

    def _get(self, ref: Any) -> Any:
        """``ray.get(ref)``; a backend's own error is raised as it was raised."""
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise ExecutorError(f"a Ray worker failed: {first_line(str(exc))}") from None

    def _worker_started(self, ref: Any, spec: ModelSpec) -> None:
        worker = self._starting.pop(ref)
        try:
            info, where = self._get(ref)
        except self._ray.exceptions.RayError as exc:
            self._lost(worker, exc, spec)
            return
        except BaseException:  # the model does not load: every worker would fail alike
            self._discard_pool()
            raise
        worker.host, worker.pid = where["host"], where["pid"]
        self._infos.setdefault(spec.key, info)
        self._ready.append(worker)

    def _wait(self, refs: list[Any], timeout: float | None) -> list[Any]:
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if not ready:
            cpus, gpus = self._resources(self._spec) if self._spec else (0, 0)
            raise ExecutorError(
                f"no Ray worker started within {self.start_timeout:g} s: the cluster may "
                f"lack the resources one worker asks for ({cpus:g} CPU, {gpus:g} GPU)"
            )
        return ready

    # -- the Executor protocol ---------------------------------------------------------------

    def model_info(self, spec: ModelSpec) -> ModelInfo:
        self._pool(spec)
        while spec.key not in self._infos:
            if not self._starting:
                raise ExecutorError(f"every Ray worker for {spec.model_id} was lost while loading")
            for ref in self._wait(list(self._starting), self.start_timeout):
                self._worker_started(ref, spec)
        return self._infos[spec.key]

    def execute(self, spec: ModelSpec, batches: Iterable[Batch]) -> Iterator[BatchOutcome]:
        self._pool(spec)
        queue: deque[tuple[int, Batch]] = deque(enumerate(batches))
        attempts: dict[int, int] = {}
        in_flight: dict[Any, tuple[_Worker, int, Batch]] = {}
        finished = False
        try:
            while queue or in_flight:
                while self._ready and queue:
                    worker = self._ready.popleft()
                    index, batch = queue.popleft()
                    in_flight[worker.handle.run.remote(batch)] = (worker, index, batch)
                if not in_flight and not self._starting:
                    raise ExecutorError(
                        f"every Ray worker was lost; {len(queue)} batches were not run "
                        "(finished batches are stored: run again to resume)"
                    )
                timeout = None if in_flight else self.start_timeout
                for ref in self._wait([*in_flight, *self._starting], timeout):
                    if ref in self._starting:
                        self._worker_started(ref, spec)
                        continue
                    worker, index, batch = in_flight.pop(ref)
                    try:
                        results, elapsed, info = self._get(ref)
                    except self._ray.exceptions.RayError as exc:
                        attempts[index] = attempts.get(index, 0) + 1
                        if attempts[index] >= self.max_attempts:
                            raise ExecutorError(
                                f"a {batch.kind} batch of {len(batch.requests)} requests lost "
                                f"its Ray worker {attempts[index]} times (last: "
                                f"{first_line(str(exc))}); stopping"
                            ) from None
                        self.stats["retried"] += 1
                        queue.appendleft((index, batch))
                        self._lost(worker, exc, spec)
                        continue
                    self._ready.append(worker)
                    self.stats["batches"] += 1
                    yield BatchOutcome(batch, results, elapsed, info)
            finished = True
        finally:
            if not finished and in_flight:
                # abandoned (an error, an interrupt): the busy workers' queues are stale
                self._discard_pool()

    def worker_pids(self) -> list[int]:
        """Process ids of the workers that have loaded their model (for diagnostics)."""
        return [w.pid for w in list(self._alive.values()) if w.pid is not None]

    def close(self) -> None:
        if self._ray.is_initialized():
            self._discard_pool()
            if self.owns_cluster:
                self._ray.shutdown()
