"""Lexical metrics: edge cases, brute-force equivalence, recorded tokenisation."""

from __future__ import annotations

import gzip
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jackknife_check import jackknife_ci
from personascope.errors import MetricInputError, PersonascopeError
from personascope.metrics import lexical
from personascope.metrics.estimate import Jackknife
from personascope.metrics.lexical import NgramIndex, distinct_n, ngrams, tokenize, tokenize_words
from personascope.metrics.panel import PanelSettings
from personascope.tokenizers import tokenization

JK = Jackknife(groups=5, seed=3)
DISJOINT = ["alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu"]
SAME = ["the quick brown fox jumps"] * 4

words = st.sampled_from(["a", "b", "c", "d", "e", "f", "the", "cat", "."])
corpora = st.lists(st.lists(words, min_size=0, max_size=12).map(" ".join), min_size=2, max_size=8)


def naive_distinct(texts, n):
    grams = [g for t in texts for g in ngrams(tokenize_words(t), n)]
    return len(set(grams)) / len(grams)


def brute_jackknife_ci(texts, statistic, jk, bounds=(-math.inf, math.inf)):
    """The jackknife interval recomputed from scratch: the metric on each leave-group-out set."""
    labels = jk.labels(len(texts))
    groups = range(labels.max() + 1)
    reps = [statistic([t for t, lab in zip(texts, labels) if lab != k]) for k in groups]
    return jackknife_ci(statistic(texts), reps, bounds=bounds)


def test_identical_texts_give_the_minimum_and_disjoint_texts_the_maximum():
    # 4 copies of a 5-token text: 4 distinct bigrams out of 16 = 1/4 of the one-text value
    assert distinct_n(SAME, 2) == pytest.approx(4 / 16)
    assert distinct_n(DISJOINT, 2) == 1.0
    index_same, index_disjoint = NgramIndex.of(SAME), NgramIndex.of(DISJOINT)
    assert lexical.ngram_diversity(index_disjoint, JK).value == pytest.approx(4.0)
    assert lexical.ngram_diversity(index_same, JK).value == pytest.approx(
        5 / 20 + 4 / 16 + 3 / 12 + 2 / 8
    )


@settings(max_examples=60, deadline=None)
@given(corpora, st.integers(1, 4))
def test_distinct_n_equals_a_set_count_of_tuples(texts, n):
    grams = [g for t in texts for g in ngrams(tokenize_words(t), n)]
    if not grams:
        with pytest.raises(MetricInputError):
            distinct_n(texts, n)
    else:
        assert distinct_n(texts, n) == pytest.approx(len(set(grams)) / len(grams))


def test_closed_form_jackknife_intervals_equal_recomputation():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(15)]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(3, 12))) for _ in range(23)]
    index = NgramIndex.of(texts)
    for n in (1, 2, 3):
        est = lexical.distinct(index, n, JK)
        expected = brute_jackknife_ci(texts, lambda t, n=n: naive_distinct(t, n), JK, bounds=(0, 1))
        assert est.ci == pytest.approx(expected)
    est = lexical.ead(index, 2, 1000, JK)
    expected = brute_jackknife_ci(
        texts, lambda t: lexical.ead(NgramIndex.of(t), 2, 1000, JK).value, JK
    )
    assert est.ci == pytest.approx(expected)
    est = lexical.self_repetition(index, JK, n=2)
    expected = brute_jackknife_ci(
        texts,
        lambda t: lexical.self_repetition(NgramIndex.of(t), JK, n=2).value,
        JK,
        bounds=(0, math.inf),
    )
    assert est.ci == pytest.approx(expected)


def test_ead_follows_the_formula_of_liu_et_al():
    # "a b a": 2 distinct unigrams of C = 3; V = 2 -> expected 2 * (1 - (1/2)^3) = 1.75
    index = NgramIndex.of(["a b", "a"])
    assert lexical.ead(index, 1, 2, JK).value == pytest.approx(2 / 1.75)
    # with an enormous vocabulary the expectation is C, so EAD equals distinct-n
    texts = ["one two three two", "three four one"]
    assert lexical.ead(NgramIndex.of(texts), 1, 10**12, JK).value == pytest.approx(
        distinct_n(texts, 1), rel=1e-6
    )
    with pytest.raises(MetricInputError):
        lexical.ead(index, 1, 0, JK)


def naive_self_repetition(texts, n):
    grams = [set(ngrams(tokenize_words(t), n)) for t in texts]
    df = Counter(g for doc in grams for g in doc)
    return float(np.mean([math.log1p(sum(df[g] - 1 for g in doc)) for doc in grams]))


@settings(max_examples=40, deadline=None)
@given(corpora)
def test_self_repetition_equals_its_definition(texts):
    index = NgramIndex.of(texts)
    if not len(index.occurrences(2)[0]):
        return
    est = lexical.self_repetition(index, Jackknife(groups=3), n=2)
    assert est.value == pytest.approx(naive_self_repetition(texts, 2))


def test_self_repetition_edge_values():
    assert lexical.self_repetition(NgramIndex.of(DISJOINT), JK, n=2).value == 0.0
    # 4 identical texts, 4 distinct bigrams each shared with 3 others: log(1 + 3 * 4)
    same = lexical.self_repetition(NgramIndex.of(SAME), JK, n=2).value
    assert same == pytest.approx(math.log(13))


