"""Genders as written, read onto a small vocabulary.

``female`` and ``male`` are the two values of the reference population (SSA records two
sexes; :func:`personascope.reference.population.genders`); ``non-binary`` and ``other``
are genders the reference does not record. A value is read (:func:`normalize_gender`) by
lower-casing it, dropping anything in parentheses, keeping the part before the first
``,``, ``;`` or ``/``, turning every character that is not a letter, space or hyphen into
a space, and looking up in ``VOCABULARY`` the whole result, then its first two words, then
its first word ("woman who loves hiking" is female); anything else ("mowerboy",
"occupation") is unreadable: counted, kept raw in the findings, left out of reach.
"""

from __future__ import annotations

import re

VOCABULARY: dict[str, tuple[str, ...]] = {
    "female": (
        "female", "woman", "women", "f", "girl", "lady", "feminine", "cis woman",
        "cisgender woman", "cis female", "trans woman", "transgender woman",
    ),
    "male": (
        "male", "man", "men", "m", "boy", "gentleman", "masculine", "cis man",
        "cisgender man", "cis male", "trans man", "transgender man",
    ),
    "non-binary": (
        "non-binary", "nonbinary", "non binary", "enby", "nb", "genderqueer", "gender queer",
        "genderfluid", "gender fluid", "gender-fluid", "agender",
    ),
    "other": ("other", "two-spirit", "two spirit", "bigender", "intersex", "third gender"),
}  # fmt: skip
_LOOKUP = {word: label for label, words in VOCABULARY.items() for word in words}
_PARENTHESES = re.compile(r"\([^)]*\)")
_SEPARATORS = re.compile(r"[,;/]")
_OTHER = re.compile(r"[^a-z\- ]+")


def normalize_gender(value: str) -> str | None:
    """``female``, ``male``, ``non-binary``, ``other``, or None when unreadable."""
    text = _SEPARATORS.split(_PARENTHESES.sub(" ", value.lower()))[0]
    words = _OTHER.sub(" ", text).split()
    for key in (" ".join(words), " ".join(words[:2]), " ".join(words[:1])):
        if key in _LOOKUP:
            return _LOOKUP[key]
    return None
