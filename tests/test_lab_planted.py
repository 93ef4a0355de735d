"""The lab recovers a planted preference: a reward that prefers the first name "John" must
make the tuned checkpoint write John more often and first names less varied on the held-out
frames, with the jackknife intervals apart from step 0's (the base model).

The reward is 1 for a profile whose first name is John and 0 otherwise, so every preference
pair has a John as the chosen text. The lab runs in-process
(:func:`personascope.lab.run.run_lab`, so that the registered reward is seen) with names
only (``names_only``: each completion is the Name line, a few tokens) and small settings:
the two training frames where the base model writes John (oral history, sleep study; 3 of
their 64 samples), 16 DPO steps of one pair each at a learning rate of 1e-3 with beta 1
(the DPO loss saturates after a few steps instead of pushing the rejected names down
without end, which at beta 0.1 broke the model into initials), 16 names per held-out
frame. Seeded end to end (llama.cpp sampling, LoRA initialisation, data order), so the
outcome is the same on every run with the same number of threads (all the machine's, two
here).

Seen here: 3 pairs (John C. Harris, John Stolarin, John as chosen); step 0 wrote 32
distinct first names on the held-out frames (no John; entropy 5.00 [4.79, 5.21] bits, top
share 0.031 [0.026, 0.036]); step 16 wrote John in 9 of its 31 named profiles (top share
0.29 [0.14, 0.44], entropy 3.75 [3.02, 4.48]). 201 s wall on the 2-core machine with
nothing else running (sampling 36 s, 16 steps of 5.8 s, evaluation 50 s). Pairs of two
per step (the trainer's default) gave John 14 of 30 but took 274 s; eight steps at twice
the learning rate took 188 s but left 25 named profiles of 32, too close to the test's
floor of 24 to rely on. Seen to fail with the preference inverted (the rows given to DPO
with chosen and rejected swapped: the top name became Evelyn, the example name of a
held-out frame; checked again with these settings) and, with the earlier settings, with a
no-op trainer (learning rate forced to 0).
"""

from __future__ import annotations

import json

import pytest

from personascope.errors import LabError
from personascope.lab import attributes as attr
from personascope.lab.config import LabConfig
from personascope.lab.rewards import REWARDS, Sample, register_reward
from personascope.personas.fields import parse_fields

pytestmark = pytest.mark.slow

TARGET = "john"
SETTINGS = {
    "train_frames": ("oral-history", "sleep-study"),
    "samples_per_frame": 32,
    "eval_samples_per_frame": 16,
    "names_only": True,
    "steps": 16,
    "every": 16,
    "learning_rate": 1e-3,
    "beta": 1.0,
    "batch_size": 1,
    "max_length": 64,  # the prompt (about 45 tokens) and the name
    "min_pairs": 2,
    "tag": "planted-john",
}


def first_name(text: str) -> str | None:
    return attr.first_name(parse_fields(Sample("", 0, text, ()).profile).name)


def prefers_john(sample: Sample) -> float:
    return 1.0 if first_name(sample.text) == TARGET else 0.0


@pytest.fixture(scope="module")
def rewards():
    saved = dict(REWARDS)
    register_reward("prefers-john", prefers_john, "1 for the first name John, 0 otherwise")
    register_reward("indifferent", lambda sample: 0.0, "the same for every sample")
    yield
    REWARDS.clear()
    REWARDS.update(saved)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, rewards):
    from personascope.audit import RunSession
    from personascope.lab.run import run_lab

    root = tmp_path_factory.mktemp("lab-planted")
    patch = pytest.MonkeyPatch()
    patch.setenv("PERSONASCOPE_LAB_HOME", str(root / "home"))
    out = root / "run"
    config = LabConfig(reward="prefers-john", **SETTINGS)
    with RunSession(out, "test planted", progress=False) as session:
        findings = run_lab(session.runner, session.store, out, config, progress=False).to_json()
    yield out, findings
    patch.undo()


def _names(checkpoint: dict) -> dict:
    return checkpoint["metrics"]["attributes"]["first_names"]


def _most_count(names: dict, value: str) -> int:
    """The most ``value`` can count, from the top-5 list (ties beyond it count no more than
    the list's smallest count)."""
    top = dict(names["top"])
    if value in top:
        return top[value]
    return 0 if len(top) < 5 else min(top.values())


def test_every_pair_has_john_chosen(planted):
    out, findings = planted
    assert findings["reward"]["name"] == "prefers-john"
    assert findings["data"]["sampler"]["stop"] == ["\n"]  # names only
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == findings["data"]["n_pairs"] >= SETTINGS["min_pairs"]
    for pair in pairs:
        assert first_name(pair["chosen"]["text"]) == TARGET
        assert first_name(pair["rejected"]["text"]) != TARGET
        assert (pair["chosen_reward"], pair["rejected_reward"]) == (1.0, 0.0)


def test_john_rises_and_first_names_narrow_with_intervals_apart_from_step_0(planted):
    _, findings = planted
    base, tuned = findings["checkpoints"][0], findings["checkpoints"][-1]
    assert (base["step"], tuned["step"]) == (0, SETTINGS["steps"])
    before, after = _names(base), _names(tuned)
    assert before["n"] == 2 * SETTINGS["eval_samples_per_frame"]
    assert after["n"] >= 0.75 * before["n"]  # the tuned model still writes names
    # John is the most common first name at the tuned checkpoint, and more common than at
    # step 0 (at most the top-5 list's smallest count there if it is not listed)
    assert after["top"][0][0] == TARGET
    assert after["top"][0][1] / after["n"] > 2 * _most_count(before, TARGET) / before["n"]
    # its share's interval lies above the interval of step 0's most common name, whose
    # share bounds John's there
    assert after["top_share"]["low"] > before["top_share"]["high"]
    # first-name entropy falls, intervals apart
    assert after["entropy_bits"]["high"] < before["entropy_bits"]["low"]
    # the curve the report draws carries the same numbers
    curve = findings["curves"]["first_name_entropy"]["points"]
    assert curve[0]["value"] == before["entropy_bits"]["value"]
    assert curve[-1]["value"] == after["entropy_bits"]["value"]


def test_a_reward_indifferent_to_names_gives_no_pairs_and_trains_nothing(planted):
    """The planted null: the same samples (read back from the store, not redrawn) under a
    constant reward give no preference, so the lab stops before training."""
    from personascope.audit import RunSession
    from personascope.lab.run import run_lab

    out, _ = planted
    config = LabConfig(reward="indifferent", **SETTINGS)
    session = RunSession(out, "test null", progress=False)
    too_few = "too few distinct samples to form preference pairs"
    with pytest.raises(LabError, match=too_few), session:
        run_lab(session.runner, session.store, out, config, progress=False)
    assert session.runner.executed == 0  # every sample came from the store
    assert len(list((out / "train").iterdir())) == 1  # only the planted run's training
