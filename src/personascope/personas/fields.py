"""Structured fields from persona texts: Name / Age / Gender / Occupation / Personality /
Description, robust to what small and base models actually write.

Models are asked for ``Field: value`` lines (see :mod:`personascope.personas.naive`);
what comes back ranges from clean profiles to markdown (``**Name:** ...``), bullets,
several fields on one line (``Name: Elizabeth, age: 28``), repeated fields, a second
profile appended by a base model, or prose with no fields at all ("John Smith, 47, is a
..."). The parser takes, for each field, the first labelled value, then falls back to
patterns in the prose (a leading proper name, "34 years old", gender from pronouns,
"works as a ..."). A field that cannot be read is ``None`` and listed in ``failures``;
:func:`failure_counts` totals them for a population, so attribute-level statistics
always say how many texts they rest on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from personascope.reference.genders import normalize_gender as read_gender

FIELD_NAMES = ("name", "age", "gender", "occupation", "personality", "description")

# Label spellings, lower-case, mapped to the field they fill.
_LABELS: dict[str, str] = {
    "full name": "name",
    "name": "name",
    "age": "age",
    "gender": "gender",
    "sex": "gender",
    "occupation": "occupation",
    "profession": "occupation",
    "job title": "occupation",
    "job": "occupation",
    "personality traits": "personality",
    "personality": "personality",
    "traits": "personality",
    "description": "description",
    "bio": "description",
    "background": "description",
    "about": "description",
}
_LABEL_ALT = "|".join(sorted((re.escape(k) for k in _LABELS), key=len, reverse=True))
_LABEL = re.compile(
    rf"(?:^|(?<=[\s,;|*•(-]))[*_#\s]*(?P<label>{_LABEL_ALT})[*_\s]*[:：][*_]*[ \t]*",
    re.IGNORECASE,
)
# Where a second profile starts (base models keep going): cut the text there.
_NEXT_PROFILE = re.compile(
    r"\n\s*(?:#+\s*)?(?:profile|persona|person|character|respondent)\s*#?\s*\d+\b",
    re.IGNORECASE,
)
_BLANK_RUN = re.compile(r"\n\s*\n\s*\n")
_WORDS_TO_NUMBERS = {
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}  # fmt: skip
_AGE_PROSE = (
    re.compile(r"\b(\d{1,3})[-\s]?(?:years?|yrs?)[-\s]?old\b", re.IGNORECASE),
    re.compile(r"\baged?\s+(\d{1,3})\b", re.IGNORECASE),
    re.compile(r"^[^\n,]{2,40},\s*(\d{1,3})\s*[,.)]"),
)
_SHE = re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE)
_HE = re.compile(r"\b(?:he|him|his|himself)\b", re.IGNORECASE)
_PROPER_NAME = re.compile(
    r"^\s*(?:meet\s+)?(?P<name>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,2})(?=\s*(?:,|\bis\b|\bwas\b|\())"
)
# fmt: off
_NOT_NAMES = frozenset({
    "The", "A", "An", "As", "In", "On", "At", "This", "That", "These", "Those", "Our", "My",
    "Your", "Their", "His", "Her", "It", "We", "They", "Profile", "Persona", "Person", "Name",
    "Description", "Meet", "Hello", "Hi", "Dear",
})
# fmt: on
_WORKS_AS = re.compile(
    r"\b(?:works|working|worked|employed)\s+as\s+(?:an?\s+)?(?P<job>[a-z][a-z -]{2,40}?)"
    r"(?=[,.;]|\s+(?:at|in|for|who|and|with)\b)",
    re.IGNORECASE,
)
_QUALIFIERS = re.compile(
    r"^(?:very|extremely|quite|rather|somewhat|slightly|a bit|a little|fairly|highly|"
    r"really|so|too|often|usually|mostly|sometimes|always|generally)\s+",
    re.IGNORECASE,
)
_ADJECTIVE = re.compile(r"^[a-z][a-z'-]*(?:\s[a-z][a-z'-]*)?$")
_PLACEHOLDER = re.compile(r"^<.*>$|^\[.*\]$")
_ANY_LABEL_OR_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]\s|[*_#]*[A-Za-z][\w /&-]{0,30}[*_]*:)")


@dataclass(frozen=True)
class ParsedFields:
    """The fields read from one persona text; ``None`` where a field could not be read.

    ``gender`` is normalised to ``female``, ``male`` or ``non-binary`` when the text
    allows, else the stated word in lower case; ``gender_from_pronouns`` says it was
    inferred from pronouns because no gender was stated. ``adjectives`` are the
    personality words, lower-cased, qualifiers ("very", "a bit") removed.
    """

    name: str | None
    age: int | None
    gender: str | None
    occupation: str | None
    adjectives: tuple[str, ...]
    description: str | None
    gender_from_pronouns: bool
    failures: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["adjectives"] = list(self.adjectives)
        data["failures"] = list(self.failures)
        return data


def first_profile(text: str) -> str:
    """The text up to where a second profile (or a run of blank lines) begins."""
    cut = len(text)
    for pattern in (_NEXT_PROFILE, _BLANK_RUN):
        match = pattern.search(text, 1)
        if match:
            cut = min(cut, match.start())
    return text[:cut].strip()


def labelled_values(text: str) -> dict[str, str]:
    """The first value of each labelled field.

    A value runs to the next label or the end of its line; a description runs to the
    next label (several lines). A label with nothing after it on its line takes the
    following lines (a bulleted list of traits).
    """
    matches = list(_LABEL.finditer(text))
    values: dict[str, str] = {}
    for i, match in enumerate(matches):
        field = _LABELS[match.group("label").lower()]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        raw = text[match.end() : end]
        if field != "description" and raw.split("\n", 1)[0].strip():
            raw = raw.split("\n", 1)[0]
        value = raw.strip().strip("*_").strip().rstrip(",;|").strip()
        if field not in values and value and not _PLACEHOLDER.match(value):
            values[field] = value
    return values


def _parse_age(value: str | None, text: str) -> int | None:
    if value is not None:
        digits = re.search(r"\d{1,3}", value)
        if digits:
            age = int(digits.group())
            return age if 1 <= age <= 110 else None
        words = re.findall(r"[a-z]+", value.lower())
        if words and words[0] in _WORDS_TO_NUMBERS:
            unit = _UNITS.get(words[1], 0) if len(words) > 1 else 0
            return _WORDS_TO_NUMBERS[words[0]] + unit
        return None
    for pattern in _AGE_PROSE:
        match = pattern.search(text)
        if match and 1 <= int(match.group(1)) <= 110:
            return int(match.group(1))
    return None


def normalize_gender(value: str) -> str | None:
    """The vocabulary word of :func:`personascope.reference.genders.normalize_gender`
    (female, male, non-binary, other) for a readable value, else the first word as
    written (kept raw; the collapse study counts it as unreadable)."""
    cleaned = re.sub(r"[^a-z -]", " ", value.lower()).strip()
    if not cleaned:
        return None
    return read_gender(value) or cleaned.split()[0]


def _gender_from_pronouns(text: str) -> str | None:
    she, he = len(_SHE.findall(text)), len(_HE.findall(text))
    if she >= 2 and she > 2 * he:
        return "female"
    if he >= 2 and he > 2 * she:
        return "male"
    return None


def _parse_name(value: str | None, text: str) -> str | None:
    if value is None:
        match = _PROPER_NAME.match(text)
        if match is None or match.group("name").split()[0] in _NOT_NAMES:
            return None
        return match.group("name")
    value = re.split(r"[,(\n;|]", value)[0].strip().strip("\"'*_")
    words = value.split()
    if not words or len(words) > 4 or not all(re.match(r"^[^\W\d_][\w'’.-]*$", w) for w in words):
        return None
    return " ".join(words)


def _parse_occupation(value: str | None, text: str) -> str | None:
    if value is None:
        match = _WORKS_AS.search(text)
        return match.group("job").strip().lower() if match else None
    value = re.split(r"[\n(;|]|\.\s", value)[0].strip().rstrip(".)").strip()
    return value if value and len(value.split()) <= 8 else None


def split_adjectives(value: str) -> tuple[str, ...]:
    """Personality words from a comma/semicolon/slash/"and"/bullet separated list."""
    items = re.split(r"[,;/\n•]|\band\b|\s-\s|^\s*-\s*", value, flags=re.IGNORECASE | re.M)
    words = []
    for item in items:
        word = item.strip().strip("-*_.\"'").strip().lower()
        previous = None
        while previous != word:
            previous, word = word, _QUALIFIERS.sub("", word)
        if _ADJECTIVE.match(word):
            words.append(word)
    return tuple(words)


def _strip_labels(text: str) -> str:
    """The prose of a text: lines that are neither ``Label: value`` nor bullets."""
    kept = [line for line in text.splitlines() if not _ANY_LABEL_OR_BULLET.match(line)]
    return " ".join(" ".join(kept).split())


def parse_fields(text: str) -> ParsedFields:
    """Read the persona fields of one text (see the module docstring)."""
    profile = first_profile(text)
    values = labelled_values(profile)
    prose = values.get("description") or _strip_labels(profile)
    description = " ".join(prose.split()) if len(prose.split()) >= 3 else None
    gender_value = values.get("gender")
    gender = normalize_gender(gender_value) if gender_value else None
    from_pronouns = False
    if gender is None:
        gender = _gender_from_pronouns(profile)
        from_pronouns = gender is not None
    parsed = {
        "name": _parse_name(values.get("name"), profile),
        "age": _parse_age(values.get("age"), profile),
        "gender": gender,
        "occupation": _parse_occupation(values.get("occupation"), profile),
        "personality": split_adjectives(values["personality"]) if "personality" in values else (),
        "description": description,
    }
    failures = tuple(f for f in FIELD_NAMES if not parsed[f])
    return ParsedFields(
        name=parsed["name"],
        age=parsed["age"],
        gender=parsed["gender"],
        occupation=parsed["occupation"],
        adjectives=parsed["personality"],
        description=parsed["description"],
        gender_from_pronouns=from_pronouns,
        failures=failures,
    )


def failure_counts(parsed: Iterable[ParsedFields]) -> dict[str, Any]:
    """How many texts lacked each field, out of ``n``: ``{"n": .., "name": .., ...}``."""
    items = list(parsed)
    counts = Counter(f for p in items for f in p.failures)
    return {"n": len(items), **{f: counts.get(f, 0) for f in FIELD_NAMES}}
