"""Self-BLEU and ROUGE-L homogenization against plain re-implementations of the papers."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Jackknife
from personascope.metrics.lexical import NgramIndex, ngrams, tokenize_words
from personascope.metrics.overlap import (
    lcs_length,
    pairwise_mean,
    rouge_l_homogenization,
    rouge_l_matrix,
    self_bleu,
    self_bleu_scores,
)

JK = Jackknife(groups=4, seed=1)


def reference_bleu(hypothesis, references, max_n=4, eps=0.1):
    """Sentence BLEU, written out from Papineni et al. (2002) with Chen & Cherry method 1."""
    if not hypothesis:
        return 0.0
    log_p = 0.0
    for n in range(1, max_n + 1):
        counts = Counter(ngrams(hypothesis, n))
        best = Counter()
        for ref in references:
            for gram, count in Counter(ngrams(ref, n)).items():
                best[gram] = max(best[gram], count)
        matched = sum(min(c, best[g]) for g, c in counts.items())
        if n == 1 and matched == 0:
            return 0.0
        total = max(sum(counts.values()), 1)
        log_p += math.log((matched if matched else eps) / total) / max_n
    closest = min((abs(len(r) - len(hypothesis)), len(r)) for r in references)[1]
    penalty = 1.0 if len(hypothesis) > closest else math.exp(1 - closest / len(hypothesis))
    return penalty * math.exp(log_p)


def lcs_table(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


def test_self_bleu_matches_the_written_out_definition():
    rng = np.random.default_rng(4)
    vocab = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "."]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(1, 14))) for _ in range(25)]
    tokens = [tokenize_words(t) for t in texts]
    expected = [reference_bleu(h, tokens[:i] + tokens[i + 1 :]) for i, h in enumerate(tokens)]
    index = NgramIndex.of(texts)
    scores = self_bleu_scores(index, np.ones(len(texts), dtype=bool))
    assert scores == pytest.approx(expected)
    assert self_bleu(index, JK).value == pytest.approx(np.mean(expected))


def test_self_bleu_edges():
    same = ["one two three four five six"] * 5
    disjoint = ["one two three four", "five six seven eight", "nine ten eleven twelve"]
    assert self_bleu(NgramIndex.of(same), JK).value == pytest.approx(1.0)
    assert self_bleu(NgramIndex.of(disjoint), JK).value == 0.0
    with pytest.raises(MetricInputError):
        self_bleu(NgramIndex.of(["a lonely text"]), JK)


def test_beyond_the_limit_self_bleu_uses_a_recorded_seeded_subset():
    rng = np.random.default_rng(5)
    vocab = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.choice(vocab, size=10)) for _ in range(60)]
    index = NgramIndex.of(texts)
    first = self_bleu(index, JK, limit=20)
    again = self_bleu(index, JK, limit=20)
    assert first.n == 20 and "subset of 20 of 60" in first.method
    assert first.value == again.value and first.ci == again.ci
    other_seed = self_bleu(index, Jackknife(groups=4, seed=2), limit=20)
    assert other_seed.value != first.value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=40), st.lists(st.integers(0, 4), max_size=40))
def test_bit_parallel_lcs_equals_dynamic_programming(a, b):
    assert lcs_length(a, b) == lcs_table(a, b)


def test_rouge_l_matrix_and_homogenization():
    texts = ["a b c d", "a c d e", "x y z", "a b c d"]
    index = NgramIndex.of(texts)
    matrix = rouge_l_matrix(index.tokens)
    tokens = [t.split() for t in texts]
    for i in range(4):
        for j in range(4):
            if i != j:
                expected = 2 * lcs_table(tokens[i], tokens[j]) / (len(tokens[i]) + len(tokens[j]))
                assert matrix[i, j] == pytest.approx(expected)
    pairs = [matrix[i, j] for i in range(4) for j in range(i + 1, 4)]
    assert rouge_l_homogenization(index, JK).value == pytest.approx(np.mean(pairs))
    assert rouge_l_homogenization(NgramIndex.of(["p q r"] * 3), JK).value == 1.0
    assert rouge_l_homogenization(NgramIndex.of(["p q", "r s", "t u"]), JK).value == 0.0


def test_pairwise_leave_group_out_values_equal_recomputation():
    rng = np.random.default_rng(6)
    raw = rng.random((11, 11))
    matrix = (raw + raw.T) / 2
    labels = Jackknife(groups=4).labels(11)
    value, replicates = pairwise_mean(matrix, labels)
    upper = np.triu_indices(11, 1)
    assert value == pytest.approx(matrix[upper].mean())
    for k in range(4):
        keep = labels != k
        sub = matrix[np.ix_(keep, keep)]
        assert replicates[k] == pytest.approx(sub[np.triu_indices(keep.sum(), 1)].mean())


def test_two_texts_give_a_value_without_an_interval():
    est = rouge_l_homogenization(NgramIndex.of(["a b c", "a b d"]), JK)
    assert est.value == pytest.approx(2 / 3)
    assert est.ci is None and "no interval" in est.note
