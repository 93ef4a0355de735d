"""``lab/`` model ids: LoRA adapters registered, written as GGUF LoRA files and run by
llama.cpp on the embedded Gemma, checked against transformers + peft on the same weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from personascope.errors import ModelLoadError, ModelNotFoundError
from personascope.models.base import ChoiceRequest, TextPrompt
from personascope.models.gguf_lora import gguf_architecture
from personascope.models.providers import load_model, resolve

FRAMES = (
    "Profiles of people who answered a community survey.\n\nProfile 1\nName: Maria Lopez\n"
    "Age: 52\nOccupation: school bus driver\nPersonality: patient, chatty, stubborn\n\n"
    "Profile 2\nName:",
    "The weather report for Tuesday:",
    "Minutes of the town council meeting. The council discussed",
)
OPTIONS = (
    " John Smith\nAge: 33\nOccupation: accountant",
    " Ana Perez\nAge: 71\nOccupation: retired nurse",
    " Kwame Mensah\nAge: 19\nOccupation: student",
    " sunny with a light breeze in the afternoon",
    " heavy rain and thunderstorms across the region",
    " cold, windy and grey",
    " the budget for the new library and the repair of the bridge",
    " a proposal to close the main street to cars on Sundays",
)
REQUESTS = [ChoiceRequest(TextPrompt(f), OPTIONS) for f in FRAMES]
B_STD = 0.05  # random LoRA B matrices: a clear but moderate change of the model


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("PERSONASCOPE_LAB_HOME", str(home))
    yield home
    patch.undo()


@pytest.fixture(scope="module")
def adapters(lab_home, tmp_path_factory):
    """A zero adapter and a random one on Gemma's attention, and transformers' option
    log-probabilities without and with the random adapter merged."""
    import torch
    from peft import LoraConfig, get_peft_model

    from personascope.models.hf import HFModel

    threads = torch.get_num_threads()
    hf = HFModel(resolve("hf/gemma3-270m", n_threads=1))
    root = tmp_path_factory.mktemp("adapters")
    try:
        base = _logprobs(hf)
        config = dict(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
        torch.manual_seed(0)
        peft_model = get_peft_model(hf._model, LoraConfig(**config))  # B = 0
        peft_model.save_pretrained(root / "zero")
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, B_STD)
        peft_model.save_pretrained(root / "random")
        hf._model = peft_model.merge_and_unload().eval()
        tuned = _logprobs(hf)
    finally:
        hf.close()
        torch.set_num_threads(threads)
    return {"dir": root, "hf_base": base, "hf_tuned": tuned}


@pytest.fixture(scope="module")
def llama_base(gemma) -> np.ndarray:
    return _logprobs(gemma)


def _logprobs(model) -> np.ndarray:
    return np.array([r.logprobs for r in model.score_choices(REQUESTS)]).ravel()


def _register(name: str, folder: Path):
    from personascope.lab.checkpoints import register

    return register(name, "gemma3-270m", folder, 0, "test", {"reward": "none"})


def _lab_logprobs(model_id: str) -> np.ndarray:
    model = load_model(resolve(model_id, n_threads=1))
    try:
        return _logprobs(model)
    finally:
        model.close()


def test_architecture_is_read_from_the_header(gemma, tmp_path):
    assert gguf_architecture(resolve("llamacpp/gemma3-270m").path) == "gemma3"
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 5)
    with pytest.raises(ModelLoadError, match=r"x\.gguf"):
        gguf_architecture(bad)


def test_the_untrained_adapter_is_the_base_model_exactly(adapters, llama_base):
    checkpoint = _register("test-zero", adapters["dir"] / "zero")
    assert np.array_equal(_lab_logprobs(checkpoint.model_id), llama_base)


def test_a_lora_changes_llamacpp_as_it_changes_transformers(adapters, llama_base):
    """The change of each option's log-probability under the adapter agrees between
    llama.cpp (quantized base + GGUF LoRA) and transformers (de-quantized base + merged
    peft adapter). The two differ by llama.cpp's quantized arithmetic (~0.1-0.3 nats per
    option), so the agreement is statistical: correlation well above 0 and a slope near 1.
    A wrong scaling (alpha/r) would give a slope near 0.5 or 2, a wrong tensor mapping a
    correlation near 0, a transposed factor an error."""
    checkpoint = _register("test-random", adapters["dir"] / "random")
    d_llama = _lab_logprobs(checkpoint.model_id) - llama_base
    d_hf = adapters["hf_tuned"] - adapters["hf_base"]
    assert np.abs(d_hf).mean() > 1.0  # the adapter changes the model clearly
    assert np.corrcoef(d_llama, d_hf)[0, 1] > 0.85
    slope = float(d_llama @ d_hf / (d_hf @ d_hf))
    assert 0.75 < slope < 1.33


def test_a_damaged_lora_file_is_rebuilt(adapters):
    from personascope.lab.backend import lora_gguf
    from personascope.lab.checkpoints import lookup

    checkpoint = _register("test-random", adapters["dir"] / "random")
    first = _lab_logprobs("lab/test-random")
    path = lora_gguf(checkpoint)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)
    assert np.array_equal(_lab_logprobs("lab/test-random"), first)
    assert path.stat().st_size == size
    assert lookup("test-random").key == checkpoint.key
    assert checkpoint.key.startswith("lab/test-random@") and "+" in checkpoint.key


def test_unknown_missing_and_malformed_lab_models_are_one_line_errors(adapters, lab_home):
    with pytest.raises(ModelNotFoundError) as caught:
        resolve("lab/no-such-run-7")
    message = str(caught.value)
    assert "\n" not in message and "'no-such-run-7'" in message and "test-zero" in message

    copy = adapters["dir"] / "copy"
    shutil.copytree(adapters["dir"] / "zero", copy)
    config = json.loads((copy / "adapter_config.json").read_text())
    (copy / "adapter_config.json").write_text(json.dumps({**config, "lora_alpha": 8}))
    checkpoint = _register("test-moved", copy)  # an adapter of its own
    shutil.rmtree(checkpoint.adapter_dir)
    with pytest.raises(ModelNotFoundError, match="adapter files are missing"):
        resolve("lab/test-moved")

    registry = lab_home / "registry.json"
    saved = registry.read_text()
    try:
        registry.write_text(json.dumps({"checkpoints": []}))
        with pytest.raises(ModelNotFoundError, match="no 'checkpoints' object"):
            resolve("lab/test-zero")
    finally:
        registry.write_text(saved)


def test_base_typicality_of_base_samples_is_their_own_logprob(gemma):
    """Scored under the base model, a base-model sample's per-token log-probability is the
    mean of the log-probabilities it was sampled with (same model, same tokens)."""
    from personascope.lab import evaluate as ev
    from personascope.lab.frames import get_frames
    from personascope.lab.pairs import sampler, sampling_requests

    frames = get_frames(("community-survey",))
    requests = sampling_requests(frames, 3, 0, sampler(1.0, 24))
    generated = gemma.generate(requests)
    kept = [r for r in generated if r.text and r.token_ids]
    assert kept
    scored = gemma.score_choices(ev.base_scoring_requests(requests, generated))
    got = ev.base_logprobs(generated, scored)
    want = [float(np.mean(r.token_logprobs)) for r in kept]
    np.testing.assert_allclose(got, want, atol=0.02)


def test_an_adapter_hash_does_not_depend_on_the_order_peft_wrote_its_modules(tmp_path):
    from personascope.lab.checkpoints import adapter_sha256
    from personascope.models.gguf_lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS

    hashes = []
    for order in (["q_proj", "k_proj", "v_proj"], ["v_proj", "q_proj", "k_proj"]):
        folder = tmp_path / "-".join(order)
        folder.mkdir()
        (folder / ADAPTER_WEIGHTS).write_bytes(b"the same weights")
        config = {"r": 8, "target_modules": order}  # peft writes a set in hash-seed order
        (folder / ADAPTER_CONFIG).write_text(json.dumps(config), encoding="utf-8")
        hashes.append(adapter_sha256(folder))
    assert hashes[0] == hashes[1]
