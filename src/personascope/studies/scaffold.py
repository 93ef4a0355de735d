"""Scaffold study: which outside structure buys the most diversity without losing fidelity?

For one model (by default the first chat model of the audit), every generation strategy
gets the same budget of generated tokens (prompt tokens and judge calls not counted):
:func:`~personascope.personas.strategies.generate_population` keeps the longest prefix
of units that fits. Each population is deduplicated, then measured twice:

* **diversity**: the metric panel (:func:`personascope.metrics.panel.text_panel`) of the
  descriptions, at a matched n (the smallest population, the others subsampled without
  replacement) and a matched length (texts cut to the smallest median length), so
  strategies are not ranked by how many or how long texts they wrote;
* **fidelity**: attributes scored back from the text with choice requests
  (:mod:`personascope.personas.fidelity`): the attributes code assigned (layered,
  diasynth, marginals, simulator) or, for strategies that assign none (naive, sampling,
  verbalized), the gender and age range the profile itself stated, read back from its
  description body. Summarised as the mean chance-corrected accuracy over attributes
  with a bootstrap CI over personas.

Findings (:class:`~personascope.findings.scaffold.ScaffoldFindings`): ``table`` (one row
per strategy, with wall time, tokens, failures, dedup) and ``pareto`` (the points and which
lie on the diversity-fidelity Pareto front) for the report's plot. Persona files per
strategy are written to ``<run>/scaffold/``. Settings: :class:`Settings`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import PersonascopeError
from personascope.findings import from_json
from personascope.findings.scaffold import (
    Dedup,
    Diversity,
    Fidelity,
    Matching,
    Panel,
    Pareto,
    ParetoPoint,
    ScaffoldFindings,
    ScaffoldTable,
    StrategyRow,
    WallTime,
)
from personascope.metrics.estimate import jsonable
from personascope.metrics.matching import truncate_words, word_counts
from personascope.metrics.panel import PanelSettings, text_panel
from personascope.models.base import ModelKind
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.personas.dedup import DEFAULT_THRESHOLD, deduplicate
from personascope.personas.io import write_personas
from personascope.personas.pipeline import score_fidelity
from personascope.personas.strategies import (
    STRATEGY_NAMES,
    Job,
    Strategy,
    generate_population,
    make_strategy,
)
from personascope.personas.strategies.base import strategy_diagnostics
from personascope.studies.base import Study, StudyContext

ASSIGNED = ("layered", "diasynth", "marginals", "simulator")


@dataclass(frozen=True)
class Settings:
    """A ``scaffold`` section of ``audit.yaml`` may override any field.

    ``model`` and ``judge`` are model ids (default: the audit's first chat model, which
    also judges); ``strategies`` names strategies (None: all); ``max_targets`` is per
    persona; ``diversity_metric`` is a panel metric; ``configs`` maps a strategy name to
    its settings; ``syntactic`` adds the part-of-speech metrics to the panel.
    """

    model: str | None = None
    judge: str | None = None
    strategies: tuple[str, ...] | None = None
    token_budget: int = 1200
    max_targets: int = 3
    diversity_metric: str = "mean_cosine_distance"
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    syntactic: bool = True


# The quick preset shrinks the strategies whose single unit would eat most of a small budget.
QUICK = Settings(
    token_budget=320,
    max_targets=2,
    configs={"verbalized": {"k": 3, "sampler": {"max_tokens": 240}}, "simulator": {"turns": 2}},
    syntactic=False,
)
FALLBACK_METRIC = "distinct_2"
MIN_MATCHED_WORDS = 10
MIN_MATCHED_N = 5


def pareto_front(points: dict[str, tuple[float, float]]) -> set[str]:
    """Names of the points no other point dominates (>= on both axes, > on one)."""
    front = set()
    for name, (x, y) in points.items():
        dominated = any(
            (ox >= x and oy >= y) and (ox > x or oy > y)
            for other, (ox, oy) in points.items()
            if other != name
        )
        if not dominated:
            front.add(name)
    return front


def matched_texts(
    populations: dict[str, list[str]], seed: int
) -> tuple[dict[str, list[str]], Matching]:
    """Every population at the same n (subsampled without replacement) and cut to the
    same number of words: the smallest median length, but at least ``MIN_MATCHED_WORDS``
    (one strategy's degenerate three-word outputs would otherwise cut every text to
    three words; texts shorter than the cut stay as they are). Strategies with fewer than
    ``MIN_MATCHED_N`` personas are left out when at least two others reach it, so that
    one starved strategy does not shrink every comparison to a handful of texts."""
    enough = sum(len(v) >= MIN_MATCHED_N for v in populations.values()) >= 2
    floor = MIN_MATCHED_N if enough else 2
    usable = {k: v for k, v in populations.items() if len(v) >= floor}
    if not usable:
        return {}, Matching(n=0, note="no strategy produced two or more unique personas")
    n = min(len(v) for v in usable.values())
    rng = np.random.default_rng([seed, 11])
    picked = {}
    for name, texts in usable.items():
        index = np.sort(rng.choice(len(texts), size=n, replace=False))
        picked[name] = [texts[int(i)] for i in index]
    shortest = int(min(np.median(word_counts(t)) for t in picked.values()))
    length = max(MIN_MATCHED_WORDS, shortest)
    record = Matching(
        n=n,
        from_n={k: len(v) for k, v in populations.items()},
        truncated_to_words=length,
        length_floor=MIN_MATCHED_WORDS,
        seed=seed,
        excluded=sorted(set(populations) - set(usable)),
    )
    return {k: [truncate_words(t, length) for t in v] for k, v in picked.items()}, record


def _distinct(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The distinct mappings of a list, in first-seen order."""
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


