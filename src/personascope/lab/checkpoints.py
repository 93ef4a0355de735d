"""The registry of ``lab/<name>`` checkpoints: preference-tuned adapters made by
``personascope lab`` (:mod:`personascope.lab.run`).

``personascope lab`` DPO-tunes an embedded base model with LoRA and *registers* each
checkpoint of its schedule here under a name such as ``gemma3-270m-dpo-32`` (base model,
tag, training step). The id ``lab/gemma3-270m-dpo-32`` then works wherever a model id does
(``personascope audit --model lab/gemma3-270m-dpo-32``): the ``lab`` provider resolves it
with :func:`lab_spec` and loads it with :class:`personascope.lab.backend.LabModel`.

Where things live: ``$PERSONASCOPE_LAB_HOME``, by default ``<user cache>/lab``:

* ``registry.json``: name -> checkpoint (base model and its GGUF hash, adapter folder and
  hash, training step, and how it was trained: reward, pairs, learning rate, seeds);
* ``adapters/<hash>/``: the peft LoRA adapters (a few MB each);
* ``gguf/<adapter hash>.gguf``: the adapter as a GGUF LoRA file for llama.cpp, built by
  the backend on first load.

Results are keyed ``lab/<name>@<base GGUF hash>+<adapter hash>#<evaluation scheme>``: the
same adapter gives the same cached results whatever its folder. Gemma's terms of use apply
to adapters trained from Gemma (they are derivatives of it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from personascope.errors import ModelNotFoundError
from personascope.models.catalog import (
    EMBEDDED,
    ModelSpec,
    embedded_gguf_path,
    file_sha256,
    user_cache_dir,
)
from personascope.models.eval_blocks import SCHEME as EVAL_SCHEME
from personascope.models.gguf_lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS

REGISTRY_FILE = "registry.json"


def lab_home() -> Path:
    """``$PERSONASCOPE_LAB_HOME`` or ``<user cache>/lab``."""
    root = os.environ.get("PERSONASCOPE_LAB_HOME")
    path = Path(root) if root else user_cache_dir() / "lab"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Checkpoint:
    """One registered checkpoint: an embedded base model plus a LoRA adapter."""

    name: str
    base: str
    base_sha256: str
    adapter_dir: str
    adapter_sha256: str
    step: int
    tag: str
    training: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    @property
    def model_id(self) -> str:
        return f"lab/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.model_id}@{self.base_sha256}+{self.adapter_sha256}"

    @property
    def results_key(self) -> str:
        """The key its results are cached under (llama.cpp's evaluation scheme included)."""
        return f"{self.key}#{EVAL_SCHEME}"

    @property
    def lora_path(self) -> Path:
        return lab_home() / "gguf" / f"{self.adapter_sha256[:16]}.gguf"


def adapter_sha256(adapter_dir: Path) -> str:
    """Hash of an adapter: its configuration (canonical JSON) and its weights file.

    peft writes ``target_modules`` from a set, in an order that changes with Python's hash
    seed: sorted here, so the same adapter has the same hash in every process."""
    config = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8"))
    digest.update(file_sha256(adapter_dir / ADAPTER_WEIGHTS).encode("ascii"))
    return digest.hexdigest()


# -- the registry ------------------------------------------------------------------------


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    home = lab_home()
    with (home / ".registry.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield home / REGISTRY_FILE
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"the lab registry {path} is unreadable: {exc}") from exc
    entries = data.get("checkpoints") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ModelNotFoundError(f"the lab registry {path} has no 'checkpoints' object")
    return entries


def checkpoints() -> dict[str, Checkpoint]:
    """Every registered checkpoint, by name."""
    with _locked() as path:
        entries = _read(path)
    try:
        return {name: Checkpoint(**entry) for name, entry in entries.items()}
    except TypeError as exc:
        raise ModelNotFoundError(f"the lab registry has a malformed entry: {exc}") from exc


def register(
    name: str, base: str, adapter_dir: Path, step: int, tag: str, training: dict[str, Any]
) -> Checkpoint:
    """Copy an adapter into the lab home and register it under ``name`` (replacing any
    checkpoint of that name)."""
    if base not in EMBEDDED:
        raise ModelNotFoundError(f"lab checkpoints need an embedded base model, not {base!r}")
    sha = adapter_sha256(adapter_dir)
    target = lab_home() / "adapters" / sha[:16]
    if not (target / ADAPTER_WEIGHTS).is_file():
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for item in (ADAPTER_CONFIG, ADAPTER_WEIGHTS):
            shutil.copy2(adapter_dir / item, tmp / item)
        with contextlib.suppress(OSError):  # another process registered the same adapter
            tmp.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
    checkpoint = Checkpoint(
        name=name,
        base=base,
        base_sha256=file_sha256(embedded_gguf_path(base)),
        adapter_dir=str(target),
        adapter_sha256=sha,
        step=step,
        tag=tag,
        training=training,
        created_at=time.time(),
    )
    with _locked() as path:
        entries = _read(path)
        entries[name] = asdict(checkpoint)
        tmp_file = path.with_suffix(f".{os.getpid()}.tmp")
        tmp_file.write_text(json.dumps({"checkpoints": entries}, indent=1), encoding="utf-8")
        tmp_file.replace(path)
    return checkpoint


def lookup(name: str) -> Checkpoint:
    known = checkpoints()
    if name not in known:
        listed = ", ".join(sorted(known)) or "none yet (run `personascope lab` to make some)"
        raise ModelNotFoundError(f"unknown lab model {name!r}; registered: {listed}")
    checkpoint = known[name]
    adapter = Path(checkpoint.adapter_dir)
    if not (adapter / ADAPTER_WEIGHTS).is_file() or not (adapter / ADAPTER_CONFIG).is_file():
        raise ModelNotFoundError(
            f"lab/{name}: its adapter files are missing from {adapter}; run `personascope lab` "
            "again to remake them"
        )
    return checkpoint


# -- resolving ----------------------------------------------------------------------------


def base_gguf(checkpoint: Checkpoint) -> Path:
    """The base model's GGUF file, checked against the hash the checkpoint was trained on."""
    base = embedded_gguf_path(checkpoint.base)
    if file_sha256(base) != checkpoint.base_sha256:
        raise ModelNotFoundError(
            f"{checkpoint.model_id} was trained on another version of {checkpoint.base} "
            f"(GGUF {checkpoint.base_sha256[:12]}, installed {file_sha256(base)[:12]})"
        )
    return base


def lab_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """The spec of ``lab/<name>``: the base GGUF, keyed with the adapter (nothing is
    built or loaded)."""
    checkpoint = lookup(name)
    return ModelSpec(
        model_id, "lab", name, "base", base_gguf(checkpoint), checkpoint.results_key, options
    )
