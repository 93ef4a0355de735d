"""The seeded sampler: filters keep exactly the tokens they should, draws follow the
renormalised distribution, and a seed fixes the draw."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from personascope.models.base import SamplerSettings
from personascope.models.sampling import (
    _candidates,
    cut_at_stop,
    entropy,
    first_stop,
    log_softmax,
    sample_token,
)


def logp(probs: list[float]) -> np.ndarray:
    return np.log(np.asarray(probs, dtype=np.float64))


def test_log_softmax_normalises_and_is_shift_invariant():
    z = np.array([1000.0, 999.0, 0.0])
    lp = log_softmax(z)
    assert np.isclose(np.exp(lp).sum(), 1.0)
    assert np.allclose(lp, log_softmax(z - 500.0))


def test_entropy_of_uniform_and_point_mass():
    assert entropy(logp([0.25] * 4)) == pytest.approx(np.log(4))
    assert entropy(log_softmax(np.array([0.0, -1e4, -1e4]))) == pytest.approx(0.0, abs=1e-9)


def test_temperature_zero_is_greedy():
    dist = logp([0.1, 0.6, 0.3])
    rng = np.random.default_rng(0)
    draws = {sample_token(dist, SamplerSettings(temperature=0.0), rng) for _ in range(20)}
    assert draws == {1}


def test_top_k_keeps_the_k_most_probable():
    dist = logp([0.05, 0.4, 0.1, 0.3, 0.15])
    kept = set(_candidates(dist, SamplerSettings(top_k=3)).tolist())
    assert kept == {1, 3, 4}


def test_top_p_keeps_the_smallest_set_reaching_p():
    dist = logp([0.05, 0.4, 0.1, 0.3, 0.15])
    assert set(_candidates(dist, SamplerSettings(top_p=0.7)).tolist()) == {1, 3}
    assert set(_candidates(dist, SamplerSettings(top_p=0.71)).tolist()) == {1, 3, 4}


def test_min_p_keeps_tokens_above_a_fraction_of_the_top():
    dist = logp([0.05, 0.4, 0.1, 0.3, 0.15])
    kept = set(_candidates(dist, SamplerSettings(min_p=0.3)).tolist())
    assert kept == {1, 3, 4}  # 0.15 >= 0.3 * 0.4 = 0.12; 0.1 is not


def test_top_p_on_a_flat_large_vocabulary_falls_back_to_a_full_sort():
    vocab = 50_000
    dist = log_softmax(np.zeros(vocab))
    kept = _candidates(dist, SamplerSettings(top_p=0.5))
    assert len(kept) == pytest.approx(vocab / 2, abs=1)


def test_draws_follow_the_filtered_tempered_distribution():
    probs = np.array([0.05, 0.4, 0.1, 0.3, 0.15])
    settings = SamplerSettings(top_k=3, temperature=0.5)
    rng = np.random.default_rng(123)
    draws = np.array([sample_token(np.log(probs), settings, rng) for _ in range(6000)])
    kept = np.array([1, 3, 4])
    weights = probs[kept] ** (1 / 0.5)
    expected = weights / weights.sum() * len(draws)
    observed = np.array([(draws == k).sum() for k in kept])
    assert set(np.unique(draws)) <= set(kept.tolist())
    assert stats.chisquare(observed, expected).pvalue > 0.001


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_an_unfiltered_draw_is_the_inverse_cdf_of_the_tempered_distribution(temperature):
    """The no-filter path (no gather of the vocabulary) against the formula, draw by draw:
    position = #{i : F_i <= u F_n}, F the cumulative sum of exp(z / T - max z / T)."""
    dist = log_softmax(np.random.default_rng(9).normal(scale=3.0, size=5000))
    settings = SamplerSettings(temperature=temperature)
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(200):
        cumulative = np.cumsum(np.exp(dist / temperature - (dist / temperature).max()))
        expected = int(np.searchsorted(cumulative, ref.random() * cumulative[-1], side="right"))
        assert sample_token(dist, settings, rng) == expected


def test_entropy_counts_impossible_tokens_as_zero():
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([0.5, 0.5, 0.0]))  # log 0 = -inf
    assert entropy(lp) == pytest.approx(np.log(2))


