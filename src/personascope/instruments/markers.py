"""Target personalities in words: bipolar trait-adjective markers at nine levels.

After Serapio-García et al. (2023, "Personality traits in large language models",
arXiv:2307.00184): a domain is set to level 1-9 by qualifying its low or high marker
adjectives (``data/bipolar_markers.json``, 52 low/high pairs after Goldberg 1992):

    1 extremely low   2 very low   3 low   4 a bit low   5 neither low nor high
    6 a bit high      7 high       8 very high           9 extremely high

A level's target on a K-point answer scale is ``1 + (level - 1) (K - 1) / 8``: level 1
is the bottom of the scale, 5 its midpoint, 9 its top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from personascope.errors import InputFileError
from personascope.instruments.inventory import DATA_DIR

MARKERS_FILE = DATA_DIR / "bipolar_markers.json"
LEVELS = tuple(range(1, 10))


@dataclass(frozen=True)
class MarkerPair:
    domain: str
    facet: str | None
    low: str
    high: str


@dataclass(frozen=True)
class MarkerSet:
    id: str
    citation: str
    content_hash: str
    levels: dict[int, str]
    pairs: tuple[MarkerPair, ...]

    def domain_pairs(self, domain: str) -> list[MarkerPair]:
        return [p for p in self.pairs if p.domain == domain]


@lru_cache(maxsize=2)
def load_markers(path: Path = MARKERS_FILE) -> MarkerSet:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return MarkerSet(
            id=data["id"],
            citation=data["citation"],
            content_hash=data["content_hash"],
            levels={int(k): v for k, v in data["levels"].items()},
            pairs=tuple(
                MarkerPair(p["domain"], p["facet"], p["low"], p["high"]) for p in data["pairs"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(f"cannot read the marker file {path}: {exc}") from exc


def target_score(level: int, points: int = 5) -> float:
    """``1 + (level - 1) (points - 1) / 8``: the answer-scale value a level asks for."""
    if level not in LEVELS:
        raise ValueError(f"level must be 1..9, got {level}")
    return 1 + (level - 1) * (points - 1) / 8


def phrases(domain: str, level: int, n_markers: int, variant: int = 0) -> list[str]:
    """``n_markers`` qualified adjectives for one domain at one level.

    Pairs are taken in file order (which walks the facets), starting at
    ``variant * n_markers`` and wrapping around, so variants use different markers.
    """
    markers = load_markers()
    pairs = markers.domain_pairs(domain)
    if not pairs:
        raise ValueError(f"no markers for domain {domain!r}")
    if not 1 <= n_markers <= len(pairs):
        raise ValueError(f"n_markers must be 1..{len(pairs)} for {domain}, got {n_markers}")
    if level not in LEVELS:
        raise ValueError(f"level must be 1..9, got {level}")
    template = markers.levels[level]
    start = variant * n_markers
    chosen = [pairs[(start + j) % len(pairs)] for j in range(n_markers)]
    return [template.format(low=p.low, high=p.high) for p in chosen]


def describe(levels: dict[str, int], n_markers: int = 3, variant: int = 0) -> str:
    """A first-person description, e.g. ``I am very talkative, very bold and very kind.``"""
    parts = [p for d, lv in levels.items() for p in phrases(d, lv, n_markers, variant)]
    if not parts:
        raise ValueError("a description needs at least one domain")
    if len(parts) == 1:
        return f"I am {parts[0]}."
    return f"I am {', '.join(parts[:-1])} and {parts[-1]}."
