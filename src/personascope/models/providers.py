"""The provider registry: what ``provider/name`` model ids mean, and how each is loaded.

One :class:`Provider` record per backend says how to *resolve* the part of a model id after
the slash to a :class:`~personascope.models.catalog.ModelSpec` (files found, cache key
computed, nothing loaded), how to *load* a resolved spec into a
:class:`~personascope.models.base.LanguageModel`, what to ``pip install`` when its module
is missing, and one line of help. Everything that lists providers (error messages, CLI
help, docs/backends.md) reads this registry.

Built-in backends are named by import path (``"module:attribute"``), imported only when a
model id of that provider is loaded: a missing optional dependency (transformers, vllm ...)
costs nothing until then. The providers that live above the models layer (``lab/`` in
:mod:`personascope.lab`, ``fake/`` in :mod:`personascope.testing`) are named the same way,
so this module never imports them.

A user registers a backend of their own from anywhere::

    from personascope.models.providers import Provider, register_provider

    register_provider(Provider("mine", load=MyModel, help="my in-house server"))

after which ``mine/<anything>`` works wherever a model id does (see docs/backends.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from personascope.errors import ModelNotFoundError
from personascope.models import catalog
from personascope.models.base import LanguageModel
from personascope.models.catalog import ModelSpec

# (model id, the name after "provider/", options) -> the resolved spec
Resolver = Callable[[str, str, dict[str, Any]], ModelSpec]
Loader = Callable[[ModelSpec], LanguageModel]


def keyed_by_id(model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
    """The default resolver: no files; results are cached under the model id (and its
    ``revision`` option when given: a new revision is a new cache key). ``kind`` comes
    from the option ``kind``, else "chat"."""
    provider = model_id.partition("/")[0]
    revision = options.get("revision")
    key = f"{model_id}@{revision}" if revision else model_id
    return ModelSpec(model_id, provider, name, options.get("kind", "chat"), None, key, options)


@dataclass(frozen=True)
class Provider:
    """One backend: ``<name>/...`` model ids.

    ``resolve`` maps (model id, name after the slash, options) to a ``ModelSpec`` whose
    ``key`` names everything that changes the results (weights hash, revision, dtype);
    ``load`` makes a ``LanguageModel`` from that spec. Either may be a callable or an
    import path ``"package.module:attribute"``; ``requirement`` is what ``pip install``
    must be given when importing it fails; ``help`` is one line for ``--help`` and docs.
    """

    name: str
    load: Loader | str
    resolve: Resolver | str = keyed_by_id
    requirement: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name != self.name.strip():
            raise ValueError(f"a provider name is a non-empty word without '/': {self.name!r}")

    def _import(self, target: Callable[..., Any] | str, model_id: str) -> Callable[..., Any]:
        if not isinstance(target, str):
            return target
        module, _, attribute = target.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            hint = f"; install it with: pip install {self.requirement}" if self.requirement else ""
            raise ModelNotFoundError(
                f"{model_id} needs {self.requirement or module} ({exc}){hint}"
            ) from exc

    def resolve_id(self, model_id: str, name: str, options: dict[str, Any]) -> ModelSpec:
        """Run this provider's resolver."""
        return self._import(self.resolve, model_id)(model_id, name, options)

    def available(self) -> str | None:
        """None when this provider's backend imports, else why not (with the install hint)."""
        try:
            self._import(self.load, f"{self.name}/...")
        except ModelNotFoundError as exc:
            return str(exc)
        return None

    def load_spec(self, spec: ModelSpec) -> LanguageModel:
        """Run this provider's loader."""
        return self._import(self.load, spec.model_id)(spec)


_REGISTRY: dict[str, Provider] = {}


def register_provider(provider: Provider, replace: bool = False) -> Provider:
    """Make ``<provider.name>/...`` model ids resolve and load with ``provider``.

    Registering a name that is taken raises ``ValueError`` unless ``replace`` is true.
    Returns the provider, so it can be used as a one-line statement.
    """
    if provider.name in _REGISTRY and not replace:
        raise ValueError(
            f"provider {provider.name!r} is already registered (pass replace=True to replace it)"
        )
    _REGISTRY[provider.name] = provider
    return provider


def unregister_provider(name: str) -> None:
    """Forget a provider (a test's or a notebook's own); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def providers() -> Mapping[str, Provider]:
    """Every registered provider by name, built-in first, in registration order."""
    return dict(_REGISTRY)


def split_model_id(model_id: str) -> tuple[Provider, str]:
    """The provider a model id names and the name after its slash."""
    provider, sep, name = model_id.partition("/")
    known = ", ".join(_REGISTRY)
    if not sep or not name:
        raise ModelNotFoundError(
            f"model id {model_id!r} is not of the form provider/name (providers: {known})"
        )
    if provider not in _REGISTRY:
        raise ModelNotFoundError(
            f"unknown provider {provider!r} in {model_id!r} (providers: {known})"
        )
    return _REGISTRY[provider], name


def resolve(model_id: str, **options: Any) -> ModelSpec:
    """Resolve a model id to a :class:`ModelSpec` (no model is loaded).

    ``options`` carry provider settings: ``kind`` ("base" or "chat") for files whose
    kind is not known, ``base_url``/``api_key``/``timeout``/``concurrency`` for HTTP
    backends, ``revision`` for hub models (docs/backends.md lists them all).
    """
    provider, name = split_model_id(model_id)
    return provider.resolve_id(model_id, name, options)


def load_model(spec: ModelSpec) -> LanguageModel:
    """Instantiate the backend for ``spec``."""
    provider = _REGISTRY.get(spec.provider)
    if provider is None:
        raise ModelNotFoundError(
            f"no backend for provider {spec.provider!r} (providers: {', '.join(_REGISTRY)})"
        )
    return provider.load_spec(spec)


for _builtin in (
    Provider(
        "llamacpp",
        "personascope.models.llamacpp:LlamaCppModel",
        catalog.gguf_spec,
        "llama-cpp-python",
        "llama.cpp on an embedded model name or a path to a .gguf file (CPU)",
    ),
    Provider(
        "hf",
        "personascope.models.hf:HFModel",
        catalog.hf_spec,
        "'personascope[hf]'",
        "transformers on an embedded name, a hub id or a local folder (option dtype)",
    ),
    Provider(
        "vllm",
        "personascope.models.vllm:VLLMModel",
        catalog.vllm_spec,
        "'personascope[vllm]'",
        "vLLM in this process on a hub id or a local folder (GPU machines)",
    ),
    Provider(
        "openai-api",
        "personascope.models.openai_api:OpenAIAPIModel",
        catalog.http_spec,
        "httpx",
        "any OpenAI-compatible server: vllm serve, llama.cpp, Ollama (--base-url URL)",
    ),
    Provider(
        "openai",
        "personascope.models.openai_api:OpenAIAPIModel",
        catalog.http_spec,
        "httpx",
        "the OpenAI API itself ($OPENAI_API_KEY)",
    ),
    Provider(
        "lab",
        "personascope.lab.backend:LabModel",
        "personascope.lab.checkpoints:lab_spec",
        "'personascope[hf]'",
        "a checkpoint preference-tuned by `personascope lab` (docs/lab.md)",
    ),
    Provider(
        "fake",
        "personascope.testing.fake:FakeModel",
        "personascope.testing.fake:fake_spec",
        "",
        "a deterministic named behaviour for tests and examples (fake/echo, fake/respondent)",
    ),
):
    register_provider(_builtin)
