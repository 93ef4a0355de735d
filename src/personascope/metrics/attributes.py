"""Attribute-level diversity of a persona population (names, ages, genders, occupations,
adjectives), compared with a reference population at the same n.

Collapse shows first in attributes: an aligned model that writes fluent, lexically varied
texts may still give every persona an age near 26 and one of a few first names. Each
function takes the values read from n personas (missing values already removed) and
returns :class:`~personascope.metrics.estimate.Estimate` objects with delete-a-group
jackknife intervals over personas (the independent units).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from personascope.errors import MetricInputError
from personascope.metrics.estimate import Estimate, Jackknife


def shannon_entropy(counts: Sequence[float]) -> float:
    """H = -sum_i p_i log2 p_i (bits) of the categories' relative frequencies."""
    c = np.asarray([x for x in counts if x > 0], dtype=float)
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def expected_distinct(probs: np.ndarray, m: int) -> float:
    """Expected number of distinct values in m independent draws from ``probs``:

        E[D_m] = sum_v (1 - (1 - p_v)^m)

    (the occupancy expectation; exact, no simulation).
    """
    p = np.asarray(probs, dtype=float)
    return float((1.0 - np.power(1.0 - p, m)).sum())


def repeat_share(values: Sequence[str]) -> float:
    """Share of units whose value is shared with at least one other unit."""
    counts = Counter(values)
    return sum(c for c in counts.values() if c > 1) / len(values)


def top_values(values: Sequence[str], k: int = 10) -> list[dict[str, Any]]:
    """The k most frequent values with their counts and shares (ties by value)."""
    counts = Counter(values)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [{"value": v, "count": c, "share": c / len(values)} for v, c in ranked]


def _check(values: Sequence[Any], what: str, minimum: int = 2) -> None:
    if len(values) < minimum:
        raise MetricInputError(f"{what} needs at least {minimum} values, got {len(values)}")


def categorical_diversity(
    values: Sequence[str], jackknife: Jackknife, what: str
) -> dict[str, Estimate]:
    """Distinct share (distinct / n), entropy (bits), top-value share and repeat share.

    Distinct share and entropy are set-level statistics that grow with n: compare two
    populations at the same n.
    """
    _check(values, what)
    arr = np.asarray(values, dtype=object)
    labels = jackknife.labels(len(arr))

    def stats_of(keep: np.ndarray) -> tuple[float, float, float, float]:
        kept = list(arr[keep])
        counts = Counter(kept)
        return (
            len(counts) / len(kept),
            shannon_entropy(list(counts.values())),
            max(counts.values()) / len(kept),
            repeat_share(kept),
        )

    full = stats_of(np.ones(len(arr), dtype=bool))
    reps = np.array([stats_of(labels != g) for g in range(int(labels.max()) + 1)])
    params = {"what": what}
    names = ("distinct_share", "entropy_bits", "top_share", "repeat_share")
    bounds: list[tuple[float, float] | None] = [(0, 1), None, (0, 1), (0, 1)]
    return {
        name: jackknife.estimate(full[j], reps[:, j], len(arr), "exact", params, bounds[j])
        for j, name in enumerate(names)
    }


def distinct_ratio(
    values: Sequence[str], reference_probs: np.ndarray, jackknife: Jackknife, what: str
) -> Estimate:
    """Distinct values among n personas / E[distinct in n draws from the reference].

    1 means as varied as n random people; 0.3 means a third of that variety. The
    expectation is recomputed for each jackknife replicate's own n.
    """
    _check(values, what)
    arr = np.asarray(values, dtype=object)
    labels = jackknife.labels(len(arr))

    def ratio(keep: np.ndarray) -> float:
        kept = arr[keep]
        return len(set(kept)) / expected_distinct(reference_probs, len(kept))

    full = ratio(np.ones(len(arr), dtype=bool))
    reps = jackknife.replicate(ratio, labels)
    expected = expected_distinct(reference_probs, len(arr))
    return jackknife.estimate(
        full,
        reps,
        len(arr),
        "distinct / expected distinct in n reference draws",
        {"what": what, "expected_distinct": expected, "observed_distinct": len(set(values))},
        (0.0, math.inf),
    )


def window_coverage(
    values: Sequence[float], support: np.ndarray, probs: np.ndarray, width: float
) -> float:
    """Reference mass within ``width`` of a value: C = sum_a p_a 1[min_i |a - g_i| <= w]."""
    g = np.sort(np.asarray(values, dtype=float))
    a = np.asarray(support, dtype=float)
    right = np.clip(np.searchsorted(g, a), 0, len(g) - 1)
    left = np.clip(right - 1, 0, len(g) - 1)
    nearest = np.minimum(np.abs(a - g[left]), np.abs(a - g[right]))
    return float(np.sum(np.asarray(probs)[nearest <= width]))


