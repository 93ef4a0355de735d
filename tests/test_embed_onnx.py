"""The ONNX route of the sentence embedder against the torch reference (real model)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personascope.cachefiles import MANIFEST, is_complete
from personascope.errors import MetricInputError
from personascope.metrics import embed_onnx
from personascope.metrics.embedding import Embedder, chosen_route, model_dir, text_hash
from personascope.store import Store

TEXTS = [
    "Hello.",
    "The cat sat on the mat.",
    "A cat was sitting on the mat.",
    "Stock markets fell sharply on Monday after the bank raised interest rates.",
    "Tom, 61, repairs clocks in Leeds and plays chess with his grandson every Sunday. " * 3,
    "Aiko studies marine biology in Osaka; she is shy but stubborn about her research.",
]


@pytest.fixture(scope="module")
def routes():
    return Embedder(route="torch"), Embedder(route="onnx")


def test_onnx_vectors_match_the_torch_reference_text_by_text(routes):
    torch_route, onnx_route = routes
    reference = torch_route.encode(TEXTS)
    vectors = onnx_route.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(vectors * reference, axis=1) >= embed_onnx.MIN_COSINE)
    # planted: the paraphrase is nearer than the unrelated sentence
    assert vectors[1] @ vectors[2] > 0.8 > vectors[1] @ vectors[3] + 0.5


def test_length_sorted_padded_batches_give_each_text_its_own_vector(routes):
    _, onnx_route = routes
    together = onnx_route.encode(TEXTS[::-1])[::-1]  # one padded batch, sorted inside
    alone = np.stack([onnx_route.encode([t])[0] for t in TEXTS])  # no padding at all
    assert np.allclose(together, alone, atol=1e-5)


def test_the_export_is_verified_and_recorded_once(routes):
    _, onnx_route = routes
    onnx_route.encode(["load"])
    folder = embed_onnx.folder_for(model_dir())
    assert is_complete(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["route"] == "onnx-fp32"
    assert manifest["worst_probe_cosine"] >= embed_onnx.MIN_COSINE
    assert set(manifest["files"]) == {embed_onnx.MODEL_FILE, embed_onnx.TOKENIZER_FILE}
    before = (folder / embed_onnx.MODEL_FILE).stat().st_mtime_ns
    assert embed_onnx.exported_folder(model_dir(), reference=None) == folder  # not redone
    assert (folder / embed_onnx.MODEL_FILE).stat().st_mtime_ns == before


def test_the_route_is_part_of_the_cache_key(tmp_path, routes):
    torch_route, onnx_route = routes
    assert onnx_route.name.startswith(torch_route.name + "#onnx-")
    texts = ["a quiet baker", "a loud drummer"]
    with Store(tmp_path) as store:
        fast = Embedder(store, route="onnx")
        fast.embed(texts)
        reference = Embedder(store, route="torch")
        vectors = reference.embed(texts)
        assert reference.computed == 2  # ONNX vectors are not served as reference vectors
        assert np.allclose(vectors, torch_route.encode(texts), atol=1e-6)
        hashes = [text_hash(t) for t in texts]
        assert len(store.get_embeddings(fast.name, hashes)) == 2
        assert len(store.get_embeddings(reference.name, hashes)) == 2


def test_the_route_is_chosen_by_argument_or_environment(monkeypatch):
    monkeypatch.setenv("PERSONASCOPE_EMBEDDER", "torch")
    assert chosen_route() == "torch"
    assert chosen_route("onnx") == "onnx"
    monkeypatch.setenv("PERSONASCOPE_EMBEDDER", "tensorrt")
    with pytest.raises(MetricInputError, match="embedder route must be one of"):
        chosen_route()
