"""The one place that talks to models: cache lookup, batching, progress, resume.

``Runner.generate(spec, requests)`` and ``Runner.score(spec, requests)`` return one typed
result per request, in order; a request of the other kind is a ``TypeError``, and a
backend that answers a batch with the wrong number or kind of results is an error, never
a silent drop. Requests whose content hash is already in the store are not executed
again; the others are grouped in batches (shared prompt prefixes adjacent, so backends
can reuse their KV cache), handed to an :class:`Executor`, and each finished batch is
committed to the store at once. A run that is killed loses at most the batch in flight;
running the same plan again executes only what is missing.

Executors decide *where* batches run (in this process today; a distributed executor can
be added without touching studies); the runner alone writes to the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol, TypeVar

from personascope.errors import BackendError
from personascope.models.base import (
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    LanguageModel,
    ModelInfo,
    Request,
    Result,
    canonical_json,
    prompt_to_dict,
    request_hash,
    request_to_dict,
    result_from_dict,
    result_to_dict,
)
from personascope.models.catalog import ModelSpec
from personascope.models.providers import load_model
from personascope.progress import track
from personascope.store import ResultRow, Store

DEFAULT_BATCH_SIZE = {"generate": 8, "choice": 32}

RequestT = TypeVar("RequestT", GenerationRequest, ChoiceRequest)
ResultT = TypeVar("ResultT", GenerationResult, ChoiceResult)


@dataclass(frozen=True)
class Batch:
    hashes: tuple[str, ...]
    requests: tuple[Request, ...]

    @property
    def kind(self) -> str:
        return self.requests[0].kind


@dataclass(frozen=True)
class BatchOutcome:
    batch: Batch
    results: tuple[Result, ...]
    elapsed_s: float
    info: ModelInfo


class Executor(Protocol):
    """Runs batches of one model's requests; yields outcomes as they complete."""

    def execute(self, spec: ModelSpec, batches: Iterable[Batch]) -> Iterator[BatchOutcome]: ...

    def model_info(self, spec: ModelSpec) -> ModelInfo: ...

    def close(self) -> None: ...


def run_batch(model: LanguageModel, batch: Batch) -> tuple[Result, ...]:
    """Execute one homogeneous batch on a loaded model."""
    if batch.kind == "generate":
        generations = [r for r in batch.requests if isinstance(r, GenerationRequest)]
        return tuple(model.generate(generations))
    choices = [r for r in batch.requests if isinstance(r, ChoiceRequest)]
    return tuple(model.score_choices(choices))


class InProcessExecutor:
    """Loads each model once, in this process, and runs batches one after another."""

    def __init__(self) -> None:
        self._models: dict[str, LanguageModel] = {}

    def model(self, spec: ModelSpec) -> LanguageModel:
        if spec.key not in self._models:
            self._models[spec.key] = load_model(spec)
        return self._models[spec.key]

    def model_info(self, spec: ModelSpec) -> ModelInfo:
        return self.model(spec).info

    def execute(self, spec: ModelSpec, batches: Iterable[Batch]) -> Iterator[BatchOutcome]:
        for batch in batches:
            model = self.model(spec)
            started = time.perf_counter()
            results = run_batch(model, batch)
            yield BatchOutcome(batch, results, time.perf_counter() - started, model.info)

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self._models.clear()


def plan_batches(
    pending: dict[str, Request], batch_size: dict[str, int] | None = None
) -> list[Batch]:
    """Group pending requests by kind, prompts in sorted order, into batches."""
    sizes = {**DEFAULT_BATCH_SIZE, **(batch_size or {})}
    by_kind: dict[str, list[tuple[str, str, Request]]] = {}
    for h, request in pending.items():
        sort_key = canonical_json(prompt_to_dict(request.prompt))
        by_kind.setdefault(request.kind, []).append((sort_key, h, request))
    batches: list[Batch] = []
    for kind in sorted(by_kind):
        items = sorted(by_kind[kind], key=lambda item: (item[0], item[1]))
        size = sizes[kind]
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            batches.append(Batch(tuple(c[1] for c in chunk), tuple(c[2] for c in chunk)))
    return batches


