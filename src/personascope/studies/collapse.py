"""Collapse study: do aligned models write a narrower population of personas?

For each model: N naive personas (every model is asked for the same fields: name, age,
gender, occupation, three personality adjectives, a description), then

1. attribute-level diversity — first names, ages, genders, occupations, adjectives —
   against reference populations (US SSA names, ages and sexes; BLS OEWS employment by
   SOC major group) at the same n;
2. text diversity (lexical, syntactic, semantic), per model and at matched n and length
   across models;
3. how much of the population one mode takes (largest near-duplicate cluster, top name,
   top occupation, top adjective) and the mean per-token entropy of generation;
4. Big-Five trait vectors two ways, each with a validity verdict: self-report (Mini-IPIP
   with the persona as prefix, scored by option log-probabilities, spread against the
   19,719 human respondents) and text-based (trait-adjective lexicon; embedding
   projection on trait-pole anchors);
5. the collapse index (docs/collapse.md) with a jackknife interval over personas.

Everything is returned as :class:`~personascope.findings.collapse.CollapseFindings`:
per-model tables and headlines, the personas (texts, fields and trait coordinates for the
figures) and the provenance.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import PersonascopeError
from personascope.findings.collapse import CollapseFindings
from personascope.instruments.adjectives import DOMAINS
from personascope.instruments.administration import Condition, administer, prompt_template
from personascope.instruments.inventory import load_inventory
from personascope.instruments.norms import load_norms, sample_reference
from personascope.instruments.text_traits import (
    anchor_traits,
    anchor_validity,
    lexicon_traits,
    lexicon_validity,
    load_anchors,
)
from personascope.instruments.validity import diagnose
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import Jackknife, jsonable
from personascope.metrics.matching import match_populations
from personascope.metrics.panel import HUMAN_REFERENCE_N, PanelSettings, reach_section, text_panel
from personascope.metrics.trait_reach import human_baseline
from personascope.models.base import SamplerSettings
from personascope.outputs import atomic_output
from personascope.personas.fields import parse_fields
from personascope.personas.naive import NAIVE_STOP, TEMPLATES, naive_requests, persona_text
from personascope.studies import collapse_measures as cm
from personascope.studies.base import Study, StudyContext


@dataclass(frozen=True)
class Settings:
    """Sizes; a ``collapse`` section of ``audit.yaml`` may override any field.

    Self-report costs 20 choice requests per persona: it is given to the first
    ``self_report_personas`` personas (none in the quick preset, where the text-based
    traits still are measured).
    """

    n_personas: int = 60
    self_report_personas: int = 12


QUICK = Settings(n_personas=12, self_report_personas=0)
SELF_REPORT_INVENTORY = "mini_ipip"
SAMPLER = SamplerSettings(temperature=1.0, max_tokens=160)
HUMAN_SAMPLE = 2000  # human reference points drawn from the norms for coverage and plots


class CollapseStudy(Study[Settings, CollapseFindings]):
    name = "collapse"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        if settings.n_personas < 2:
            raise PersonascopeError(
                f"collapse setting n_personas must be >= 2, got {settings.n_personas}"
            )
        if settings.self_report_personas < 0:
            raise PersonascopeError(
                "collapse setting self_report_personas must be >= 0, got "
                f"{settings.self_report_personas}"
            )

    def run(self, ctx: StudyContext, settings: Settings) -> CollapseFindings:
        n = settings.n_personas
        k = min(n, settings.self_report_personas)
        jackknife = Jackknife(seed=ctx.seed)
        embedder = Embedder(ctx.store)
        populations = [self._generate(ctx, spec, n) for spec in ctx.models]
        self._write_personas(ctx, populations)

        norms = load_norms(SELF_REPORT_INVENTORY)
        if norms is None:
            raise PersonascopeError(f"no human norms ship for {SELF_REPORT_INVENTORY}")
        reference = sample_reference(HUMAN_REFERENCE_N, ctx.seed, SELF_REPORT_INVENTORY)
        baseline = human_baseline(norms, reference, ctx.seed) if k >= 2 else None
        anchors = load_anchors(embedder)
        anchor_check = anchor_validity(anchors)
        panel_settings = PanelSettings(jackknife=jackknife)
        models: dict[str, Any] = {}
        points: dict[str, Any] = {}
        for pop in populations:
            spec = next(s for s in ctx.models if s.model_id == pop.model_id)
            vectors = embedder.embed(pop.texts)
            self_report, validity = self._self_report(ctx, spec, pop, k)
            lexicon = lexicon_traits(pop.texts)
            projected = anchor_traits(vectors, anchors)
            valid_traits = validity["verdict"] == "valid"
            components = cm.index_components(
                pop.first_names(),
                pop.ages(),
                pop.genders(),
                pop.occupations(),
                self_report if valid_traits else None,
                baseline if valid_traits else None,
            )
            panel = text_panel(pop.texts, settings=panel_settings, embeddings=vectors)
            models[pop.model_id] = {
                "kind": pop.kind,
                "model_key": pop.model_key,
                "n": len(pop.texts),
                "parse_failures": _failures(pop),
                "names": cm.name_summary(pop.first_names(), jackknife),
                "ages": cm.age_summary(pop.ages(), jackknife),
                "genders": cm.gender_summary(pop.genders(), jackknife),
                "occupations": cm.occupation_summary(pop.occupations(), jackknife),
                "adjectives": cm.adjective_summary(pop.adjectives(), jackknife),
                "generation": cm.generation_summary(pop.results, jackknife),
                "text": panel,
                "self_report": {
                    "inventory": SELF_REPORT_INVENTORY,
                    "n": k,
                    "validity": validity,
                    "t_scores_sd": _sd(norms.t_scores(self_report[:k])) if k >= 2 else None,
                    "sd_ratio_to_humans": jsonable(
                        np.std(self_report[:k], axis=0, ddof=1) / norms.sd
                    )
                    if k >= 2
                    else None,
                    "used_in_index": valid_traits,
                    **(
                        reach_section(cm.answered(self_report), baseline, jackknife)
                        if baseline is not None and len(cm.answered(self_report)) >= 2
                        else {}
                    ),
                },
                "lexicon_traits": cm.text_trait_summary(
                    lexicon, lexicon_validity(lexicon), "Goldberg (1992) marker lexicon"
                ),
                "anchor_traits": cm.text_trait_summary(
                    projected, anchor_check, "projection on trait-pole anchor embeddings"
                ),
                "collapse": cm.collapse_index(components, len(pop.texts), jackknife),
            }
            points[pop.model_id] = {
                "texts": pop.texts,
                "fields": [p.as_dict() for p in pop.parsed],
                "self_report_t": jsonable(norms.t_scores(self_report)),
                "lexicon": jsonable(lexicon),
                "anchor": jsonable(projected),
            }
        findings = {
            "n_requested": n,
            "domains": list(DOMAINS),
            "models": models,
            "matched_text": self._matched(populations, panel_settings, embedder),
            "human_reference": {
                "source": norms.source,
                "n": norms.n,
                "t_scores": norms.t_scores(
                    sample_reference(HUMAN_SAMPLE, ctx.seed, SELF_REPORT_INVENTORY)
                ),
            },
            "personas": points,
            "provenance": self._provenance(ctx, populations, n),
        }
        return CollapseFindings.from_json(jsonable(findings))

    # -- stages ------------------------------------------------------------------------

    def _generate(self, ctx: StudyContext, spec: Any, n: int) -> cm.Population:
        kind = ctx.kind(spec)
        requests = [
            replace(r, want_entropy=True) for r in naive_requests(kind, n, ctx.seed, SAMPLER)
        ]
        generations = ctx.runner.generate(spec, requests, label=f"personas {spec.model_id}")
        texts = [persona_text(kind, r.text) for r in generations]
        return cm.Population(
            spec.model_id, spec.key, kind, texts, [parse_fields(t) for t in texts], generations
        )

    def _self_report(
        self, ctx: StudyContext, spec: Any, pop: cm.Population, k: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Domain scores (k x 5; NaN rows for personas not asked) and the validity verdict
        of the Mini-IPIP given with each of the first k personas as prefix."""
        scores = np.full((len(pop.texts), len(DOMAINS)), np.nan)
        if k < 2:
            reason = (
                "not measured: the self-report needs at least 2 personas "
                f"(collapse.self_report_personas is {k})"
            )
            return scores, {"verdict": "not measured", "summary": reason}
        admin = administer(
            ctx.runner,
            spec,
            pop.texts[:k],
            SELF_REPORT_INVENTORY,
            Condition(),
            kind=pop.kind,  # type: ignore[arg-type]
            label=f"self-report {pop.model_id}",
        )
        scores[:k] = admin.scores.domain
        return scores, diagnose(admin).to_dict()

    def _write_personas(self, ctx: StudyContext, populations: list[cm.Population]) -> None:
        target = Path(ctx.out_dir) / "personas.jsonl"
        with atomic_output(target) as tmp, tmp.open("w", encoding="utf-8") as out:
            for pop in populations:
                for i, (text, parsed, result) in enumerate(
                    zip(pop.texts, pop.parsed, pop.results, strict=True)
                ):
                    row = {
                        "model_id": pop.model_id,
                        "model_key": pop.model_key,
                        "seed": ctx.seed + i,
                        "description": text,
                        "fields": parsed.as_dict(),
                        "finish_reason": result.finish_reason,
                        "mean_logprob": result.mean_logprob,
                    }
                    out.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")

    def _matched(
        self, populations: list[cm.Population], settings: PanelSettings, embedder: Embedder
    ) -> dict[str, Any]:
        if len(populations) < 2:
            return {"compared": False, "reason": "one model: nothing to compare"}
        matched, record = match_populations(
            {p.model_id: p.texts for p in populations}, seed=settings.jackknife.seed
        )
        return {
            "compared": True,
            "matching": record,
            "panels": {
                model_id: text_panel(texts, settings=settings, embedder=embedder)
                for model_id, texts in matched.items()
            },
        }

    def _provenance(
        self, ctx: StudyContext, populations: list[cm.Population], n: int
    ) -> dict[str, Any]:
        return {
            "personas_per_model": n,
            "seeds": [ctx.seed, ctx.seed + n - 1],
            "sampler": {**asdict(SAMPLER), "stop": list(NAIVE_STOP)},
            "self_report_personas": "the first models.*.self_report.n personas of each model",
            "want_entropy": True,
            "templates": {kind: TEMPLATES[kind].text for kind in ("chat", "base")},
            "self_report": {
                pop.model_id: prompt_template(
                    load_inventory(SELF_REPORT_INVENTORY),
                    pop.kind,  # type: ignore[arg-type]
                    Condition(),
                )
                for pop in populations
            },
            "models": {pop.model_id: pop.model_key for pop in populations},
        }


def _failures(pop: cm.Population) -> dict[str, int]:
    counts: dict[str, int] = {}
    for parsed in pop.parsed:
        for name in parsed.failures:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _sd(values: np.ndarray) -> list[float | None]:
    return jsonable(np.nanstd(values, axis=0, ddof=1))
