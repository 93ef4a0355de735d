"""Where the transformers backend runs: the ``device``, ``device_map`` and ``dtype`` options.

* ``device``: ``auto`` (default: CUDA if torch sees a CUDA device, then Apple's MPS, then
  the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``;
* ``device_map``: ``auto`` spreads a model larger than one card over all visible GPUs
  (accelerate's ``device_map="auto"``); it replaces ``device``;
* ``dtype``: ``auto`` (default: ``bfloat16`` on a GPU, ``float32`` on the CPU),
  ``float32`` or ``bfloat16``.

The dtype is resolved when the model id is resolved (:func:`resolved_dtype`), because it
is part of the cache key: weights cast to bfloat16 give other numbers than float32 ones.
The device is not in the key (a float32 model gives the same numbers on any device, to
rounding) but is recorded with every result.
"""

from __future__ import annotations

import re
from typing import Any

from personascope.errors import ModelLoadError

DTYPE_NAMES = ("float32", "bfloat16")
GPU_RUNNER_BATCH = 512
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _torch_sees(kind: str) -> bool:
    """Whether torch is installed and sees a device of ``kind`` (``cuda`` or ``mps``)."""
    try:
        import torch
    except ImportError:
        return False
    if kind == "cuda":
        return torch.cuda.is_available()
    return torch.backends.mps.is_available()


def device_option(options: dict[str, Any], model_id: str) -> str:
    """The ``device`` option, checked for its form (not yet for availability)."""
    device = str(options.get("device") or "auto").strip().lower()
    if not _DEVICE.fullmatch(device):
        raise ModelLoadError(
            f"{model_id}: device {device!r} is not one of auto, cpu, cuda, cuda:N, mps"
        )
    return device


def device_map_option(options: dict[str, Any], model_id: str) -> str | None:
    """The ``device_map`` option: None or ``"auto"``."""
    value = options.get("device_map")
    if value in (None, ""):
        return None
    if str(value).strip().lower() != "auto":
        raise ModelLoadError(f"{model_id}: device_map {value!r} is not supported (use auto)")
    return "auto"


def auto_device() -> str:
    """CUDA if available, then MPS, then the CPU."""
    if _torch_sees("cuda"):
        return "cuda"
    if _torch_sees("mps"):
        return "mps"
    return "cpu"


def on_gpu(options: dict[str, Any], model_id: str) -> bool:
    """Whether the model will run on a GPU (``device_map`` where torch sees CUDA, or a
    ``device`` that is or resolves to CUDA or MPS)."""
    if device_map_option(options, model_id):
        return _torch_sees("cuda")
    device = device_option(options, model_id)
    return (auto_device() if device == "auto" else device) != "cpu"


def resolved_dtype(options: dict[str, Any], model_id: str) -> str:
    """The dtype name the model will be loaded in: ``auto`` becomes bfloat16 on a GPU,
    float32 on the CPU."""
    dtype = str(options.get("dtype") or "auto").strip().lower()
    if dtype != "auto":
        if dtype not in DTYPE_NAMES:
            raise ModelLoadError(
                f"{model_id}: dtype {dtype!r} is not one of auto, {', '.join(DTYPE_NAMES)}"
            )
        return dtype
    return "bfloat16" if on_gpu(options, model_id) else "float32"


def resolved_options(options: dict[str, Any], model_id: str) -> dict[str, Any]:
    """``options`` with the dtype resolved and, on a GPU, the runner's ``batch_size``
    (requests per runner batch) raised to :data:`GPU_RUNNER_BATCH` unless given: at
    thousands of prompts/s, storing each batch costs more than scoring 32 requests."""
    resolved = {**options, "dtype": resolved_dtype(options, model_id)}
    if on_gpu(options, model_id):
        resolved.setdefault("batch_size", GPU_RUNNER_BATCH)
    return resolved


def load_device(options: dict[str, Any], model_id: str) -> str:
    """The device to load on (``device_map`` aside), refused when torch does not see it."""
    device = device_option(options, model_id)
    if device == "auto":
        return auto_device()
    kind = device.partition(":")[0]
    if kind != "cpu" and not _torch_sees(kind):
        raise ModelLoadError(f"{model_id}: device {device!r} requested, but torch sees no {kind}")
    if kind == "cuda" and ":" in device:
        import torch

        index, count = int(device.partition(":")[2]), torch.cuda.device_count()
        if index >= count:
            raise ModelLoadError(
                f"{model_id}: device {device!r} requested, but torch sees {count} CUDA device(s)"
            )
    return device
