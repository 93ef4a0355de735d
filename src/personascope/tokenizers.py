"""Tokenizers for the lexical metrics, built from the model layer.

The metrics (:mod:`personascope.metrics.lexical`) take a tokenization as ``"words"``,
``"whitespace"`` or a :class:`~personascope.metrics.lexical.Tokenizer` passed in; they never
resolve or load a model. :func:`tokenization` is what the CLI and the Python API apply to
the user's ``--tokenization``: a ``llamacpp/<model>`` id becomes that model's tokenizer
(its vocabulary only: the weights are not loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from personascope.errors import MetricInputError
from personascope.metrics.lexical import Tokenizer, Tokens
from personascope.models.providers import resolve


@dataclass(frozen=True)
class LlamaCppTokenizer:
    """A GGUF model's tokenizer; ``name`` (the model id) is the recorded tokenization."""

    name: str
    path: Path

    def __call__(self, texts: Sequence[str]) -> Tokens:
        import llama_cpp

        llm = llama_cpp.Llama(model_path=str(self.path), vocab_only=True, verbose=False)
        try:
            lists = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in texts]
            return Tokens.from_lists(lists, self.name, int(llm.n_vocab()))
        finally:
            llm.close()


def tokenization(name: str) -> str | Tokenizer:
    """What the metrics take for a tokenization name: ``llamacpp/<model>`` becomes that
    model's tokenizer; any other name is passed on (the metrics check it)."""
    if not name.startswith("llamacpp/"):
        return name
    spec = resolve(name)
    if spec.path is None:
        raise MetricInputError(f"tokenization {name!r}: the model has no local file")
    return LlamaCppTokenizer(name, spec.path)
