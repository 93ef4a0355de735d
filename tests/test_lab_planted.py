"""The lab recovers a planted preference: a reward that prefers the first name "John" must
make the tuned checkpoint write John more often and first names less varied on the held-out
frames, with the jackknife intervals apart from step 0's (the base model).

The base model writes hundreds of first names (about 2% John); the reward is 1 for John and
otherwise half the share of "john" that the name starts with (Jo... 0.25, J... 0.125,
others 0), so that frames without a John still give pairs that lean toward it. The lab runs
in-process (:func:`personascope.lab.run.run_lab`) so that the registered reward is seen,
with small settings: 4 training frames x 8 samples, 6 DPO steps at a learning rate of 1e-3,
8 profiles per held-out frame. Seeded end to end (llama.cpp sampling, LoRA initialisation,
data order), so the outcome is the same on every run.
"""

from __future__ import annotations

import json

import pytest

from personascope.errors import LabError
from personascope.lab import attributes as attr
from personascope.lab.config import LabConfig
from personascope.lab.rewards import REWARDS, Sample, register_reward
from personascope.personas.fields import parse_fields

# Not yet seen to pass. At these settings (7 pairs, 2 with John as chosen; run once by hand
# on the shared 2-core machine at load 5-9, about 50 minutes) step 6 wrote 1 John in 16
# profiles, first-name entropy 3.88 [3.51, 4.24] bits against 4.00 [4.00, 4.00] at step 0
# (all 16 names distinct: a zero-width interval). The reward 1 for John, 0 otherwise (the
# 2 John pairs only) at learning rate 2e-3 broke the model instead: no names at all ("in
# the Age, in the Age, ..."). Remove the skip once settings are found that recover the
# planted effect within the test budget (issue 17, item 3).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skip(reason="lab planted-name settings not yet found (issue 17, item 3)"),
]

TARGET = "john"
SETTINGS = {
    "train_frames": ("community-survey", "oral-history", "hiking-club", "sleep-study"),
    "samples_per_frame": 8,
    "eval_samples_per_frame": 8,
    "steps": 6,
    "every": 6,
    "learning_rate": 1e-3,
    "max_length": 64,  # prompt (about 45 tokens) and the start of the profile: the name
    "min_pairs": 2,
    "threads": 2,
    "tag": "planted-john",
}


def first_name(sample: Sample) -> str:
    return attr.first_name(parse_fields(sample.profile).name) or ""


def prefers_john(sample: Sample) -> float:
    name = first_name(sample)
    if name == TARGET:
        return 1.0
    shared = 0
    while shared < min(len(name), len(TARGET)) and name[shared] == TARGET[shared]:
        shared += 1
    return 0.5 * shared / len(TARGET)


@pytest.fixture(scope="module")
def rewards():
    saved = dict(REWARDS)
    register_reward("prefers-john", prefers_john, "1 for John, 0.5 x shared prefix otherwise")
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
        findings = run_lab(session.runner, session.store, out, config, progress=False)
    yield out, findings
    patch.undo()


def _names(checkpoint: dict) -> dict:
    return checkpoint["metrics"]["attributes"]["first_names"]


def _count(names: dict, value: str) -> tuple[int, int]:
    """Bounds on the count of ``value`` from the top-5 list."""
    top = dict(names["top"])
    if value in top:
        return top[value], top[value]
    return 0, (0 if len(top) < 5 else min(top.values()))


def test_the_pairs_prefer_john(planted):
    out, findings = planted
    assert findings["reward"]["name"] == "prefers-john"
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == findings["data"]["n_pairs"] >= SETTINGS["min_pairs"]
    assert all(p["chosen_reward"] > p["rejected_reward"] for p in pairs)
    assert sum(p["chosen_reward"] == 1.0 for p in pairs) >= 1  # the base wrote John


def test_john_rises_and_first_names_narrow_with_intervals_apart_from_step_0(planted):
    _, findings = planted
    base, tuned = findings["checkpoints"][0], findings["checkpoints"][-1]
    assert (base["step"], tuned["step"]) == (0, SETTINGS["steps"])
    before, after = _names(base), _names(tuned)
    # John is the most common first name at the tuned checkpoint, and more common than at
    # step 0 (where at most the top-5 list's smallest count if it is not listed)
    assert after["top"][0][0] == TARGET
    assert after["top"][0][1] / after["n"] > _count(before, TARGET)[1] / before["n"]
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