class ScaffoldStudy(Study[Settings, ScaffoldFindings]):
    name = "scaffold"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        unknown = sorted(set(settings.strategies or ()) - set(STRATEGY_NAMES))
        if unknown:
            raise PersonascopeError(
                f"scaffold.strategies: unknown strategy {unknown[0]!r}; "
                f"known: {', '.join(STRATEGY_NAMES)}"
            )
        if settings.token_budget < 1 or settings.max_targets < 1:
            raise PersonascopeError("scaffold settings token_budget and max_targets must be >= 1")
        for name, config in settings.configs.items():  # a bad strategy config fails now
            make_strategy(name, config, f"scaffold.configs.{name}")

    def model(self, ctx: StudyContext, settings: Settings) -> ModelSpec:
        if settings.model:
            return resolve(settings.model)
        if not ctx.models:
            raise PersonascopeError("the scaffold study needs a model")
        chat = [s for s in ctx.models if ctx.kind(s) == "chat"]
        return (chat or ctx.models)[0]

    def strategy(self, name: str, settings: Settings) -> Strategy:
        data = settings.configs.get(name)
        if data is None:
            return make_strategy(name)
        return make_strategy(name, data, f"scaffold.configs.{name}")

    def run(self, ctx: StudyContext, settings: Settings) -> ScaffoldFindings:
        spec = self.model(ctx, settings)
        kind = ctx.kind(spec)
        judge = resolve(settings.judge) if settings.judge else spec
        judge_kind = ctx.kind(judge)
        budget = settings.token_budget
        names = list(settings.strategies or STRATEGY_NAMES)
        rows: dict[str, StrategyRow] = {}
        texts: dict[str, list[str]] = {}
        for name in names:
            rows[name], texts[name] = self._measure(
                ctx, name, settings, spec, kind, judge, judge_kind, budget
            )
        metric, diversity, matching = self._diversity(ctx, texts, settings)
        for name, row in rows.items():
            row.diversity = diversity.get(name)
        table = ScaffoldTable(
            model_id=spec.model_id,
            model_key=spec.key,
            kind=kind,
            judge=judge.model_id,
            token_budget=budget,
            budget_counts="generated tokens of every model call; judge calls not counted",
            seed=ctx.seed,
            diversity_metric=metric,
            matching=matching,
            rows=rows,
        )
        pareto = self._pareto(rows, metric)
        return ScaffoldFindings(table=table, pareto=pareto)

    def _measure(
        self,
        ctx: StudyContext,
        name: str,
        settings: Settings,
        spec: ModelSpec,
        kind: ModelKind,
        judge: ModelSpec,
        judge_kind: ModelKind,
        budget: int,
    ) -> tuple[StrategyRow, list[str]]:
        started = time.perf_counter()
        strategy = self.strategy(name, settings)
        job = Job(ctx.runner, spec, kind, ctx.seed, f"scaffold {name}")
        population = generate_population(strategy, job, token_budget=budget)
        dedup = deduplicate([p.description for p in population.personas], DEFAULT_THRESHOLD)
        kept = [population.personas[i] for i in dedup.kept]
        generated_s = time.perf_counter() - started
        fidelity = score_fidelity(
            ctx.runner,
            judge,
            judge_kind,
            strategy,
            kept,
            label=f"scaffold {name} fidelity",
            max_targets=settings.max_targets,
        )
        if kept:
            write_personas(Path(ctx.out_dir) / "scaffold" / f"{name}.jsonl", kept)
        names = [p.name for p in kept if p.name]
        row = StrategyRow(
            **population.summary(),
            n_unique=len(kept),
            dedup=Dedup(**dedup.summary()),
            fidelity_basis="assigned" if name in ASSIGNED else "stated",
            strategy_diagnostics=jsonable(strategy_diagnostics(strategy)),
            templates=sorted({p.provenance.template for p in kept if p.provenance}),
            samplers=jsonable(_distinct([p.provenance.sampler for p in kept if p.provenance])),
            fidelity=from_json(Fidelity, jsonable(fidelity), f"scaffold.{name}.fidelity"),
            named_share=len(names) / len(kept) if kept else None,
            distinct_name_share=len(set(names)) / len(names) if names else None,
            wall_s=WallTime(
                generate=round(generated_s, 2),
                total=round(time.perf_counter() - started, 2),
            ),
        )
        return row, [p.description for p in kept]

    def _diversity(
        self, ctx: StudyContext, texts: dict[str, list[str]], settings: Settings
    ) -> tuple[str, dict[str, Diversity], Matching]:
        """The headline metric, each strategy's panel at matched n and length, and the
        matching record."""
        matched, record = matched_texts(texts, ctx.seed)
        semantic = True
        embedder = None
        try:
            from personascope.metrics.embedding import Embedder

            embedder = Embedder(ctx.store)
        except PersonascopeError as exc:  # the embedder package is missing
            semantic, record.semantic_note = False, str(exc)
        panel_settings = PanelSettings(syntactic=settings.syntactic, semantic=semantic)
        metric = settings.diversity_metric
        if not semantic and metric == "mean_cosine_distance":
            metric = FALLBACK_METRIC
        out: dict[str, Diversity] = {}
        for name, group in matched.items():
            panel = jsonable(text_panel(group, settings=panel_settings, embedder=embedder))
            out[name] = Diversity(
                headline=panel["metrics"].get(metric),
                panel=from_json(Panel, panel, f"scaffold.{name}.diversity.panel"),
            )
        return metric, out, record

    @staticmethod
    def _pareto(rows: dict[str, StrategyRow], metric: str) -> Pareto:
        points = {}
        listed = []
        for name, row in rows.items():
            headline = (row.diversity.headline if row.diversity else None) or {}
            overall = row.fidelity.overall
            x, y = headline.get("value"), overall.value
            usable = x is not None and y is not None and np.isfinite(x) and np.isfinite(y)
            if usable:
                points[name] = (float(x), float(y))
            listed.append(
                ParetoPoint(
                    strategy=name,
                    diversity=x,
                    diversity_ci=[headline.get("low"), headline.get("high")],
                    fidelity=y,
                    fidelity_ci=[overall.low, overall.high],
                    fidelity_basis=row.fidelity_basis,
                    n=row.n_unique,
                    on_front=False,
                )
            )
        front = pareto_front(points)
        for point in listed:
            point.on_front = point.strategy in front
        return Pareto(
            x=f"diversity: {metric} at matched n and length",
            y="fidelity: mean chance-corrected accuracy of scored-back attributes",
            points=listed,
        )
