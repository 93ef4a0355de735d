"""Write a peft LoRA adapter as a GGUF LoRA file, so llama.cpp can run the tuned model.

A LoRA adapter (Hu et al. 2022, "LoRA: Low-Rank Adaptation of Large Language Models")
replaces a linear weight W (out x in) by

    W' = W + s * B A,    A: r x in,  B: out x r,  s = lora_alpha / r

(peft's scaling; ``lora_alpha / sqrt(r)`` with rsLoRA). llama.cpp applies an adapter at
run time as W x + s B (A x), with the base weights still quantized, and computes
s = ``adapter.lora.alpha`` / r from the file; for rsLoRA the file's alpha is
``lora_alpha * sqrt(r)`` so that the same s results. A zero adapter (B = 0, the state
before training) adds exactly zero: step 0 is the base model, bit for bit.

The file holds ``general.architecture`` (that of the base GGUF), ``general.type = adapter``,
``adapter.type = lora``, ``adapter.lora.alpha`` and, for every adapted weight
``blk.<i>.<tensor>.weight``, the tensors ``<name>.lora_a`` (A, r x in) and ``<name>.lora_b``
(B, out x r) in float32: the layout of llama.cpp's ``convert_lora_to_gguf.py``. Adapter
tensors are named as peft saves them for Llama-style decoders
(``...layers.<i>.self_attn.q_proj.lora_A.weight``); :data:`GGUF_NAMES` maps the module to
its GGUF tensor.
"""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from personascope.errors import ModelLoadError

# transformers module name -> GGUF tensor name (llama.cpp's naming for decoder blocks)
GGUF_NAMES = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_KEY = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$")


def llamacpp_alpha(config: dict) -> float:
    """The alpha that gives llama.cpp (s = alpha / r) peft's scaling: lora_alpha, or
    lora_alpha * sqrt(r) for rsLoRA (s = lora_alpha / sqrt(r), Kalajdzievski 2023)."""
    alpha, r = float(config["lora_alpha"]), float(config["r"])
    return alpha * math.sqrt(r) if config.get("use_rslora") else alpha


def lora_tensors(adapter_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The adapter's config and ``{GGUF adapter tensor name: float32 array}``."""
    from safetensors.numpy import load_file

    where = adapter_dir / ADAPTER_CONFIG
    try:
        config = json.loads(where.read_text(encoding="utf-8"))
        weights = load_file(str(adapter_dir / ADAPTER_WEIGHTS))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the LoRA adapter in {adapter_dir}: {exc}") from exc
    if config.get("peft_type") != "LORA":
        raise ModelLoadError(f"{where}: peft_type {config.get('peft_type')!r} is not LORA")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ModelLoadError(f"{where}: per-module ranks or alphas are not supported")
    tensors: dict[str, np.ndarray] = {}
    for key, value in weights.items():
        match = _KEY.search(key)
        if match is None or match.group(2) not in GGUF_NAMES:
            raise ModelLoadError(f"{adapter_dir}: adapter tensor {key!r} has no GGUF counterpart")
        layer, module, which = match.groups()
        name = f"blk.{layer}.{GGUF_NAMES[module]}.weight.lora_{which.lower()}"
        tensors[name] = np.ascontiguousarray(value, dtype=np.float32)
    for name in tensors:
        other = name[:-1] + ("b" if name.endswith("a") else "a")
        if other not in tensors:
            raise ModelLoadError(f"{adapter_dir}: {name} has no matching {other}")
    return config, tensors


def write_lora_gguf(
    adapter_dir: Path, architecture: str, target: Path, metadata: dict[str, str]
) -> None:
    """Write the adapter in ``adapter_dir`` as a GGUF LoRA file for ``architecture``, with
    extra string ``metadata`` keys (e.g. the adapter's hash)."""
    import gguf

    config, tensors = lora_tensors(adapter_dir)
    writer = gguf.GGUFWriter(str(target), arch=architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", llamacpp_alpha(config))
    for key, value in metadata.items():
        writer.add_string(key, value)
    for name in sorted(tensors):
        writer.add_tensor(name, tensors[name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# -- reading the architecture of a GGUF file without parsing its vocabulary ---------------

_STRING, _ARRAY = 8, 9
_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _u32(handle: BinaryIO) -> int:
    return struct.unpack("<I", handle.read(4))[0]


def _u64(handle: BinaryIO) -> int:
    return struct.unpack("<Q", handle.read(8))[0]


def _skip(handle: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        handle.seek(_u64(handle), 1)
    elif kind == _ARRAY:
        item, count = _u32(handle), _u64(handle)
        if item in (_STRING, _ARRAY):
            for _ in range(count):
                _skip(handle, item)
        else:
            handle.seek(count * _SIZES[item], 1)
    else:
        handle.seek(_SIZES[kind], 1)


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file (v2+), read from its header only.

    (``gguf.GGUFReader`` builds Python objects for every vocabulary entry, which takes
    tens of seconds for a 262k-token vocabulary.)
    """
    try:
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF" or _u32(handle) < 2:
                raise ModelLoadError(f"{path} is not a GGUF file of version 2 or later")
            _u64(handle)  # tensor count
            for _ in range(_u64(handle)):
                key = handle.read(_u64(handle)).decode("utf-8")
                kind = _u32(handle)
                if key == "general.architecture" and kind == _STRING:
                    return handle.read(_u64(handle)).decode("utf-8")
                _skip(handle, kind)
    except (OSError, struct.error, KeyError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read the header of {path}: {exc}") from exc
    raise ModelLoadError(f"{path} has no general.architecture")
