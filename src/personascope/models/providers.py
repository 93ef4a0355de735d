"""Load a backend for a resolved model id, importing its (possibly heavy) module lazily.

Each provider lives in its own module; only the one a model id names is imported, so a
missing optional dependency (transformers, vllm, ray ...) costs nothing until it is used,
and then gives a one-line install hint.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from personascope.errors import ModelNotFoundError
from personascope.models.base import LanguageModel
from personascope.models.catalog import ModelSpec


@dataclass(frozen=True)
class Provider:
    module: str
    factory: str
    requirement: str


PROVIDERS: dict[str, Provider] = {
    "llamacpp": Provider("personascope.models.llamacpp", "LlamaCppModel", "llama-cpp-python"),
    "hf": Provider("personascope.models.hf", "HFModel", "transformers gguf accelerate"),
    "openai-api": Provider("personascope.models.openai_api", "OpenAIAPIModel", "httpx"),
    "openai": Provider("personascope.models.openai_api", "OpenAIAPIModel", "httpx"),
    "vllm": Provider("personascope.models.vllm", "VLLMModel", "'personascope[vllm]'"),
    "lab": Provider("personascope.models.lab", "LabModel", "'personascope[hf]'"),
}


def load_model(spec: ModelSpec) -> LanguageModel:
    """Instantiate the backend for ``spec``."""
    provider = PROVIDERS.get(spec.provider)
    if provider is None:
        raise ModelNotFoundError(f"no backend for provider {spec.provider!r}")
    try:
        module = importlib.import_module(provider.module)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"{spec.model_id} needs {provider.requirement} ({exc}); "
            f"install it with: pip install {provider.requirement}"
        ) from exc
    return getattr(module, provider.factory)(spec)