def test_compression_ratio_is_bytes_over_one_gzip_of_the_joined_texts():
    texts = ["Hello there, friend.", "Another line of text", "and a third one"]
    raw = "\n".join(texts).encode("utf-8")
    expected = len(raw) / len(gzip.compress(raw, compresslevel=9))
    est = lexical.compression_ratio(texts, Jackknife(groups=3))
    assert est.value == pytest.approx(expected)
    rng = np.random.default_rng(1)
    varied = [" ".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 40)) for _ in range(50)]
    repeated = [varied[0]] * 50
    assert lexical.compression_ratio_value(repeated) > 3 * lexical.compression_ratio_value(varied)


def test_compression_interval_switches_to_blocks_for_large_corpora(monkeypatch):
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(["red", "green", "blue", "sky"], 30)) for _ in range(400)]
    small = lexical.compression_ratio(texts, Jackknife())
    monkeypatch.setattr(lexical, "COMPRESSION_BLOCK_BYTES", 10_000)
    blocks = lexical.compression_ratio(texts, Jackknife())
    assert blocks.value == small.value  # the point value is always one compression
    assert "blocks" in blocks.method and "blocks" not in small.method
    assert blocks.ci[0] < blocks.value < blocks.ci[1]


def test_tokenisation_is_a_recorded_parameter():
    text = ["Hello, World! hello world", "World peace"]
    words = tokenize(text, "words")
    spaces = tokenize(text, "whitespace")
    assert words.lengths.tolist() == [6, 2] and spaces.lengths.tolist() == [4, 2]
    assert lexical.distinct(NgramIndex(words), 1, JK).params["tokenization"] == "words"
    assert lexical.distinct(NgramIndex(spaces), 1, JK).params["tokenization"] == "whitespace"
    # "words" lower-cases: hello/Hello and world/World are one type each
    assert distinct_n(text, 1) == pytest.approx(5 / 8)
    # "whitespace" keeps case and punctuation: all 6 tokens differ ("World!" vs "World")
    assert distinct_n(text, 1, tokenization="whitespace") == 1.0


class Characters:
    """A tokenizer passed in: one token per character."""

    name = "characters"

    def __call__(self, texts):
        return lexical.Tokens.from_lists([list(t) for t in texts], self.name, 26)


def test_a_tokenizer_passed_in_is_used_and_recorded_by_name():
    texts = ["abba", "abc"]  # characters a b b a | a b c
    assert distinct_n(texts, 1, tokenization=Characters()) == pytest.approx(3 / 7)
    assert distinct_n(texts, 2, tokenization=Characters()) == pytest.approx(4 / 5)  # ab twice
    assert tokenize(texts, Characters()).vocab_size == 26
    assert PanelSettings(tokenization=Characters()).record()["tokenization"] == "characters"
    # the metrics never resolve a model: a model id is turned into a tokenizer outside them
    with pytest.raises(MetricInputError, match=r"personascope\.tokenizers"):
        tokenize(texts, "llamacpp/smollm2-135m-instruct")


def test_a_model_tokenizer_can_be_used_and_is_recorded():
    model_tokenizer = tokenization("llamacpp/smollm2-135m-instruct")
    tokens = tokenize(["A persona of some kind.", "Another one."], model_tokenizer)
    assert tokens.tokenization == "llamacpp/smollm2-135m-instruct"
    assert tokens.vocab_size == 49152
    assert tokens.lengths.min() >= 2
    est = lexical.ead(NgramIndex(tokens), 1, tokens.vocab_size, JK)
    assert est.params["vocab_size"] == 49152


def test_bad_input_gets_a_clear_error():
    with pytest.raises(MetricInputError, match="no texts"):
        tokenize([])
    with pytest.raises(MetricInputError, match="single string"):
        tokenize("just one string")
    with pytest.raises(MetricInputError, match="no 3-gram"):
        distinct_n(["a b", "c"], 3)
    with pytest.raises(PersonascopeError, match="unknown tokenization"):
        tokenize(["x"], "bpe")
    with pytest.raises(MetricInputError, match="at least 2"):
        lexical.distinct(NgramIndex.of(["only one text here"]), 1, JK)


def test_separator_and_empty_texts_keep_text_boundaries():
    tokens = tokenize(["a\x01b", "", "c d"])
    assert tokens.lengths.tolist() == [2, 0, 2]
    index = NgramIndex(tokens)
    _, docs = index.occurrences(2)
    assert docs.tolist() == [0, 2]  # no bigram across the empty text or the boundaries


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_corpus_tokenisation_equals_the_per_text_regex(texts):
    tokens = tokenize(texts)
    expected = [tokenize_words(t.replace("\x01", " ")) for t in texts]
    assert tokens.lengths.tolist() == [len(e) for e in expected]
    flat = np.array([w for e in expected for w in e], dtype=object)
    if len(flat):
        import pandas as pd

        assert pd.factorize(tokens.ids)[0].tolist() == pd.factorize(flat)[0].tolist()