def test_a_seed_fixes_the_draws():
    dist = log_softmax(np.random.default_rng(5).normal(size=1000))
    settings = SamplerSettings(top_p=0.9, min_p=0.01)

    def draw(seed: int) -> list[int]:
        rng = np.random.default_rng(seed)
        return [sample_token(dist, settings, rng) for _ in range(50)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_first_stop_finds_the_earliest_stop_string():
    assert first_stop("abc\n\nName: x", ("Name:", "\n\n")) == 3
    assert first_stop("abc", ("x",)) == -1
    assert first_stop("abc", ()) == -1


@pytest.mark.parametrize(
    "kwargs",
    [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": -2}, {"min_p": 1.0}],
)
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        SamplerSettings(**kwargs)


def test_cut_at_stop_keeps_the_tokens_before_the_stop_string():
    pieces = {1: "Hel", 2: "lo", 3: " wor", 4: "ld"}

    def decode(tokens: list[int]) -> str:
        return "".join(pieces[t] for t in tokens)

    # " wor" straddles the stop string "o w": the text keeps "Hell", the tokens [1]
    assert cut_at_stop("Hello world", [1, 2, 3, 4], ("o w", "zz"), decode) == ("Hell", 1)
    assert cut_at_stop("Hello world", [1, 2, 3, 4], (" w",), decode) == ("Hello", 2)
    assert cut_at_stop("Hello world", [1, 2, 3, 4], ("zz",), decode) is None


# -- the device sampler (models/sampling_torch.py) against this reference ------------------

# twelve tokens with planted probabilities, shuffled so that rank order is not index order
PLANTED = np.array([0.22, 0.18, 0.14, 0.11, 0.09, 0.08, 0.06, 0.05, 0.03, 0.02, 0.015, 0.005])
SHUFFLE = np.array([7, 2, 11, 0, 5, 9, 3, 10, 1, 6, 8, 4])  # token SHUFFLE[r] has rank r
PROBS = np.empty(12)
PROBS[SHUFFLE] = PLANTED
# settings -> the ranks that survive, worked out by hand from PLANTED
CASES = [
    (SamplerSettings(top_k=4, temperature=0.7), range(4)),
    # mass before rank 5 is 0.74 < 0.8, before rank 6 it is 0.82
    (SamplerSettings(top_p=0.8, temperature=1.3), range(6)),
    # p >= 0.3 * 0.22 = 0.066
    (SamplerSettings(min_p=0.3), range(6)),
    (SamplerSettings(top_k=5, top_p=0.9, min_p=0.1, temperature=0.8), range(5)),
    (SamplerSettings(temperature=1.0), range(12)),
]


def _torch_draws(settings: SamplerSettings, n: int, first_seed: int = 0) -> np.ndarray:
    import torch

    from personascope.models.sampling_torch import draw, row_generator

    logits = torch.tensor(np.log(PROBS) + 3.0).repeat(n, 1)  # logits: any shift
    drawn = draw(logits, [settings] * n, [row_generator(first_seed + s) for s in range(n)])
    return np.array(drawn.tokens)


@pytest.mark.parametrize("settings,ranks", CASES, ids=["top_k", "top_p", "min_p", "all", "none"])
def test_device_sampler_draws_the_reference_distribution(settings, ranks):
    """Both samplers keep exactly the planted survivors and draw them with probabilities
    p_i^(1/T) / sum_j p_j^(1/T); the tokens themselves differ (other random streams)."""
    n = 3000
    kept = SHUFFLE[list(ranks)]
    weights = PROBS[kept] ** (1 / settings.temperature)
    expected = weights / weights.sum() * n
    rng = np.random.default_rng(11)
    reference = np.array([sample_token(np.log(PROBS), settings, rng) for _ in range(n)])
    device = _torch_draws(settings, n)
    counts = {}
    for name, draws in (("reference", reference), ("device", device)):
        assert set(draws.tolist()) == set(kept.tolist()), name
        counts[name] = np.array([(draws == k).sum() for k in kept])
        assert stats.chisquare(counts[name], expected).pvalue > 0.001, name
    table = np.vstack([counts["reference"], counts["device"]])
    assert stats.chi2_contingency(table).pvalue > 0.001


def test_device_sampler_rows_follow_their_own_settings_and_seeds():
    import torch

    from personascope.models.sampling_torch import draw, row_generator

    logits = torch.tensor(np.log(PROBS)).repeat(4, 1)
    settings = [
        SamplerSettings(temperature=0.0),
        SamplerSettings(top_k=1),
        SamplerSettings(top_k=2, temperature=5.0),
        SamplerSettings(temperature=1.0),
    ]
    batch = draw(logits, settings, [row_generator(s) for s in (1, 2, 3, 4)], want_entropy=True)
    assert batch.tokens[:2] == [SHUFFLE[0], SHUFFLE[0]]  # greedy; top-1
    assert batch.tokens[2] in SHUFFLE[:2]
    # a row's draw depends on its seed and settings only, not on the rest of the batch
    for row in range(4):
        alone = draw(logits[:1], settings[row : row + 1], [row_generator(row + 1)])
        assert alone.tokens == batch.tokens[row : row + 1]
    # log-probabilities of the drawn tokens and entropies of the untempered distribution
    assert batch.logprobs == pytest.approx(np.log(PROBS[batch.tokens]).tolist(), abs=1e-12)
    planted_entropy = float(-(PLANTED * np.log(PLANTED)).sum())
    assert batch.entropies == pytest.approx([planted_entropy] * 4, abs=1e-12)
    assert _torch_draws(settings[3], 50, 7).tolist() == _torch_draws(settings[3], 50, 7).tolist()
    assert _torch_draws(settings[3], 50, 7).tolist() != _torch_draws(settings[3], 50, 8).tolist()
