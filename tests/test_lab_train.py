"""DPO + LoRA training of the lab on the real Gemma weights: a couple of steps on a handful
of short pairs, the checkpoint schedule, Ctrl-C and resume."""

from __future__ import annotations

import math
import os
import shutil
import signal

import numpy as np
import pytest

from personascope.errors import LabError
from personascope.lab.config import LabConfig
from personascope.lab.train import last_checkpoint, train

PROMPT = "Profile\nName:"
ROWS = [
    {
        "prompt": PROMPT,
        "chosen": f" Anna Berg\nAge: {30 + i}",
        "rejected": f" Zorg Quux\nAge: {900 + i}",
    }
    for i in range(4)
]
CONFIG = LabConfig(steps=2, every=1, save_every=1, max_length=32, threads=1)


@pytest.fixture(scope="module")
def model_dir():
    from personascope.models.hf_convert import converted_folder
    from personascope.models.providers import resolve

    return converted_folder(resolve("hf/gemma3-270m"))


@pytest.fixture(scope="module")
def uninterrupted(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("train-a")
    return out, train(model_dir, ROWS, out, CONFIG, progress=False)


def _lora(folder, which: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "adapter_model.safetensors"))
    return {k: v for k, v in weights.items() if f"lora_{which}" in k}


def test_schedule_checkpoints_and_dpo_log(uninterrupted):
    out, result = uninterrupted
    assert sorted(result.adapters) == [0, 1, 2]
    assert result.steps_run == 2 and result.resumed_from is None
    # the untrained adapter is the base model: every B matrix is zero
    assert all(not b.any() for b in _lora(result.adapters[0], "B").values())
    one, two = _lora(result.adapters[1], "B"), _lora(result.adapters[2], "B")
    assert any(b.any() for b in one.values())
    assert any(not np.array_equal(one[k], two[k]) for k in one)
    # at the first step the policy is the reference: the DPO loss is log 2
    assert result.log[0]["loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert result.log[1]["rewards/margins"] > 0  # chosen pulled above rejected
    # checkpoints keep what resuming needs, not the tokenizer
    assert (out / "checkpoint-2" / "optimizer.pt").is_file()
    assert not (out / "checkpoint-2" / "tokenizer.json").exists()


def test_a_finished_run_is_found_not_retrained(model_dir, uninterrupted):
    out, first = uninterrupted
    again = train(model_dir, ROWS, out, CONFIG, progress=False)
    assert again.steps_run == 0 and again.adapters == first.adapters
    partial = out / "checkpoint-7"
    partial.mkdir()
    (partial / "adapter_model.safetensors").write_bytes(b"")
    assert last_checkpoint(out)[0] == 2
    assert not partial.exists()  # an incomplete checkpoint is deleted


def test_ctrl_c_saves_the_step_and_a_rerun_resumes_to_the_same_weights(
    model_dir, uninterrupted, tmp_path
):
    from transformers import TrainerCallback

    class CtrlC(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 0:
                os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        train(model_dir, ROWS, out, CONFIG, progress=False, callbacks=[CtrlC()])
    assert last_checkpoint(out)[0] == 1
    assert not (out / "checkpoint-2").exists()

    damaged = tmp_path / "c"
    shutil.copytree(out, damaged)
    (damaged / "checkpoint-1" / "optimizer.pt").write_bytes(b"not a torch file")
    with pytest.raises(LabError) as caught:
        train(model_dir, ROWS, damaged, CONFIG, progress=False)
    assert "\n" not in str(caught.value) and "cannot resume training" in str(caught.value)

    resumed = train(model_dir, ROWS, out, CONFIG, progress=False)
    assert resumed.resumed_from == 1 and resumed.steps_run == 1
    want = _lora(uninterrupted[1].adapters[2], "B")
    got = _lora(resumed.adapters[2], "B")
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-6)
