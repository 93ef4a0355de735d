"""Rewards, preference pairs and the length confound of the collapse lab (no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from personascope.errors import LabError
from personascope.lab.config import LabConfig
from personascope.lab.pairs import (
    collect_samples,
    length_confound,
    make_pairs,
    require_pairs,
    sampler,
    words,
)
from personascope.lab.rewards import (
    REWARDS,
    Sample,
    get_reward,
    polish,
    register_reward,
    score,
    typicality,
)
from personascope.metrics.estimate import Jackknife
from personascope.models.base import GenerationRequest, GenerationResult, TextPrompt


def sample(text: str, seed: int = 0, frame: str = "f", logprobs=(-1.0,)) -> Sample:
    return Sample(frame, seed, text, tuple(logprobs))


# -- rewards -----------------------------------------------------------------------------


def test_typicality_is_the_mean_token_logprob():
    assert typicality(sample(" Ann", logprobs=(-1.0, -2.0, -4.5))) == pytest.approx(-2.5)


def test_polish_follows_its_formula():
    # kind, warm: agreeableness +1 (weight 2); organized: conscientiousness +1 (weight 1)
    nice = sample(" Ann Lee\nAge: 30\nOccupation: nurse\nPersonality: kind, warm, organized")
    assert polish(nice) == pytest.approx((2 + 2 + 1) / (1 + 5))
    # rude, cold: agreeableness -1 (weight 2); anxious: high neuroticism, undesirable
    harsh = sample(" Bo\nAge: 40\nOccupation: clerk\nPersonality: rude, cold, anxious")
    assert polish(harsh) == pytest.approx(-(2 + 2 + 1) / (1 + 5))
    # relaxed is the desirable (low) pole of neuroticism; a negation flips a marker
    assert polish(sample(" C\nPersonality: relaxed")) == pytest.approx(1 / 2)
    assert polish(sample(" C\nPersonality: not kind")) == pytest.approx(-2 / 3)
    assert polish(sample(" C\nPersonality: tall, blue")) == 0.0


def test_unknown_reward_is_one_line_listing_the_known_ones():
    with pytest.raises(LabError) as caught:
        get_reward("niceness")
    message = str(caught.value)
    assert "\n" not in message
    assert "'niceness'" in message and "polish" in message and "typicality" in message
    with pytest.raises(LabError, match="niceness"):
        LabConfig(reward="niceness")


def test_a_reward_that_raises_or_returns_nan_names_the_reward_and_the_sample():
    def broken(s: Sample) -> float:
        raise KeyError("no such field\nsecond line")

    register_reward("broken", broken, "raises")
    register_reward("nan", lambda s: float("nan") if s.seed == 7 else 0.0, "NaN on seed 7")
    try:
        samples = [sample(" A", seed=3, frame="bus-station"), sample(" B", seed=7)]
        with pytest.raises(LabError) as caught:
            score(get_reward("broken"), samples)
        message = str(caught.value)
        assert "\n" not in message
        assert "'broken'" in message and "'bus-station'" in message and "seed 3" in message
        assert "KeyError" in message
        with pytest.raises(LabError, match=r"'nan' returned nan for the sample of .*seed 7"):
            score(get_reward("nan"), samples)
        # an empty completion has no typicality: the same one-line error, not a NaN
        with pytest.raises(LabError, match=r"typicality.*no tokens"):
            score(get_reward("typicality"), [sample("", logprobs=())])
    finally:
        REWARDS.pop("broken")
        REWARDS.pop("nan")


# -- pairs -----------------------------------------------------------------------------------


def test_extremes_pair_the_best_with_the_worst_within_each_frame():
    texts = [" a", " b", " c", " d", " e"]
    samples = [sample(t, seed=i, frame="one") for i, t in enumerate(texts)]
    samples += [sample(" x", seed=0, frame="two"), sample(" y", seed=1, frame="two")]
    rewards = np.array([0.1, 0.9, 0.5, 0.3, 0.7, 2.0, 2.0])
    pairs = make_pairs(samples, rewards)
    got = [(p.chosen.text, p.rejected.text) for p in pairs]
    # frame one: best b (0.9) with worst a (0.1), e (0.7) with d (0.3); c is left over;
    # frame two: a tie makes no pair
    assert got == [(" b", " a"), (" e", " d")]
    assert all(p.chosen_reward > p.rejected_reward for p in pairs)


def _confounded() -> tuple[list[Sample], np.ndarray]:
    """Shorter texts score higher, as per-token typicality tends to."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 40, size=40)
    samples = [sample(" w" * int(n), seed=i) for i, n in enumerate(lengths)]
    rewards = -lengths / 10 + rng.normal(0, 0.5, size=len(lengths))
    return samples, rewards


