"""Exact and near-duplicate removal; the first of a group is kept and the rest counted."""

from __future__ import annotations

import pytest

from personascope.personas.dedup import deduplicate, shingles

BASE = (
    "Maria Lopez is a 34-year-old nurse from Ohio who works night shifts at a children's "
    "hospital, paints landscapes on her days off and volunteers at the local animal shelter."
)


def test_exact_duplicates_ignore_case_and_spacing():
    result = deduplicate(
        [BASE, "  " + BASE.upper() + " ", "Something else entirely, said briefly."]
    )
    assert result.kept == (0, 2)
    assert [(d.index, d.duplicate_of, d.kind) for d in result.dropped] == [(1, 0, "exact")]


def test_near_duplicates_above_the_threshold_only():
    one_word = BASE.replace("landscapes", "portraits")
    rewritten = (
        "Tom Baker is a retired welder from Leeds who keeps bees, argues about football and "
        "cooks curry for his grandchildren every Sunday."
    )
    result = deduplicate([BASE, one_word, rewritten], threshold=0.7)
    assert result.kept == (0, 2)
    (dropped,) = result.dropped
    assert dropped.kind == "near" and dropped.duplicate_of == 0
    exact = len(shingles(BASE) & shingles(one_word)) / len(shingles(BASE) | shingles(one_word))
    assert dropped.similarity == pytest.approx(exact, abs=0.12)  # MinHash estimate, 128 perms
    assert deduplicate([BASE, one_word], threshold=0.95).kept == (0, 1)
    summary = result.summary()
    assert (
        summary["n_in"],
        summary["n_kept"],
        summary["dropped_near"],
        summary["dropped_exact"],
    ) == (3, 2, 1, 0)


def test_all_distinct_texts_are_kept_and_bad_thresholds_refused():
    texts = [f"Person number {i} likes {w} and lives in {c}." for i, (w, c) in enumerate(
        [("tea", "Oslo"), ("chess", "Lima"), ("jazz", "Pune"), ("kites", "Cork")]
    )]  # fmt: skip
    assert deduplicate(texts).kept == (0, 1, 2, 3)
    assert deduplicate([]).kept == ()
    with pytest.raises(ValueError, match="threshold"):
        deduplicate(texts, threshold=0)
