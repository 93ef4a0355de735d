"""The one-time conversion of an embedded GGUF file to a transformers folder (safetensors).

transformers reads a GGUF file in pure Python, parsing and de-quantizing every tensor
(25-100 s for the embedded models on the 2-core development machine). The first time an
embedded model is loaded with transformers (the ``hf`` backend, the collapse lab's
training) its de-quantized float32 weights, config and tokenizer are saved as a safetensors
folder in the user cache; later loads read that folder in seconds. The weights are the
same, so results stay keyed by the GGUF file's hash.

Layout: ``<user cache>/hf-converted/<name>-<GGUF sha256[:16]>/`` with the transformers
files and :data:`MANIFEST` (the GGUF hash, and the size and SHA-256 of every file),
written last. A folder is built under a temporary name and renamed into place, so a killed
conversion never leaves a folder that looks complete; a folder whose manifest is missing
or disagrees with its files is deleted and rebuilt.

``save_pretrained`` refuses a model loaded from GGUF until ``model.hf_quantizer`` is
cleared and ``config.quantization_config`` removed; both are dropped before saving (the
weights are already de-quantized).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from personascope.cachefiles import MANIFEST, file_sha256, is_complete, user_cache_dir
from personascope.errors import ModelLoadError
from personascope.models.catalog import ModelSpec

CACHE_NAME = "hf-converted"


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' warnings and progress bars (GGUF de-quantization) while loading."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def folder_for(spec: ModelSpec, root: Path | None = None) -> Path:
    """Where the converted folder of an embedded GGUF model lives (it may not exist yet)."""
    sha = gguf_sha(spec)
    return (root or user_cache_dir() / CACHE_NAME) / f"{spec.name}-{sha[:16]}"


def gguf_sha(spec: ModelSpec) -> str:
    """The GGUF file hash of an embedded model (the part of its key after ``@``)."""
    return spec.key.rpartition("@")[2].partition("#")[0]


def converted_folder(spec: ModelSpec, root: Path | None = None) -> Path:
    """The safetensors folder of an embedded GGUF model, converting it the first time."""
    assert spec.path is not None
    folder = folder_for(spec, root)
    if is_complete(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer, model = _load_gguf(spec)
    return save_converted(folder, tokenizer, model, gguf_sha(spec))


def _load_gguf(spec: ModelSpec) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert spec.path is not None
    source, name = str(spec.path.parent), spec.path.name
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(
                source, gguf_file=name, dtype=torch.float32
            )
    # Loaders of untrusted files fail in many ways; each becomes one line naming the model.
    except Exception as exc:
        raise ModelLoadError(
            f"{spec.model_id}: cannot load {spec.path} with transformers: {first_line(exc)}"
        ) from exc
    return tokenizer, model


def save_converted(folder: Path, tokenizer: Any, model: Any, sha: str) -> Path:
    """Write the folder under a temporary name, then rename it into place."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with quiet_transformers():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        files = {
            p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(tmp.iterdir())
            if p.is_file()
        }
        (tmp / MANIFEST).write_text(
            json.dumps({"gguf_sha256": sha, "files": files}, indent=1), encoding="utf-8"
        )
        try:
            tmp.rename(folder)
        except OSError:
            # another process finished the same conversion first: keep theirs if it is whole
            if not is_complete(folder):
                raise
    except OSError as exc:
        raise ModelLoadError(f"cannot write the converted model to {folder}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