class Runner:
    """Executes request plans against models, with the store as cache and record."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        executor: Executor | None = None,
        batch_size: dict[str, int] | None = None,
        progress: bool = True,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.executor: Executor = executor or InProcessExecutor()
        self.batch_size = batch_size
        self.progress = progress
        self.executed = 0  # requests executed by models in this runner's lifetime
        self.cached = 0  # requests answered from the store

    def model_info(self, spec: ModelSpec) -> ModelInfo:
        """What the model says about itself (loads it; stored for the report)."""
        info = self.executor.model_info(spec)
        self.store.put_model(spec.key, spec.model_id, asdict(info))
        return info

    def generate(
        self, spec: ModelSpec, requests: Sequence[GenerationRequest], label: str = ""
    ) -> list[GenerationResult]:
        """One generation per request, in request order (cached ones from the store)."""
        return self._results(spec, requests, GenerationRequest, GenerationResult, label)

    def score(
        self, spec: ModelSpec, requests: Sequence[ChoiceRequest], label: str = ""
    ) -> list[ChoiceResult]:
        """One option distribution per request, in request order (cached ones from the store)."""
        return self._results(spec, requests, ChoiceRequest, ChoiceResult, label)

    def _results(
        self,
        spec: ModelSpec,
        requests: Sequence[RequestT],
        request_type: type[RequestT],
        result_type: type[ResultT],
        label: str,
    ) -> list[ResultT]:
        """Run what the store lacks, then read every request's result back, checked."""
        for request in requests:
            if not isinstance(request, request_type):
                raise TypeError(
                    f"expected {request_type.__name__} requests, got {type(request).__name__}"
                )
        hashes = [request_hash(r, spec.key) for r in requests]
        unique: dict[str, Request] = dict(zip(hashes, requests))
        known = self.store.known_hashes(list(unique))
        pending = {h: r for h, r in unique.items() if h not in known}
        self.cached += len(unique) - len(pending)
        if pending:
            self._execute(spec, pending, len(unique), len(known), label or spec.model_id)
        stored = self.store.get_results(list(unique))
        results: list[ResultT] = []
        for h in hashes:
            if h not in stored:
                raise BackendError(f"{spec.model_id}: no result was stored for request {h}")
            result = result_from_dict(stored[h].result)
            if not isinstance(result, result_type):
                raise BackendError(
                    f"{spec.model_id}: a {result.kind} result is stored for "
                    f"{request_type.kind} request {h}"
                )
            results.append(result)
        return results

    def _execute(
        self, spec: ModelSpec, pending: dict[str, Request], total: int, done: int, label: str
    ) -> None:
        # the model's ``batch_size`` option (requests per batch), then the runner's own
        own = spec.options.get("batch_size")
        sizes = dict.fromkeys(DEFAULT_BATCH_SIZE, int(own)) if own else {}
        batches = plan_batches(pending, {**sizes, **(self.batch_size or {})})
        with track(label, total, done, self.progress) as progress:
            info_stored = False
            for outcome in self.executor.execute(spec, batches):
                if not info_stored:
                    self.store.put_model(spec.key, spec.model_id, asdict(outcome.info))
                    info_stored = True
                _check_outcome(spec, outcome)
                per_request = outcome.elapsed_s / len(outcome.batch.hashes)
                self.store.put_results(
                    ResultRow(
                        request_hash=h,
                        kind=request.kind,
                        model_key=spec.key,
                        request=request_to_dict(request),
                        result=result_to_dict(result),
                        run_id=self.run_id,
                        elapsed_s=per_request,
                    )
                    for h, request, result in zip(
                        outcome.batch.hashes, outcome.batch.requests, outcome.results, strict=True
                    )
                )
                self.executed += len(outcome.batch.hashes)
                progress.advance(len(outcome.batch.hashes))


def _check_outcome(spec: ModelSpec, outcome: BatchOutcome) -> None:
    """A batch must answer each of its requests with a result of the request's kind."""
    batch = outcome.batch
    if len(outcome.results) != len(batch.requests):
        raise BackendError(
            f"{spec.model_id} returned {len(outcome.results)} results for a batch of "
            f"{len(batch.requests)} {batch.kind} requests"
        )
    kinds = {result.kind for result in outcome.results}
    if kinds != {batch.kind}:
        raise BackendError(
            f"{spec.model_id} returned {', '.join(sorted(kinds))} results for a batch of "
            f"{batch.kind} requests"
        )