def expected_window_coverage(support: np.ndarray, probs: np.ndarray, width: float, n: int) -> float:
    """E[C] for n independent draws from the reference itself, exactly:

    E[C_n] = sum_a p_a (1 - (1 - q_a)^n),   q_a = sum_{b: |b - a| <= w} p_b.
    """
    a = np.asarray(support, dtype=float)
    p = np.asarray(probs, dtype=float)
    q = ((np.abs(a[:, None] - a[None, :]) <= width) * p[None, :]).sum(axis=1)
    return float(np.sum(p * (1.0 - np.power(1.0 - q, n))))


def numeric_reach_value(
    values: Sequence[float], support: np.ndarray, probs: np.ndarray, width: float
) -> float:
    """min(SD ratio, coverage ratio) of numeric values against a reference distribution:

        SD ratio       = SD(values, ddof 1) / SD(reference),
        coverage ratio = C(values) / E[C of n reference draws]   (window coverage),

    each a way to fall short of the reference: a narrow spread (ages 22-34, SD ratio 0.22)
    or copies of a few values (five wide-apart ages repeated: an SD like the population's,
    but five windows covered). Neither part can be inflated without the other capping it.
    """
    x = np.asarray(values, dtype=float)
    a, p = np.asarray(support, dtype=float), np.asarray(probs, dtype=float)
    mean = float((a * p).sum())
    ref_sd = math.sqrt(float(((a - mean) ** 2 * p).sum()))
    covered = window_coverage(x, a, p, width)
    expected = expected_window_coverage(a, p, width, len(x))
    return min(float(np.std(x, ddof=1)) / ref_sd, covered / expected)


def numeric_reach(
    values: Sequence[float],
    support: np.ndarray,
    probs: np.ndarray,
    width: float,
    jackknife: Jackknife,
    what: str,
) -> Estimate:
    """:func:`numeric_reach_value` with a jackknife interval over units."""
    _check(values, what)
    x = np.asarray(values, dtype=float)
    labels = jackknife.labels(len(x))
    return jackknife.estimate(
        numeric_reach_value(x, support, probs, width),
        jackknife.replicate(
            lambda keep: numeric_reach_value(x[keep], support, probs, width), labels
        ),
        len(x),
        "min(SD / reference SD, window coverage / its expectation for n reference draws)",
        {
            "what": what,
            "window": width,
            "coverage": window_coverage(x, support, probs, width),
            "expected_coverage": expected_window_coverage(support, probs, width, len(x)),
        },
        (0.0, math.inf),
    )


def spread(values: Sequence[float], jackknife: Jackknife, what: str) -> dict[str, Estimate]:
    """Mean and standard deviation (n - 1 denominator) of numeric values."""
    _check(values, what)
    x = np.asarray(values, dtype=float)
    labels = jackknife.labels(len(x))
    out = {}
    for name, statistic in (("mean", np.mean), ("sd", lambda v: np.std(v, ddof=1))):
        full = float(statistic(x))
        reps = jackknife.replicate(lambda keep, f=statistic: float(f(x[keep])), labels)
        out[name] = jackknife.estimate(full, reps, len(x), "exact", {"what": what})
    return out


def sd_ratio(
    values: Sequence[float], reference_sd: float, jackknife: Jackknife, what: str
) -> Estimate:
    """SD of the personas' values / SD of the reference population (1 = as spread)."""
    _check(values, what)
    x = np.asarray(values, dtype=float)
    labels = jackknife.labels(len(x))
    full = float(np.std(x, ddof=1) / reference_sd)
    reps = jackknife.replicate(lambda keep: float(np.std(x[keep], ddof=1) / reference_sd), labels)
    return jackknife.estimate(
        full, reps, len(x), "sample SD / reference SD", {"what": what, "reference_sd": reference_sd}
    )


def entropy_ratio(
    values: Sequence[str], reference_probs: dict[str, float], jackknife: Jackknife, what: str
) -> Estimate:
    """Entropy of the personas' categories / entropy of the reference distribution.

    Categories outside the reference count as their own categories, so the ratio can
    exceed 1 (more even than the reference).
    """
    _check(values, what)
    arr = np.asarray(values, dtype=object)
    labels = jackknife.labels(len(arr))
    h_ref = shannon_entropy(list(reference_probs.values()))

    def ratio(keep: np.ndarray) -> float:
        return shannon_entropy(list(Counter(arr[keep]).values())) / h_ref

    full = ratio(np.ones(len(arr), dtype=bool))
    return jackknife.estimate(
        full,
        jackknife.replicate(ratio, labels),
        len(arr),
        "entropy / reference entropy",
        {"what": what, "reference_entropy_bits": h_ref},
        (0.0, math.inf),
    )


def collapse_index(ratios: dict[str, float]) -> float:
    """1 - geometric mean of min(1, r_i) over the components' reach ratios r_i.

    Each r_i says how much of a reference population's variety the personas reach on
    one attribute (1 = all of it). The index is 0 when every attribute is as varied as
    the reference, and approaches 1 as any attribute narrows to a single value; the
    geometric mean keeps one collapsed attribute from being averaged away.
    """
    if not ratios:
        raise MetricInputError("the collapse index needs at least one component")
    clipped = [min(1.0, max(r, 1e-9)) for r in ratios.values()]
    return 1.0 - float(np.exp(np.mean(np.log(clipped))))
