"""Measure each checkpoint on held-out frames: the persona attributes, the texts, and how
typical its samples are for the base model.

Every checkpoint answers the same requests (held-out frames x the same seeds). Per
checkpoint:

* attributes parsed from each profile (:func:`personascope.personas.fields.parse_fields`):
  first names (entropy, distinct and repeated shares, mass of the US reference covered),
  stated ages (mean, SD, share under 18; adult bands against the reference), occupations,
  personality adjectives (pooled entropy and distinct share) and the ``polish`` score of the
  stated personality (:mod:`personascope.lab.attributes`, :mod:`personascope.lab.rewards`);
* what n real US adults would show at the same n (:func:`attributes.reference_expectation`
  on :mod:`personascope.reference.population`);
* text diversity at matched length: every profile cut to the same number of word tokens
  (the smallest median length over the checkpoints), then the metrics panel
  (:func:`personascope.metrics.panel.text_panel`: distinct-n, EAD, self-BLEU, and with an
  embedder mean cosine distance and Vendi scores);
* typicality: the mean per-token log-probability of each completion under the base model,
  log p_base(y | x) / T with T the completion's token count, read through a choice request
  (option 0 is the completion; option 1 is unused because a choice request needs two
  options: a single newline, one token, which costs no extra evaluation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from personascope.lab import attributes as attr
from personascope.lab.frames import profile_text
from personascope.lab.pairs import words
from personascope.lab.rewards import Sample, polish
from personascope.metrics.estimate import Jackknife
from personascope.metrics.matching import truncate_words, word_counts
from personascope.models.base import (
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
)
from personascope.personas.fields import ParsedFields, failure_counts, parse_fields
from personascope.reference import population


def base_scoring_requests(
    requests: Sequence[GenerationRequest], results: Sequence[GenerationResult]
) -> list[ChoiceRequest]:
    """One choice request per non-empty completion (see the module docstring)."""
    return [
        ChoiceRequest(q.prompt, (r.text, "\n" if r.text != "\n" else " "))
        for q, r in zip(requests, results, strict=True)
        if r.text and r.token_ids
    ]


def base_logprobs(
    results: Sequence[GenerationResult], scored: Sequence[ChoiceResult]
) -> list[float]:
    """Per-token log-probability under the base model of each non-empty completion."""
    kept = [r for r in results if r.text and r.token_ids]
    return [c.logprobs[0] / len(r.token_ids) for r, c in zip(kept, scored, strict=True)]


def attribute_findings(
    completions: Sequence[str], jackknife: Jackknife, seed: int = 0
) -> dict[str, Any]:
    """Attribute statistics of one checkpoint's completions, with the reference at the
    same n."""
    parsed: list[ParsedFields] = [parse_fields(profile_text(c)) for c in completions]
    names = [attr.first_name(p.name) for p in parsed]
    name_ref = population.first_names()
    name_probs = name_ref.as_dict()
    ages_ref = population.ages()
    out: dict[str, Any] = {
        "n": len(completions),
        "parse_failures": failure_counts(parsed),
        "first_names": attr.categorical_summary(names, jackknife, name_probs),
        "ages": attr.age_summary([p.age for p in parsed], jackknife, ages_ref),
        "occupations": attr.categorical_summary(
            [attr.normalize_value(p.occupation) for p in parsed], jackknife
        ),
        "adjectives": attr.pooled_summary([p.adjectives for p in parsed], jackknife),
        "polish": attr.mean_summary(
            [polish(Sample("", 0, c, ())) for c in completions], jackknife, "polish"
        ),
        "words": attr.mean_summary([float(words(c)) for c in completions], jackknife, "words"),
    }
    n_names = out["first_names"]["n"]
    out["first_names"]["reference"] = attr.reference_expectation(
        name_ref,
        n_names,
        {
            "entropy_bits": attr.entropy_bits,
            "unique_share": attr.unique_share,
            "repeat_share": attr.repeat_share,
            "reference_mass": lambda v: attr.reference_mass(v, name_probs),
        },
        seed=seed,
    )
    bands = out["ages"].get("bands", {})
    out["ages"]["reference"] = {
        "sd": attr.distribution_sd(ages_ref),
        "source": ages_ref.source,
        "bands": attr.reference_expectation(
            ages_ref,
            bands.get("n", 0),
            {"entropy_bits": attr.entropy_bits},
            seed=seed,
            transform=lambda a: attr.age_band(int(a)),
        ),
    }
    return out


def matched_text_metrics(
    profiles: dict[int, list[str]], jackknife: Jackknife, embedder: Any | None
) -> dict[int, dict[str, Any]]:
    """The metrics panel of each checkpoint's profiles, all cut to one length (the smallest
    median word-token count over the checkpoints)."""
    from personascope.metrics.panel import PanelSettings, text_panel

    length = max(1, int(min(np.median(word_counts(texts)) for texts in profiles.values())))
    settings = PanelSettings(syntactic=False, semantic=embedder is not None, jackknife=jackknife)
    out = {}
    for step, texts in profiles.items():
        cut = [truncate_words(t, length) for t in texts]
        panel = text_panel(cut, settings=settings, embedder=embedder)
        out[step] = {"truncated_to_words": length, **panel}
    return out
