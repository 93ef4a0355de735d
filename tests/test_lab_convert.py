"""The converted-model cache (models/hf_convert.py): a folder counts only when its manifest
matches every file; partial and damaged folders are not used."""

from __future__ import annotations

import json

import pytest

from personascope.models.hf_convert import (
    MANIFEST,
    converted_folder,
    folder_for,
    is_complete,
    save_converted,
)
from personascope.models.providers import resolve


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small random Llama with SmolLM2's tokenizer, saved as a converted folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    source = converted_folder(resolve("hf/smollm2-135m-instruct"))
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
    )
    torch.manual_seed(0)
    return tokenizer, LlamaForCausalLM(config)


def test_a_saved_folder_is_complete_until_a_file_changes(tiny, tmp_path):
    tokenizer, model = tiny
    folder = save_converted(tmp_path / "tiny-0123", tokenizer, model, "0123")
    assert is_complete(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["gguf_sha256"] == "0123" and "model.safetensors" in manifest["files"]
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-0123"]  # no temporary folder left

    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # a partial copy
    assert not is_complete(folder)
    weights.write_bytes(data[:-8] + b"\x00" * 8)  # same size, other bytes
    assert not is_complete(folder)
    weights.write_bytes(data)
    assert is_complete(folder)
    (folder / MANIFEST).unlink()  # killed before the manifest was written
    assert not is_complete(folder)


def test_the_embedded_folder_is_reused_and_keyed_by_the_gguf_hash(tmp_path):
    spec = resolve("hf/smollm2-135m-instruct")
    folder = converted_folder(spec)
    assert folder == folder_for(spec) and is_complete(folder)
    assert folder.name.endswith(spec.key.rpartition("@")[2][:16])
    assert folder_for(spec, root=tmp_path).parent == tmp_path
