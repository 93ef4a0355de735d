"""Goldberg's (1992) 100 unipolar Big-Five trait adjectives, as a lexicon for texts.

The markers (``data/goldberg1992_unipolar_markers.json``) are 100 public-domain trait
adjectives, 20 per domain, each keyed +1 (high pole) or -1 (low pole):

    Goldberg, L. R. (1992). The development of markers for the Big-Five factor
    structure. Psychological Assessment, 4(1), 26-42.

Goldberg's Factor IV is Emotional Stability; it is stored here as Neuroticism (N), so
"anxious" keys +1 and "relaxed" -1. The file's numbering is alphabetical, the V1-V100
numbering of ``psychTools::bfi.adjectives.dictionary``; every word's domain and key
agrees with ``psychTools::bfi.adjectives.keys``.

Two uses: scoring a persona text on the five domains (:func:`lexicon_scores`), and
choosing words that express an assigned trait level (:func:`markers_for`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from personascope.errors import InputFileError

DOMAINS: tuple[str, ...] = ("O", "C", "E", "A", "N")
DOMAIN_NAMES: dict[str, str] = {
    "O": "openness",
    "C": "conscientiousness",
    "E": "extraversion",
    "A": "agreeableness",
    "N": "neuroticism",
}
MARKERS_FILE = Path(__file__).parent / "data" / "goldberg1992_unipolar_markers.json"

# A negator up to this many words before a marker, in the same clause, flips its key.
NEGATION_WINDOW = 3
_NEGATORS = frozenset({"not", "never", "no", "hardly", "rarely", "seldom", "nor", "neither"})
_CLAUSE = re.compile(r"[.;:!?,\n()]+")
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


@dataclass(frozen=True)
class Marker:
    number: int
    word: str
    domain: str
    key: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarkerHit:
    """One marker found in a text; ``key`` is the marker's key, flipped when negated."""

    word: str
    marker: Marker
    negated: bool

    @property
    def key(self) -> int:
        return -self.marker.key if self.negated else self.marker.key


def _check_marker(path: Path, index: int, entry: object) -> Marker:
    where = f"{path}: markers[{index}]"
    if not isinstance(entry, dict):
        raise InputFileError(f"{where}: expected an object, got {type(entry).__name__}")
    for field in ("word", "domain", "key"):
        if field not in entry:
            raise InputFileError(f"{where}: missing field {field!r}")
    word, domain, key = entry["word"], entry["domain"], entry["key"]
    if not isinstance(word, str) or not _WORD.fullmatch(word):
        raise InputFileError(f"{where}.word: {word!r} is not a lower-case word")
    if domain not in DOMAINS:
        raise InputFileError(f"{where}.domain: {domain!r} is not one of {', '.join(DOMAINS)}")
    if key not in (1, -1):
        raise InputFileError(f"{where}.key: {key!r} must be 1 or -1")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and _WORD.fullmatch(a) for a in aliases
    ):
        raise InputFileError(f"{where}.aliases: must be a list of lower-case words")
    return Marker(int(entry.get("number", index + 1)), word, domain, key, tuple(aliases))


@lru_cache(maxsize=4)
def load_markers(path: Path = MARKERS_FILE) -> tuple[Marker, ...]:
    """The marker list of a lexicon file (default: Goldberg's 100), validated."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"cannot read the adjective lexicon {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    entries = data.get("markers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputFileError(f"{path}: missing or empty field 'markers'")
    markers = tuple(_check_marker(path, i, e) for i, e in enumerate(entries))
    seen: dict[str, int] = {}
    for i, m in enumerate(markers):
        for form in (m.word, *m.aliases):
            if form in seen:
                raise InputFileError(
                    f"{path}: markers[{i}]: {form!r} already appears in markers[{seen[form]}]"
                )
            seen[form] = i
    return markers


@lru_cache(maxsize=4)
def _index(path: Path = MARKERS_FILE) -> dict[str, Marker]:
    return {form: m for m in load_markers(path) for form in (m.word, *m.aliases)}


def markers_for(domain: str, key: int, path: Path = MARKERS_FILE) -> tuple[str, ...]:
    """The marker words of one pole of a domain (``key`` +1 high, -1 low)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    return tuple(m.word for m in load_markers(path) if m.domain == domain and m.key == key)


def find_markers(text: str, path: Path = MARKERS_FILE) -> list[MarkerHit]:
    """Every marker word in ``text`` (lower-cased; hyphenated words kept whole).

    A marker counts as negated when one of ``not never no hardly rarely seldom nor
    neither`` (or a contraction ending in n't) occurs at most ``NEGATION_WINDOW`` words
    before it within the same clause (clauses end at punctuation).
    """
    index = _index(path)
    hits: list[MarkerHit] = []
    lowered = text.lower().replace("n't", " not").replace("n’t", " not")
    for clause in _CLAUSE.split(lowered):
        words = _WORD.findall(clause)
        for i, word in enumerate(words):
            marker = index.get(word)
            if marker is None:
                continue
            before = words[max(0, i - NEGATION_WINDOW) : i]
            hits.append(MarkerHit(word, marker, any(w in _NEGATORS for w in before)))
    return hits


def lexicon_scores(text: str, path: Path = MARKERS_FILE) -> dict[str, float | None]:
    """Domain scores of a text from the trait adjectives it uses.

    For domain d with marker hits H_d (each with key k_h in {+1, -1}, flipped when
    negated): ``s_d = (sum_{h in H_d} k_h) / |H_d|``, in [-1, 1]; +1 when every marker
    of d in the text is a high-pole word, -1 when all are low-pole. ``None`` when the
    text contains no marker of d (no evidence, not a neutral score).
    Lexicon: Goldberg (1992), 100 unipolar markers.
    """
    sums = dict.fromkeys(DOMAINS, 0)
    counts = dict.fromkeys(DOMAINS, 0)
    for hit in find_markers(text, path):
        sums[hit.marker.domain] += hit.key
        counts[hit.marker.domain] += 1
    return {d: (sums[d] / counts[d] if counts[d] else None) for d in DOMAINS}
