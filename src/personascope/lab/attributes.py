"""How varied are the attributes of a population of personas: pure functions, values in,
numbers out.

For a categorical attribute (first names, occupations, adjectives, age bands) observed on
n personas with counts c_v:

* ``entropy_bits``: plug-in Shannon entropy H = -sum_v (c_v/n) log2(c_v/n) (Shannon 1948).
  It is biased low for small n (Miller 1955), so populations are compared at the same n,
  and against a reference population drawn at that same n;
* ``unique_share``: |{v}| / n, distinct values per persona;
* ``repeat_share``: sum_{v : c_v >= 2} c_v / n, the share of personas whose value another
  persona shares (the issue's "first-name repeats");
* ``top_share``: max_v c_v / n, the share of personas with the most common value (which
  value that is: ``top``); the same statistic as the collapse study's ``top_share``
  (:func:`personascope.metrics.attributes.categorical_diversity`);
* ``reference_mass``: sum over distinct observed v of p_ref(v), the share of a reference
  population whose value the personas cover ("coverage" of the reference);
* ``total_variation``: TV(p, q) = 1/2 sum_v |p_v - q_v| between the observed shares and a
  reference distribution (age bands).

Every statistic has a delete-a-group jackknife interval over personas
(:class:`personascope.metrics.estimate.Jackknife`). What a reference population of the same
size would show (:func:`reference_expectation`) is a Monte Carlo mean and 95% range over
seeded draws of n values from it, with the statistic computed the same way.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from personascope.metrics.estimate import Jackknife, estimate_dict
from personascope.reference.population import Distribution

ADULT_BANDS: tuple[tuple[int, int, str], ...] = (
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, 200, "75+"),
)
REFERENCE_DRAWS = 200

Statistic = Callable[[Sequence[Hashable]], float]


def first_name(name: str | None) -> str | None:
    """The first word of a stated name, lower-cased, letters only (``"Mary-Ann"`` kept)."""
    if not name:
        return None
    match = re.match(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", name.strip())
    return match.group().lower() if match else None


def normalize_value(text: str | None) -> str | None:
    """Lower case, single spaces, no trailing punctuation; ``None`` for nothing."""
    if not text:
        return None
    value = " ".join(text.lower().split()).strip(" .,;:!")
    return value or None


def entropy_bits(values: Sequence[Hashable]) -> float:
    """H = -sum_v (c_v/n) log2(c_v/n), the plug-in Shannon entropy in bits."""
    counts = np.array(list(Counter(values).values()), dtype=float)
    if counts.size == 0:
        return math.nan
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def unique_share(values: Sequence[Hashable]) -> float:
    """|distinct values| / n."""
    return len(set(values)) / len(values) if values else math.nan


def repeat_share(values: Sequence[Hashable]) -> float:
    """sum_{v : c_v >= 2} c_v / n: share of units whose value another unit shares."""
    if not values:
        return math.nan
    return sum(c for c in Counter(values).values() if c >= 2) / len(values)


def top_share(values: Sequence[Hashable]) -> float:
    """max_v c_v / n: share of units with the most common value."""
    if not values:
        return math.nan
    return max(Counter(values).values()) / len(values)


def reference_mass(values: Sequence[Hashable], probs: dict[Hashable, float]) -> float:
    """sum over distinct observed v of p_ref(v): how much of the reference is covered.
    Summed exactly (``math.fsum``): a set's order changes with the hash seed, a plain
    sum's last bit with the order."""
    return math.fsum(probs.get(v, 0.0) for v in set(values))


def total_variation(values: Sequence[Hashable], probs: dict[Hashable, float]) -> float:
    """TV = 1/2 sum_v |p_v - q_v| between observed shares p and reference shares q."""
    if not values:
        return math.nan
    counts = Counter(values)
    keys = set(counts) | set(probs)
    return 0.5 * math.fsum(abs(counts.get(k, 0) / len(values) - probs.get(k, 0.0)) for k in keys)


def age_band(age: int) -> str | None:
    """The adult band of an age (``None`` under 18)."""
    for low, high, label in ADULT_BANDS:
        if low <= age <= high:
            return label
    return None


def band_probs(ages: Distribution) -> dict[Hashable, float]:
    """Reference shares of the adult age bands."""
    probs: dict[Hashable, float] = {}
    for age, p in zip(ages.values, ages.probs, strict=True):
        band = age_band(int(age))
        if band is not None:
            probs[band] = probs.get(band, 0.0) + float(p)
    return probs


