"""The fast route of the sentence embedder: all-MiniLM-L6-v2 in ONNX Runtime.

The torch model is the reference; this route computes the same function faster:

* **export once.** The first use exports the local model files (no network) to ONNX with
  ``torch.onnx.export`` and fuses attention, GELU and layer norms for ONNX Runtime
  (``onnxruntime.transformers.optimizer``); weights stay float32.
* **verify.** The export is kept only if every probe text's vector has cosine
  >= :data:`MIN_COSINE` to the torch vector (measured: 1.0000). The folder
  ``<user cache>/embedder-onnx/<model>-<sha[:16]>/`` holds the model, its tokenizer and
  :data:`~personascope.cachefiles.MANIFEST` (route, worst probe cosine, size and
  SHA-256 of every file), written last; it is built under a temporary name and renamed
  into place, and rebuilt when a file disagrees with the manifest.
* **no int8.** Dynamic int8 quantization (per-channel weights, ONNX Runtime) ran about
  1.2x the float32 export's speed in one measurement under load, but it quantizes
  activations with one scale per batch tensor: a text's vector then depends on the other
  texts padded into its batch ("Hello." alone and in a batch with a 60-word text differed
  by up to 0.02 per coordinate), which a cache keyed by the text cannot allow; one text
  per batch removes that and the speed with it.
* **encode.** Texts are tokenized as sentence-transformers does (the model's
  ``tokenizer.json``, truncation at 256 tokens), sorted by length so each batch pads
  little, run through ONNX Runtime, mean-pooled over real tokens and L2-normalised:
  ``v = sum_t m_t h_t / sum_t m_t``, ``v / ||v||``.

The route's name (``onnx-fp32`` with the ONNX Runtime version) is part of the vectors'
cache key: its vectors equal the torch ones to float rounding (~1e-7), not bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from personascope.cachefiles import MANIFEST, file_sha256, is_complete, user_cache_dir
from personascope.errors import PersonascopeError

CACHE_NAME = "embedder-onnx"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
MIN_COSINE = 0.99  # every probe vector must be this close to the torch reference
ROUTE = "onnx-fp32"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Probe texts for the verification: short, medium, persona-like and over-long (truncated).
PROBES: tuple[str, ...] = (
    "Hi.",
    "I am a nurse.",
    "The weather is lovely today and the garden is full of bees.",
    "Marta Kowalski is a 58-year-old night-shift nurse from Gdansk. She is blunt, tidy and "
    "anxious about money, dislikes parties, and spends her days off repairing old radios "
    "she buys at flea markets. Her colleagues rely on her calm in emergencies, though few "
    "of them would call her warm; she prefers facts to feelings and says so.",
    "def add(a, b):\n    return a + b",
    "Ich heiße Jonas und wohne seit zehn Jahren in Leipzig.",
    " ".join(f"word{i} and something else" for i in range(120)),
    "A retired schoolteacher who loves crossword puzzles, jazz records and long walks.",
)


class ExportError(PersonascopeError):
    """The ONNX export failed or disagrees with the torch model (the caller falls back)."""


def source_sha(model_dir: Path) -> str:
    """One hash of the source model's files (names, sizes and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(model_dir)}|{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def folder_for(model_dir: Path, root: Path | None = None) -> Path:
    """Where the exported model of ``model_dir`` lives (it may not exist yet)."""
    name = f"all-minilm-l6-v2-{source_sha(model_dir)[:16]}"
    return (root or user_cache_dir() / CACHE_NAME) / name


def route_name(folder: Path) -> str:
    """The route recorded in the manifest, with the ONNX Runtime version."""
    import onnxruntime

    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return f"{manifest['route']}@onnxruntime=={onnxruntime.__version__}"


def exported_folder(model_dir: Path, reference: Any, root: Path | None = None) -> Path:
    """The verified ONNX folder of the model in ``model_dir``, exporting it the first time.

    ``reference``: a callable embedding a list of texts with the torch model (the
    reference the export is verified against).
    """
    folder = folder_for(model_dir, root)
    if is_complete(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        try:
            with _quiet():
                _export(model_dir, tmp / "exported.onnx")
                _fuse(model_dir, tmp / "exported.onnx", tmp / MODEL_FILE)
        # the exporter and optimizer fail in many ways; each becomes one line, and torch stays
        except Exception as exc:
            raise ExportError(f"cannot export the embedder to ONNX: {exc}") from exc
        (tmp / "exported.onnx").unlink()
        shutil.copyfile(model_dir / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        expected = np.asarray(reference(list(PROBES)), dtype=np.float32)
        vectors = OnnxEncoder(tmp / MODEL_FILE, tmp / TOKENIZER_FILE, threads=1).encode(
            list(PROBES), len(PROBES)
        )
        worst = float(np.min(np.sum(vectors * expected, axis=1)))
        if worst < MIN_COSINE:
            raise ExportError(
                f"the ONNX export disagrees with the torch model (cosine {worst:.4f})"
            )
        _write_manifest(tmp, {"route": ROUTE, "worst_probe_cosine": worst})
        try:
            tmp.rename(folder)
        except OSError:
            if not is_complete(folder):  # another process finished first: keep theirs if whole
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _write_manifest(folder: Path, meta: dict[str, Any]) -> None:
    files = {
        p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
    (folder / MANIFEST).write_text(json.dumps({**meta, "files": files}, indent=1), "utf-8")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's and quantizer's warnings and log lines."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stderr(io.StringIO()),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (eager attention, so that ONNX Runtime can fuse it)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(
            Hidden(),
            example,
            str(target),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _fuse(model_dir: Path, source: Path, target: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=config["num_attention_heads"],
        hidden_size=config["hidden_size"],
    )
    optimized.save_model_to_file(str(target))


class OnnxEncoder:
    """Runs an exported model: tokenize, sort by length, batch, mean-pool, normalise."""

    def __init__(self, model: Path, tokenizer: Path, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """A (len(texts), d) float32 array of unit vectors, in the order of ``texts``."""
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in INPUTS}
            for r, i in enumerate(rows):
                e = encodings[i]
                n = len(e.ids)
                feed["input_ids"][r, :n] = e.ids
                feed["attention_mask"][r, :n] = e.attention_mask
                feed["token_type_ids"][r, :n] = e.type_ids
            hidden = self._session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
