"""The measurements of the collapse study, for one model's persona population.

Pure functions of texts, parsed fields and generation results; the study module runs the
models and stores what these return. The collapse index and its components are defined
in ``docs/collapse.md``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from personascope.instruments.adjectives import DOMAINS, find_markers
from personascope.metrics import attributes as attr
from personascope.metrics.estimate import Estimate, Jackknife
from personascope.metrics.trait_reach import CoverageBaseline
from personascope.models.base import GenerationResult
from personascope.personas.fields import ParsedFields
from personascope.reference import occupations as soc
from personascope.reference import population as ref
from personascope.reference.genders import normalize_gender

MIN_VALUES = 5  # fewer parsed values than this: the attribute is reported as not measurable
AGE_RANGE = (0, 120)
AGE_WINDOW = 2  # an age covers the adults within 2 years of it (a 5-year band)
_FIRST_NAME = re.compile(r"[a-z][a-z'-]*")


@dataclass
class Population:
    """One model's personas: texts as written, parsed fields and raw generations."""

    model_id: str
    model_key: str
    kind: str
    texts: list[str]
    parsed: list[ParsedFields]
    results: list[GenerationResult]

    def first_names(self) -> list[str | None]:
        out: list[str | None] = []
        for p in self.parsed:
            match = _FIRST_NAME.match(p.name.lower()) if p.name else None
            out.append(match.group(0) if match else None)
        return out

    def ages(self) -> list[int | None]:
        lo, hi = AGE_RANGE
        return [p.age if p.age is not None and lo <= p.age <= hi else None for p in self.parsed]

    def genders(self) -> list[str | None]:
        return [p.gender for p in self.parsed]

    def occupations(self) -> list[str | None]:
        return [
            " ".join(p.occupation.lower().split()) if p.occupation else None for p in self.parsed
        ]

    def adjectives(self) -> list[tuple[str, ...]]:
        return [p.adjectives for p in self.parsed]


