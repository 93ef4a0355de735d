"""The backend of ``lab/<name>`` ids: llama.cpp on the embedded base GGUF with the
checkpoint's LoRA adapter applied (the registry is :mod:`personascope.lab.checkpoints`).

Tuned checkpoints sample about as fast as the base model, and the untrained adapter (step
0) is the base model exactly. The adapter is converted to a GGUF LoRA file
(:mod:`personascope.models.gguf_lora`) on first load, verified by a ``.sha256`` sidecar on
every load (a missing, partial or corrupt file is rebuilt).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path

from personascope.cachefiles import file_sha256
from personascope.errors import ModelLoadError
from personascope.lab.checkpoints import Checkpoint, base_gguf, lookup
from personascope.models.catalog import ModelSpec
from personascope.models.gguf_lora import gguf_architecture, write_lora_gguf
from personascope.models.llamacpp import LlamaCppModel


def lora_gguf(checkpoint: Checkpoint) -> Path:
    """The checkpoint's adapter as a GGUF LoRA file, built (or rebuilt, if damaged)."""
    path = checkpoint.lora_path
    sidecar = path.with_suffix(".gguf.sha256")
    with contextlib.suppress(OSError):
        if path.is_file() and sidecar.read_text().strip() == file_sha256(path):
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_lora_gguf(
            Path(checkpoint.adapter_dir),
            gguf_architecture(base_gguf(checkpoint)),
            tmp,
            {
                "personascope.lab.name": checkpoint.name,
                "personascope.lab.adapter_sha256": checkpoint.adapter_sha256,
            },
        )
        tmp.replace(path)
        side_tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
        side_tmp.write_text(file_sha256(path))
        side_tmp.replace(sidecar)
    except OSError as exc:
        raise ModelLoadError(f"cannot write the LoRA file {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


class LabModel(LlamaCppModel):
    """A registered lab checkpoint: llama.cpp on the base GGUF with the LoRA applied."""

    def __init__(self, spec: ModelSpec):
        checkpoint = lookup(spec.name)
        super().__init__(replace(spec, kind="base"), lora_path=lora_gguf(checkpoint))
        self.info = replace(
            self.info,
            file_sha256=checkpoint.base_sha256,
            revision=checkpoint.adapter_sha256,
            extra={
                **self.info.extra,
                "lab_checkpoint": {
                    "base": checkpoint.base,
                    "step": checkpoint.step,
                    "tag": checkpoint.tag,
                    "adapter_sha256": checkpoint.adapter_sha256,
                    "training": checkpoint.training,
                },
            },
        )
