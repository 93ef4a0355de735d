"""The vLLM backend.

vLLM needs a CUDA GPU and is never installed on the development machine: the tests that
load a model skip there with the reason. What runs everywhere: ``vllm/`` ids resolve
without vLLM, and a missing vLLM is a one-line install hint (library and command line).

On a GPU node (``pip install 'personascope[vllm]'``), the model tests load
``$PERSONASCOPE_VLLM_TEST_MODEL`` (default ``Qwen/Qwen2.5-0.5B-Instruct``, from the hub or
its cache) and check vLLM against itself and against the transformers backend.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os

import pytest

from personascope.errors import ModelNotFoundError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.providers import load_model, resolve
from personascope.testing.clitools import one_error_line, run_cli

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
TEST_MODEL = os.environ.get("PERSONASCOPE_VLLM_TEST_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")


def test_vllm_ids_resolve_without_loading_anything(tmp_path):
    spec = resolve("vllm/Qwen/Qwen2.5-7B-Instruct", tensor_parallel_size=2)
    assert (spec.provider, spec.name, spec.path) == ("vllm", "Qwen/Qwen2.5-7B-Instruct", None)
    assert spec.key == "vllm/Qwen/Qwen2.5-7B-Instruct@main"
    assert resolve("vllm/org/m", revision="abc123").key == "vllm/org/m@abc123"
    assert resolve("vllm/org/m", dtype="float32").key == "vllm/org/m@main#float32"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    local = resolve(f"vllm/{folder}")
    assert local.path == folder and local.key != f"vllm/{folder}@main"
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    assert resolve(f"vllm/{folder}").key != local.key  # other files, other cache key


@pytest.mark.skipif(HAVE_VLLM, reason="vLLM is installed: the missing-vLLM hint cannot show")
def test_a_missing_vllm_is_a_one_line_install_hint():
    with pytest.raises(ModelNotFoundError) as caught:
        load_model(resolve("vllm/Qwen/Qwen2.5-0.5B-Instruct"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("vllm/Qwen/Qwen2.5-0.5B-Instruct needs")
    assert "pip install 'personascope[vllm]'" in message


@pytest.mark.skipif(HAVE_VLLM, reason="vLLM is installed: the missing-vLLM hint cannot show")
def test_the_cli_says_how_to_install_vllm(tmp_path):
    done = run_cli(
        "sample", "vllm/Qwen/Qwen2.5-0.5B-Instruct", "--prompt", "Hi", "-n", "1",
        "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "s.jsonl"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "pip install 'personascope[vllm]'" in one_error_line(done.stderr)


# --- on a GPU node --------------------------------------------------------------------------


def _gpu() -> bool:
    if not HAVE_VLLM:
        return False
    import torch

    return torch.cuda.is_available()


gpu = pytest.mark.skipif(
    not _gpu(),
    reason="needs vLLM and a CUDA GPU (this machine has neither; vLLM is never installed here)",
)

ITEM = TextPrompt(
    "You are Jonas, a 34-year-old carpenter from Bergen.\nRate how well the statement "
    "describes you, from 1 (very inaccurate) to 5 (very accurate).\nStatement: I am the "
    "life of the party.\nAnswer: "
)
LIKERT = ("1", "2", "3", "4", "5")


@pytest.fixture(scope="module")
def vllm_model():
    model = load_model(resolve(f"vllm/{TEST_MODEL}", dtype="float32", gpu_memory_utilization=0.5))
    yield model
    model.close()


@gpu
def test_seeded_generation_repeats_and_seeds_differ(vllm_model):
    prompt = ChatPrompt((Message("user", "Describe a person in one sentence."),))
    sampler = SamplerSettings(temperature=1.0, max_tokens=24)
    requests = [GenerationRequest(prompt, sampler, seed=s) for s in (1, 1, 2, 3, 4)]
    results = vllm_model.generate(requests)
    assert results[0].text == results[1].text
    assert len({r.text for r in results[1:]}) > 1
    assert all(len(r.token_ids) == len(r.token_logprobs) > 0 for r in results)
    assert vllm_model.info.sampler_order[-1] == "dist"


@gpu
def test_generated_log_probs_agree_with_scoring_the_same_text(vllm_model):
    sampler = SamplerSettings(temperature=1.0, max_tokens=12)
    result = vllm_model.generate([GenerationRequest(ITEM, sampler, seed=5)])[0]
    if not result.text or vllm_model.encode(result.text) != list(result.token_ids):
        pytest.skip("the sampled text does not re-tokenize to the same ids")
    scored = vllm_model.score_choices([ChoiceRequest(ITEM, (result.text, result.text + "!"))])[0]
    assert scored.logprobs[0] == pytest.approx(sum(result.token_logprobs), abs=1e-3)


@gpu
def test_choice_scores_agree_with_the_transformers_backend(vllm_model):
    hf = load_model(resolve(f"hf/{TEST_MODEL}"))
    try:
        expected = hf.score_choices([ChoiceRequest(ITEM, LIKERT)])[0]
    finally:
        hf.close()
    got = vllm_model.score_choices([ChoiceRequest(ITEM, LIKERT)])[0]
    assert got.logprobs == pytest.approx(expected.logprobs, abs=2e-2)
    assert 0 < got.option_mass <= 1 + 1e-6
    assert got.option_mass == pytest.approx(math.fsum(math.exp(x) for x in got.logprobs))
