"""The OpenAI-compatible HTTP backend (``openai-api/`` and ``openai/`` model ids): the
OpenAI API, ``vllm serve``, llama.cpp servers, Ollama. docs/backends.md is its manual.

One job per module: :mod:`.settings` (options and environment), :mod:`.transport`
(retrying, load-balanced POSTs), :mod:`.parsing` (answers and log-probs), :mod:`.backend`
(the :class:`OpenAIAPIModel` built on them).
"""

from personascope.models.openai_api.backend import OpenAIAPIModel
from personascope.models.openai_api.settings import HTTPSettings, settings_from_spec

__all__ = ["HTTPSettings", "OpenAIAPIModel", "settings_from_spec"]
