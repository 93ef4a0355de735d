"""Goldberg's 100 unipolar markers as a lexicon, and the words chosen for Big Five targets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personascope.errors import InputFileError
from personascope.instruments.adjectives import (
    MARKERS_FILE,
    find_markers,
    lexicon_scores,
    load_markers,
    markers_for,
)
from personascope.personas import bigfive

# psychTools::bfi.adjectives.keys (W. Revelle), which numbers the same 100 adjectives
# V1-V100 in alphabetical order: an independent record of each word's domain and key.
PSYCHTOOLS_KEYS = {
    "A": "2 -11 14 15 -19 -21 29 -31 32 48 55 -61 -63 69 76 -78 -79 -90 -94 99",
    "C": "9 -10 13 -20 22 -30 -37 -38 -39 50 -51 53 56 57 -67 68 70 73 -82 -95",
    "E": "1 5 -6 7 17 24 26 -40 -45 -58 -60 -65 71 -74 -77 92 -96 97 98 -100",
    "N": "3 23 25 27 28 33 -36 42 46 47 49 52 -59 62 72 75 -81 -83 -84 -85",
    "O": "4 8 12 16 18 34 -35 41 43 44 54 -64 -66 -80 -86 -87 -88 -89 -91 -93",
}


def test_the_100_markers_agree_with_an_independent_keying():
    markers = load_markers()
    assert len(markers) == 100
    assert [m.word for m in markers] == sorted(m.word for m in markers)
    expected = {}
    for domain, keys in PSYCHTOOLS_KEYS.items():
        for key in keys.split():
            expected[abs(int(key))] = (domain, -1 if key.startswith("-") else 1)
    assert {m.number: (m.domain, m.key) for m in markers} == expected
    assert len(markers_for("N", 1)) == 14 and len(markers_for("N", -1)) == 6  # Goldberg's split
    assert "relaxed" in markers_for("N", -1) and "talkative" in markers_for("E", 1)


def test_scores_and_negation():
    scores = lexicon_scores("She is talkative and bold, but never rude. Also shy.")
    assert scores["E"] == pytest.approx((1 + 1 - 1) / 3)
    assert scores["A"] == 1.0  # "never rude" flips a low-pole marker
    assert scores["O"] is None  # no evidence is not a neutral score
    assert lexicon_scores("He isn't anxious; he is relaxed.")["N"] == -1.0
    assert lexicon_scores("High-strung and extroverted.") == {
        "O": None, "C": None, "E": 1.0, "A": None, "N": 1.0
    }  # fmt: skip
    hits = find_markers("Not shy. Quiet.")
    assert [(h.word, h.negated) for h in hits] == [("shy", True), ("quiet", False)]


def test_a_broken_lexicon_file_names_the_entry(tmp_path):
    data = json.loads(MARKERS_FILE.read_text())
    data["markers"][3]["domain"] = "X"
    path = tmp_path / "lex.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputFileError, match=r"markers\[3\]\.domain: 'X'"):
        load_markers(path)


def test_profile_words_follow_the_distance_from_the_mean():
    rng = np.random.default_rng(0)
    words = bigfive.describe_profile({"O": 50, "C": 72, "E": 36, "A": 56, "N": 44}, rng)
    assert len(words) == 4  # O is within half an SD: no word
    c, e, a, n = words
    assert c.startswith("extremely ") and c.split()[1] in markers_for("C", 1)
    assert e.startswith("very ") and e.split()[1] in markers_for("E", -1)
    assert a.startswith("somewhat ") and a.split()[1] in markers_for("A", 1)
    assert n.startswith("somewhat ") and n.split()[1] in markers_for("N", -1)
    assert [bigfive.level(t) for t in (44.9, 45, 55, 55.1)] == ["low", "average", "average", "high"]