def _estimate(
    statistic: Callable[[np.ndarray], float],
    n: int,
    jackknife: Jackknife,
    computation: str,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    value = statistic(np.ones(n, dtype=bool))
    reps = jackknife.replicate(statistic, jackknife.labels(n))
    return jackknife.estimate(value, reps, n, computation, bounds=bounds).to_dict()


def categorical_summary(
    values: Sequence[Hashable | None],
    jackknife: Jackknife,
    reference: dict[Hashable, float] | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """Entropy, unique share, repeat share and top share (and, given reference shares, the reference
    mass covered) of the values that are not ``None``, with jackknife intervals."""
    present = [v for v in values if v is not None]
    out: dict[str, Any] = {
        "n": len(present),
        "missing": len(values) - len(present),
        "top": [[v, c] for v, c in Counter(present).most_common(top)],
    }
    if len(present) < 2:
        out["note"] = "fewer than 2 values: no statistics"
        return out
    arr = np.empty(len(present), dtype=object)
    arr[:] = present

    def on(function: Statistic) -> Callable[[np.ndarray], float]:
        return lambda keep: function(list(arr[keep]))

    n = len(present)
    out["entropy_bits"] = _estimate(on(entropy_bits), n, jackknife, "plug-in entropy (bits)")
    out["unique_share"] = _estimate(on(unique_share), n, jackknife, "distinct / n", (0, 1))
    out["repeat_share"] = _estimate(on(repeat_share), n, jackknife, "shared values / n", (0, 1))
    out["top_share"] = _estimate(on(top_share), n, jackknife, "most common value / n", (0, 1))
    if reference is not None:
        out["reference_mass"] = _estimate(
            on(lambda v: reference_mass(v, reference)), n, jackknife, "reference mass", (0, 1)
        )
    return out


def pooled_summary(
    groups: Sequence[Sequence[Hashable]], jackknife: Jackknife, top: int = 5
) -> dict[str, Any]:
    """Entropy and distinct share of values pooled over units (e.g. each persona's
    adjectives); jackknife over units, so a persona's values stay together."""
    units = [g for g in groups if g]
    pooled = [v for g in units for v in g]
    out: dict[str, Any] = {
        "n": len(units),
        "n_values": len(pooled),
        "top": [[v, c] for v, c in Counter(pooled).most_common(top)],
    }
    if len(units) < 2:
        out["note"] = "fewer than 2 units with values: no statistics"
        return out

    def on(function: Statistic) -> Callable[[np.ndarray], float]:
        return lambda keep: function([v for g, k in zip(units, keep) if k for v in g])

    out["entropy_bits"] = _estimate(on(entropy_bits), len(units), jackknife, "plug-in entropy")
    out["unique_share"] = _estimate(
        on(unique_share), len(units), jackknife, "distinct / values", (0, 1)
    )
    return out


def mean_summary(values: Sequence[float], jackknife: Jackknife, what: str) -> dict[str, Any]:
    """The mean of finite values with its jackknife (t) interval."""
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) < 2:
        return estimate_dict(x.mean() if len(x) else None, None, len(x), f"mean {what}")
    return _estimate(lambda keep: float(x[keep].mean()), len(x), jackknife, f"mean {what}")


def age_summary(
    ages: Sequence[int | None], jackknife: Jackknife, reference: Distribution
) -> dict[str, Any]:
    """Mean and SD (ddof 1) of stated ages, the share under 18, and the adult age bands'
    entropy, reference mass and total variation from the reference, with intervals."""
    x = np.array([a for a in ages if a is not None], dtype=float)
    out: dict[str, Any] = {"n": len(x), "missing": len(ages) - len(x)}
    if len(x) < 3:
        out["note"] = "fewer than 3 ages: no statistics"
        return out
    n = len(x)
    out["mean"] = _estimate(lambda k: float(x[k].mean()), n, jackknife, "mean age")
    out["sd"] = _estimate(lambda k: float(x[k].std(ddof=1)), n, jackknife, "SD of ages (ddof 1)")
    out["under_18_share"] = _estimate(
        lambda k: float((x[k] < 18).mean()), n, jackknife, "share under 18", (0, 1)
    )
    bands = [age_band(int(a)) for a in x if a >= 18]
    ref = band_probs(reference)
    out["bands"] = categorical_summary(bands, jackknife, ref, top=len(ADULT_BANDS))
    if len(bands) >= 2:
        arr = np.array(bands, dtype=object)
        out["bands"]["total_variation"] = _estimate(
            lambda k: total_variation(list(arr[k]), ref), len(bands), jackknife, "TV", (0, 1)
        )
    return out


def reference_expectation(
    reference: Distribution,
    n: int,
    statistics: dict[str, Statistic],
    draws: int = REFERENCE_DRAWS,
    seed: int = 0,
    transform: Callable[[Any], Hashable | None] | None = None,
) -> dict[str, Any]:
    """Mean and 95% range of each statistic over ``draws`` samples of ``n`` values from the
    reference (``numpy.random.default_rng([seed, n])``); ``transform`` maps drawn values
    (e.g. an age to its band; ``None`` drops the value)."""
    if n < 2:
        return {"n": n, "note": "fewer than 2 values"}
    rng = np.random.default_rng([seed, n])
    results: dict[str, list[float]] = {name: [] for name in statistics}
    for _ in range(draws):
        drawn = reference.sample(n, rng)
        if transform is not None:
            drawn = [t for t in map(transform, drawn) if t is not None]
        for name, statistic in statistics.items():
            results[name].append(statistic(drawn))
    out: dict[str, Any] = {"n": n, "draws": draws, "seed": seed, "source": reference.source}
    for name, vals in results.items():
        arr = np.array(vals, dtype=float)
        out[name] = {
            "mean": float(arr.mean()),
            "range95": [float(np.quantile(arr, 0.025)), float(np.quantile(arr, 0.975))],
        }
    return out


def distribution_sd(reference: Distribution) -> float:
    """sqrt(sum_a p_a (a - mu)^2), the SD of a numeric reference distribution."""
    values = np.array(reference.values, dtype=float)
    mu = float((reference.probs * values).sum())
    return float(math.sqrt((reference.probs * (values - mu) ** 2).sum()))
