"""The lab's main result on planted truth: DPO on pairs from a reward that prefers one first
name must raise that name's share and lower the first-name entropy of the held-out
completions at the trained checkpoint, with intervals apart from step 0's.

The preferred name is the base model's own most frequent first name in the training
samples (so that enough chosen samples exist); everything else is the real lab, small.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from personascope.lab.attributes import first_name
from personascope.lab.config import LabConfig
from personascope.lab.frames import HELDOUT, TRAIN, get_frames, profile_text
from personascope.lab.pairs import sampler, sampling_requests
from personascope.lab.rewards import register_reward
from personascope.lab.run import run_lab
from personascope.models.base import GenerationResult
from personascope.models.catalog import resolve
from personascope.personas.fields import parse_fields
from personascope.runner import Runner
from personascope.store import Store

SMALL = {
    "train_frames": TRAIN[:4],
    "samples_per_frame": 16,
    "eval_samples_per_frame": 24,
    "steps": 16,
    "every": 16,
    "min_pairs": 2,
    "threads": 1,
    "tag": "name-preference-test",
}


def name_of(completion: str) -> str | None:
    return first_name(parse_fields(profile_text(completion)).name)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson (1927) score interval for k successes in n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.fixture(scope="module")
def name_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-name")
    patch = pytest.MonkeyPatch()
    patch.setenv("PERSONASCOPE_LAB_HOME", str(root / "home"))
    out = root / "run"
    settings = sampler(1.0, LabConfig().max_tokens)
    with Store(out) as store:
        runner = Runner(store, "test", progress=False)
        base = resolve("llamacpp/gemma3-270m", n_threads=1)
        # the same requests the lab's sample stage plans: answered from the store there
        train = sampling_requests(get_frames(SMALL["train_frames"]), 16, 0, settings)
        names = [name_of(r.text) for r in runner.run(base, train, label="samples")]
        counts = Counter(n for n in names if n)
        target = min(counts, key=lambda n: (-counts[n], n))
        register_reward(
            "prefers-target-name",
            lambda sample: 1.0 if name_of(sample.text) == target else 0.0,
            f"1 when the first name is {target!r}, else 0",
        )
        config = LabConfig.preset(quick=True, reward="prefers-target-name", **SMALL)
        findings = run_lab(runner, store, out, config, progress=False)
        heldout = sampling_requests(get_frames(HELDOUT), 24, 0, settings)
        shares = {}
        for checkpoint in findings["checkpoints"]:
            spec = resolve(checkpoint["model_id"], n_threads=1)
            got = [r for r in runner.run(spec, heldout) if isinstance(r, GenerationResult)]
            shares[checkpoint["step"]] = sum(name_of(r.text) == target for r in got), len(got)
        runner.executor.close()
    yield findings, target, counts, shares
    patch.undo()


def test_a_name_preference_raises_that_names_share(name_lab):
    findings, target, counts, shares = name_lab
    assert counts[target] >= 2  # enough chosen samples to form pairs
    assert findings["data"]["n_pairs"] >= 2
    (k0, n0), (k1, n1) = shares[0], shares[16]
    assert n0 == n1 == 2 * 24
    assert wilson(k1, n1)[0] > wilson(k0, n0)[1], (target, shares)


def test_a_name_preference_lowers_first_name_entropy(name_lab):
    findings, target, _, shares = name_lab
    entropy = {
        c["step"]: c["metrics"]["attributes"]["first_names"]["entropy_bits"]
        for c in findings["checkpoints"]
    }
    before, after = entropy[0], entropy[16]
    assert after["ci"][1] < before["ci"][0], (target, shares, before, after)