def _present(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def _est(estimate: Estimate) -> dict[str, Any]:
    return estimate.to_dict()


def _not_measured(values: Sequence[Any], what: str) -> dict[str, Any]:
    return {
        "measured": False,
        "n": len(values),
        "reason": f"only {len(values)} personas state a {what} (at least {MIN_VALUES} needed)",
    }


def categorical_summary(values: Sequence[str], jackknife: Jackknife, what: str) -> dict[str, Any]:
    present = _present(values)
    if len(present) < MIN_VALUES:
        return _not_measured(present, what)
    diversity = attr.categorical_diversity(present, jackknife, what)
    return {
        "measured": True,
        "n": len(present),
        **{k: _est(v) for k, v in diversity.items()},
        "top": attr.top_values(present),
    }


def name_summary(names: Sequence[str | None], jackknife: Jackknife) -> dict[str, Any]:
    out = categorical_summary(names, jackknife, "first name")
    if out["measured"]:
        reference = ref.first_names()
        out["reach"] = _est(
            attr.distinct_ratio(_present(names), reference.probs, jackknife, "name")
        )
        out["reference"] = reference.source
    return out


def age_summary(ages: Sequence[int | None], jackknife: Jackknife) -> dict[str, Any]:
    present = _present(ages)
    if len(present) < MIN_VALUES:
        return _not_measured(present, "plausible age")
    reference = ref.ages()
    values = np.asarray(reference.values, dtype=float)
    ref_mean = float((values * reference.probs).sum())
    ref_sd = float(np.sqrt(((values - ref_mean) ** 2 * reference.probs).sum()))
    spread = attr.spread(present, jackknife, "age")
    return {
        "measured": True,
        "n": len(present),
        "values": present,
        "mean": _est(spread["mean"]),
        "sd": _est(spread["sd"]),
        "sd_ratio": _est(attr.sd_ratio(present, ref_sd, jackknife, "age")),
        "reach": _est(
            attr.numeric_reach(present, values, reference.probs, AGE_WINDOW, jackknife, "age")
        ),
        "reference": {"mean": ref_mean, "sd": ref_sd, "source": reference.source},
        "reference_density": _binned_density(values, reference.probs, width=5),
    }


def _binned_density(values: np.ndarray, probs: np.ndarray, width: int) -> dict[str, list[float]]:
    """A probability mass function as a density over ``width``-year bins (bin centres)."""
    edges = np.arange(values.min() // width * width, values.max() + width, width)
    mass, _ = np.histogram(values, bins=edges, weights=probs)
    return {"age": (edges[:-1] + width / 2).tolist(), "density": (mass / width).tolist()}


def _readable(raw: Sequence[str | None], read: Callable[[str], str | None]) -> dict[str, Any]:
    """How many stated values ``read`` could not map, and the raw values."""
    stated = _present(raw)
    unreadable = [v for v in stated if read(v) is None]
    return {
        "stated": len(stated),
        "unreadable": len(unreadable),
        "unreadable_share": len(unreadable) / len(stated) if stated else None,
        "unreadable_top": attr.top_values(unreadable) if unreadable else [],
        "raw_top": attr.top_values(stated) if stated else [],
    }


def gender_summary(genders: Sequence[str | None], jackknife: Jackknife) -> dict[str, Any]:
    """Genders read onto the vocabulary of :mod:`personascope.reference.genders`; reach =
    entropy ratio to the reference sexes over the readable values."""
    read = [normalize_gender(g) if g is not None else None for g in genders]
    out = categorical_summary(read, jackknife, "readable gender")
    out["raw"] = _readable(genders, normalize_gender)
    if out["measured"]:
        reference = ref.genders()
        out["reach"] = _est(
            attr.entropy_ratio(_present(read), reference.as_dict(), jackknife, "gender")
        )
        out["reference"] = {"shares": reference.as_dict(), "source": reference.source}
    return out


def occupation_groups(occupations: Sequence[str | None]) -> list[str | None]:
    """SOC major group of each occupation; None when not stated, unreadable or not a job."""
    groups = [soc.major_group(v) if v is not None else None for v in occupations]
    return [g if g != soc.NOT_EMPLOYED else None for g in groups]


def occupation_summary(occupations: Sequence[str | None], jackknife: Jackknife) -> dict[str, Any]:
    """Occupations as written (distinct share, top values) and as SOC major groups, with
    reach = distinct groups / E[distinct groups among n US jobs] (OEWS May 2025)."""
    out = categorical_summary(occupations, jackknife, "occupation")
    groups = occupation_groups(occupations)
    stated = _present(occupations)
    out["raw"] = _readable(occupations, soc.major_group)
    out["raw"]["not_employed"] = sum(soc.major_group(v) == soc.NOT_EMPLOYED for v in stated)
    mapped = _present(groups)
    titles = soc.group_titles()
    out["major_groups"] = {
        "n": len(mapped),
        "top": [{**t, "title": titles[t["value"]]} for t in attr.top_values(mapped)],
    }
    if len(mapped) >= MIN_VALUES:
        reference = soc.employment()
        out["reach"] = _est(
            attr.distinct_ratio(mapped, reference.probs, jackknife, "occupation group")
        )
        out["reference"] = {"shares": reference.as_dict(), "source": reference.source}
    else:
        out["reach_reason"] = _not_measured(mapped, "mappable occupation")["reason"]
    return out


def desirable_share(adjectives: Sequence[str]) -> dict[str, Any]:
    """Share of trait-marker adjectives at the socially desirable pole.

    Desirable: the high pole of O, C, E, A and the low pole of N (Goldberg 1992 markers).
    """
    hits = [hit for word in adjectives for hit in find_markers(word)]
    if not hits:
        return {"n_markers": 0, "desirable_share": None}
    desirable = sum((hit.key == 1) != (hit.marker.domain == "N") for hit in hits)
    return {"n_markers": len(hits), "desirable_share": desirable / len(hits)}


def adjective_summary(
    adjectives: Sequence[tuple[str, ...]], jackknife: Jackknife
) -> dict[str, Any]:
    flat = [word for words in adjectives for word in words]
    out = categorical_summary(flat, jackknife, "personality adjective")
    out["personas_with_adjectives"] = sum(1 for words in adjectives if words)
    out.update(desirable_share(flat))
    return out


def generation_summary(results: Sequence[GenerationResult], jackknife: Jackknife) -> dict:
    """Mean per-token entropy (nats) and log-probability of the sampled personas."""
    entropy = np.array(
        [np.mean(r.entropies) if r.entropies else np.nan for r in results], dtype=float
    )
    logprob = np.array([r.mean_logprob for r in results], dtype=float)
    out: dict[str, Any] = {
        "n": len(results),
        "mean_tokens": float(np.mean([len(r.token_ids) for r in results])),
        "finish_reasons": {
            reason: sum(r.finish_reason == reason for r in results) for reason in ("stop", "length")
        },
    }
    for name, values in (("token_entropy", entropy), ("token_logprob", logprob)):
        x = values[np.isfinite(values)]
        if len(x) >= 2:
            spread = attr.spread(list(x), jackknife, name)
            out[name] = _est(spread["mean"])
    return out


def text_trait_summary(
    scores: np.ndarray, validity: dict[str, dict[str, Any]], method: str
) -> dict[str, Any]:
    """Spread (SD over personas) of a text-based trait measure, per domain, with validity."""
    per_domain = {}
    for j, domain in enumerate(DOMAINS):
        column = scores[:, j]
        present = column[np.isfinite(column)]
        per_domain[domain] = {
            "n": len(present),
            "mean": float(present.mean()) if len(present) else None,
            "sd": float(present.std(ddof=1)) if len(present) >= 2 else None,
            **validity[domain],
        }
    return {"method": method, "domains": per_domain}


def answered(traits: np.ndarray) -> np.ndarray:
    """The rows of a personas x domains score array with every domain scored (personas
    not asked, or without a readable answer, are NaN)."""
    return traits[np.all(np.isfinite(traits), axis=1)]


def index_components(
    names: Sequence[str | None],
    ages: Sequence[int | None],
    genders: Sequence[str | None],
    occupations: Sequence[str | None] = (),
    traits: np.ndarray | None = None,
    trait_baseline: CoverageBaseline | None = None,
) -> Callable[[np.ndarray], dict[str, float]]:
    """A function of a persona mask giving the reach of each measurable attribute (see
    docs/collapse.md and :func:`personascope.metrics.attributes.collapse_index`):

    * first names, occupations (SOC major groups): distinct values / E[distinct values in
      n draws from the reference distribution];
    * ages: min(SD / adult SD, adult mass within ``AGE_WINDOW`` years of a stated age /
      its expectation for n random adults)
      (:func:`personascope.metrics.attributes.numeric_reach_value`);
    * genders (read onto the vocabulary, unreadable ones left out): entropy / reference
      entropy;
    * self-report traits: coverage of the human reference / coverage n people reach
      (:mod:`personascope.metrics.trait_reach`); ``traits`` (personas x domains, NaN rows
      for personas not asked) with ``trait_baseline``, passed only when the self-report
      measurement is valid.

    Every reach sees copies: n personas that are copies of k distinct ones reach no more
    than k distinct values or what k values cover.
    """
    stated = {
        "first names": (names, ref.first_names),
        "occupations": (occupation_groups(occupations), soc.employment),
    }
    columns = {  # a reference is loaded only for an attribute that can be measured
        name: (np.asarray(values, dtype=object), reference().probs)
        for name, (values, reference) in stated.items()
        if len(_present(values)) >= MIN_VALUES
    }
    ages_arr = np.asarray([np.nan if a is None else a for a in ages], dtype=float)
    if np.isfinite(ages_arr).sum() >= MIN_VALUES:
        age_values, age_probs = np.asarray(ref.ages().values, dtype=float), ref.ages().probs
    read_genders = np.asarray(
        [normalize_gender(g) if g is not None else None for g in genders], dtype=object
    )
    gender_entropy = attr.shannon_entropy(list(ref.genders().as_dict().values()))

    def components(keep: np.ndarray) -> dict[str, float]:
        out = {}
        for name, (values, probs) in columns.items():
            kept = [v for v in values[keep] if v is not None]
            if len(kept) >= MIN_VALUES:
                out[name] = len(set(kept)) / attr.expected_distinct(probs, len(kept))
        kept_genders = [v for v in read_genders[keep] if v is not None]
        kept_ages = ages_arr[keep][np.isfinite(ages_arr[keep])]
        if len(kept_ages) >= MIN_VALUES:
            out["ages"] = attr.numeric_reach_value(kept_ages, age_values, age_probs, AGE_WINDOW)
        if len(kept_genders) >= MIN_VALUES:
            counts = Counter(kept_genders).values()
            out["genders"] = attr.shannon_entropy(list(counts)) / gender_entropy
        if traits is not None and trait_baseline is not None:
            rows = answered(traits[keep])
            if len(rows) >= MIN_VALUES:
                out["self-report traits"] = trait_baseline.reach(rows)
        return out

    return components


def collapse_index(
    components: Callable[[np.ndarray], dict[str, float]], n: int, jackknife: Jackknife
) -> dict[str, Any]:
    """The collapse index with a jackknife interval over personas, and its components.

    Replicates use the components measurable on the full population; a replicate that
    loses one of them is undefined and the interval is then omitted.
    """
    everyone = np.ones(n, dtype=bool)
    full = components(everyone)
    if not full:
        return {"measured": False, "reason": "no attribute could be read from enough personas"}
    labels = jackknife.labels(n)

    def index(keep: np.ndarray) -> float:
        part = components(keep)
        if set(part) != set(full):
            return float("nan")
        return attr.collapse_index(part)

    estimate = jackknife.estimate(
        attr.collapse_index(full),
        jackknife.replicate(index, labels),
        n,
        "1 - geometric mean of min(1, reach ratio) over attributes",
        {"components": sorted(full)},
        (0.0, 1.0),
    )
    return {"measured": True, "index": estimate.to_dict(), "components": full}
