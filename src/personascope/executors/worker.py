"""What runs inside a remote worker: one backend instance that executes batches.

The driver sends a :class:`~personascope.models.catalog.ModelSpec` (ids, paths, options
and the cache key: a few hundred bytes), never a loaded model. The worker loads the model
itself, once, and then runs the batches it is given. It knows nothing of the store: it
returns results to the driver, which is the only writer.

A spec resolved on the driver names files by the driver's paths. On another machine the
same model id is resolved again (embedded models are found in that machine's packages and
caches) and must give the same cache key, i.e. the same file hash; otherwise results
would be stored under a key that does not describe the weights that produced them.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from typing import Any

from personascope.errors import ModelNotFoundError
from personascope.models.base import LanguageModel, ModelInfo, Result
from personascope.models.catalog import ModelSpec
from personascope.models.providers import load_model, resolve
from personascope.runner import Batch, run_batch


def localize(spec: ModelSpec) -> ModelSpec:
    """``spec`` with its files found on this machine, checked against the driver's key."""
    if spec.path is None or spec.path.exists():
        return spec
    local = resolve(spec.model_id, **spec.options)
    if local.key != spec.key:
        raise ModelNotFoundError(
            f"{spec.model_id}: the model file on worker host {socket.gethostname()} "
            f"({local.path}) is not the driver's (key {local.key} != {spec.key})"
        )
    return local


def with_threads(spec: ModelSpec, threads: int) -> ModelSpec:
    """``spec`` asking its backend for ``threads`` CPU threads, unless it already says."""
    if "n_threads" in spec.options:
        return spec
    return replace(spec, options={**spec.options, "n_threads": threads})


class BatchWorker:
    """One backend instance for one model; the body of a Ray actor.

    ``load()`` loads the model and says where it runs; ``run(batch)`` executes one batch
    and returns ``(results, elapsed seconds, model info)``.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self._spec = spec
        self._model: LanguageModel | None = None

    def load(self) -> tuple[ModelInfo, dict[str, Any]]:
        if self._model is None:
            self._model = load_model(localize(self._spec))
        where = {"host": socket.gethostname(), "pid": os.getpid()}
        return self._model.info, where

    def run(self, batch: Batch) -> tuple[tuple[Result, ...], float, ModelInfo]:
        if self._model is None:
            self.load()
        assert self._model is not None
        started = time.perf_counter()
        results = run_batch(self._model, batch)
        return results, time.perf_counter() - started, self._model.info

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None
