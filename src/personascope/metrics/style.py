"""Style features of one text: how formal, how complex, how personal, how excited.

Part-of-speech tags are spaCy ``en_core_web_sm``'s Penn Treebank tags
(:func:`personascope.metrics.syntactic.tagged`). *Words* are tokens with a letter or digit
(punctuation is not a word); *sentences* are runs ending in ``.``, ``!``, ``?`` or a line
break (at least one per non-empty text). Every feature of a text with no word is
undefined (NaN); the callers count such texts.

=================  =======================================================================
feature            formula and source
=================  =======================================================================
formality          F = (noun + adjective + preposition + article - pronoun - verb - adverb
                   - interjection + 100) / 2, each a percentage of the words (Heylighen &
                   Dewaele 2002, "Variation in the contextuality of language", Foundations
                   of Science 7). Tags: NN* ; JJ* ; IN ; DT whose word is a/an/the ; PRP,
                   PRP$, WP, WP$ ; VB*, MD ; RB*, WRB ; UH.
fk_grade           Flesch-Kincaid grade = 0.39 words/sentences + 11.8 syllables/words -
                   15.59 (Kincaid et al. 1975); syllables by vowel groups (a final silent
                   e dropped, at least one per word).
word_length        mean characters per word.
sentence_length    mean words per sentence.
contractions       contracted forms (n't, 're, 've, 'll, 'd, 'm; 's after a pronoun or
                   there/here/what/that/let) per word (Biber 1988, dimension 1).
first_person       I, me, my, mine, myself, we, us, our, ours, ourselves per word
                   (Biber 1988; Pennebaker's LIWC "i" + "we").
second_person      you, your, yours, yourself, yourselves (and texting u, ur) per word.
lexical_density    content words (NN*, VB* but MD, JJ*, RB*) / words (Ure 1971; Halliday
                   1985).
exclamations       "!" per sentence.
questions          "?" per sentence.
=================  =======================================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

FEATURES: tuple[str, ...] = (
    "formality",
    "fk_grade",
    "word_length",
    "sentence_length",
    "contractions",
    "first_person",
    "second_person",
    "lexical_density",
    "exclamations",
    "questions",
)
ARTICLES = frozenset({"a", "an", "the"})
FIRST_PERSON = frozenset(
    ["i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"]
)
SECOND_PERSON = frozenset(["you", "your", "yours", "yourself", "yourselves", "u", "ur"])
_CONTRACTION = re.compile(
    r"\b\w+(?:n['’]t|['’](?:re|ve|ll|d|m))\b"
    r"|\b(?:it|that|he|she|what|there|here|who|let|where|how)['’]s\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[.!?]+|\n+")
_VOWELS = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"\w", re.UNICODE)


def syllables(word: str) -> int:
    """Vowel groups of ``word`` (a final silent e dropped), at least 1."""
    w = word.lower()
    groups = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(groups, 1)


def sentence_count(text: str) -> int:
    """Sentences: non-empty runs ending in . ! ? or a line break (>= 1 for any text)."""
    pieces = [p for p in _SENTENCE.split(text) if _WORD.search(p)]
    return max(len(pieces), 1)


def features(text: str, tags: Sequence[tuple[str, str]]) -> dict[str, float]:
    """The style features of ``text`` (module docstring) from its tagged tokens."""
    words = [(w, t) for w, t in tags if _WORD.search(w)]
    n = len(words)
    if n == 0:
        return dict.fromkeys(FEATURES, math.nan)
    lower = [w.lower() for w, _ in words]
    sentences = sentence_count(text)

    def share(test: object) -> float:
        return 100.0 * sum(1 for w, t in words if test(w, t)) / n  # type: ignore[operator]

    nouns = share(lambda w, t: t.startswith("NN"))
    adjectives = share(lambda w, t: t.startswith("JJ"))
    prepositions = share(lambda w, t: t == "IN")
    articles = share(lambda w, t: t == "DT" and w.lower() in ARTICLES)
    pronouns = share(lambda w, t: t in ("PRP", "PRP$", "WP", "WP$"))
    verbs = share(lambda w, t: t.startswith("VB") or t == "MD")
    adverbs = share(lambda w, t: t.startswith("RB") or t == "WRB")
    interjections = share(lambda w, t: t == "UH")
    content = sum(
        1
        for _, t in words
        if t.startswith(("NN", "JJ", "RB")) or (t.startswith("VB") and t != "MD")
    )
    return {
        "formality": (
            nouns + adjectives + prepositions + articles
            - pronouns - verbs - adverbs - interjections + 100.0
        ) / 2.0,
        "fk_grade": 0.39 * n / sentences + 11.8 * sum(syllables(w) for w in lower) / n - 15.59,
        "word_length": float(np.mean([len(w) for w, _ in words])),
        "sentence_length": n / sentences,
        "contractions": len(_CONTRACTION.findall(text)) / n,
        "first_person": sum(w in FIRST_PERSON for w in lower) / n,
        "second_person": sum(w in SECOND_PERSON for w in lower) / n,
        "lexical_density": content / n,
        "exclamations": text.count("!") / sentences,
        "questions": text.count("?") / sentences,
    }  # fmt: skip


def style_matrix(texts: Sequence[str]) -> np.ndarray:
    """One row of :data:`FEATURES` per text (NaN rows for texts with no word)."""
    from personascope.metrics.syntactic import tagged

    tagged_texts = tagged(list(texts))
    return np.array(
        [
            [row[name] for name in FEATURES]
            for row in (features(t, tags) for t, tags in zip(texts, tagged_texts, strict=True))
        ],
        dtype=float,
    ).reshape(len(texts), len(FEATURES))