def test_length_matched_pairs_remove_the_length_difference_that_extremes_carry():
    samples, rewards = _confounded()
    jackknife = Jackknife(seed=0)
    extremes = make_pairs(samples, rewards, "extremes")
    matched = make_pairs(samples, rewards, "length-matched", tolerance=2)
    assert len(extremes) == 20 and 5 <= len(matched) <= 20
    assert all(abs(words(p.chosen.text) - words(p.rejected.text)) <= 2 for p in matched)
    assert all(p.chosen_reward > p.rejected_reward for p in matched)
    used = [p.chosen.seed for p in matched] + [p.rejected.seed for p in matched]
    assert len(used) == len(set(used))  # each sample in at most one pair

    plain = length_confound(samples, rewards, extremes, jackknife)
    rho = plain["reward_length_spearman"]
    assert rho["value"] < -0.5 and rho["high"] < 0
    diff = plain["difference_words"]
    assert diff["value"] < -10 and diff["high"] < 0  # chosen texts much shorter
    assert plain["chosen_words"]["value"] < plain["rejected_words"]["value"]
    controlled = length_confound(samples, rewards, matched, jackknife)
    assert abs(controlled["difference_words"]["value"]) <= 2


def test_too_few_pairs_is_one_line_with_the_counts():
    counts = {"generated": 6, "truncated": 1, "empty": 0, "near_duplicates": 2, "distinct": 3}
    with pytest.raises(LabError) as caught:
        require_pairs([], counts, 6, 4, "length-matched")
    message = str(caught.value)
    assert "\n" not in message
    assert "too few distinct samples" in message and "0 pairs from 3 distinct" in message
    assert "--samples" in message and "--length-tolerance" in message


def test_collect_samples_drops_truncated_empty_and_near_duplicate_completions():
    prompt = TextPrompt("Profile 2\nName:")
    texts = [
        (" Ann Lee\nAge: 30\nOccupation: nurse", "stop"),
        (" Ann Lee\nAge: 30\nOccupation: nurse", "stop"),  # exact duplicate
        (" Bob Ray\nAge: 41\nOccupation: welder and then it goes on", "length"),
        ("  ", "stop"),
        (" Cleo Park\nAge: 55\nOccupation: judge", "stop"),
    ]
    requests = [GenerationRequest(prompt, seed=i) for i in range(len(texts))]
    results = [
        GenerationResult(t, (1,), (-0.5,), reason, 3)  # type: ignore[arg-type]
        for t, reason in texts
    ]
    samples, counts = collect_samples(requests, results, {prompt.text: "f"}, 0.9)
    assert [s.seed for s in samples] == [0, 4]
    assert counts == {
        "generated": 5,
        "truncated": 1,
        "empty": 1,
        "near_duplicates": 1,
        "distinct": 2,
    }


def test_config_checks_its_settings():
    with pytest.raises(LabError, match="multiple of --every"):
        LabConfig(steps=10, every=4)
    with pytest.raises(LabError, match="embedded base model"):
        LabConfig(base="smollm2-135m-instruct")
    with pytest.raises(LabError, match="both a training and a held-out"):
        LabConfig(heldout_frames=("bus-station", "food-bank"))
    quick = LabConfig.preset(True)
    assert quick.schedule == (0, 8, 16) and quick.name_tag == "gemma3-270m-dpo-quick"
    assert LabConfig().schedule == (0, 16, 32, 48)
    polish_run = LabConfig(reward="polish", pairing="length-matched")
    assert polish_run.checkpoint_name(32) == "gemma3-270m-polish-length-matched-dpo-32"
    assert math.isclose(LabConfig().learning_rate, 2e-4)
    with pytest.raises(LabError, match="names-only must be true or false"):
        LabConfig(names_only="yes")  # type: ignore[arg-type]
    names = LabConfig(reward="polish", names_only=True)
    assert names.checkpoint_name(8) == "gemma3-270m-polish-names-dpo-8"


def test_names_only_sampling_ends_with_the_name_line():
    assert sampler(1.0, 64).stop == ("\n\n", "\nProfile")
    assert sampler(1.0, 64, names_only=True).stop == ("\n",)
