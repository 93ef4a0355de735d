"""Generation pipelines over the runner: unique populations and fidelity scoring.

* :func:`generate_unique` generates with a strategy, drops exact and near duplicates and
  tops the population up (with further units) until ``n`` unique personas exist or
  twice the requested units were tried;
* :func:`score_fidelity` scores each persona's assigned attributes back from its text
  with choice requests to a judge model, plus the adjective lexicon for Big Five targets;
* :func:`run_generate` is the ``personascope generate`` command: both, plus the file.

Both run everything through the runner (``Runner.generate`` and ``Runner.score``), so they
are cached and resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from personascope.errors import PersonascopeError
from personascope.models.base import ModelKind
from personascope.models.catalog import ModelSpec
from personascope.personas.dedup import DEFAULT_THRESHOLD, deduplicate
from personascope.personas.fidelity import (
    JUDGE_TEMPLATE,
    agreement_table,
    judgements,
    lexicon_agreement,
    overall_fidelity,
    plan_judgements,
)
from personascope.personas.io import file_format, write_personas
from personascope.personas.persona import Persona
from personascope.personas.strategies import (
    Job,
    Population,
    Strategy,
    generate_population,
)
from personascope.personas.strategies.base import strategy_diagnostics
from personascope.runner import Runner


@dataclass
class UniquePopulation:
    population: Population
    personas: list[Persona]
    dedup: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {**self.population.summary(), "n_unique": len(self.personas), "dedup": self.dedup}


def generate_unique(
    strategy: Strategy,
    job: Job,
    n: int,
    threshold: float | None = DEFAULT_THRESHOLD,
    max_factor: float = 2.0,
) -> UniquePopulation:
    """``n`` personas without duplicates (``threshold`` None: no deduplication).

    Deduplication runs on the descriptions; dropped duplicates are replaced by further
    units until n remain or ``max_factor * n`` personas were generated.
    """
    target = n
    while True:
        population = generate_population(strategy, job, n=target)
        if threshold is None:
            return UniquePopulation(population, population.personas, {})
        result = deduplicate([p.description for p in population.personas], threshold)
        kept = [population.personas[i] for i in result.kept]
        short = n - len(kept)
        exhausted = len(population.personas) < target or target >= max_factor * n
        if short <= 0 or exhausted:
            return UniquePopulation(population, kept[:n], result.summary())
        target = min(int(max_factor * n), target + short)


def check_generate_args(output: Path, dedup_threshold: float | None) -> None:
    """Arguments of ``generate`` that can be wrong before any model runs."""
    file_format(output)
    if dedup_threshold is not None and not 0 < dedup_threshold <= 1:
        raise PersonascopeError(
            f"--dedup must be in (0, 1] (0: no deduplication), not {dedup_threshold}"
        )


def run_generate(
    runner: Runner,
    spec: ModelSpec,
    strategy: Strategy,
    n: int,
    output: Path,
    config: Path | None = None,
    seed: int = 0,
    dedup_threshold: float | None = DEFAULT_THRESHOLD,
    fidelity: bool = False,
) -> dict[str, Any]:
    """What ``personascope generate`` does: generate, deduplicate, optionally score
    fidelity, write the persona file, store a finding; returns the summary (with a
    one-paragraph ``message`` for the user)."""
    check_generate_args(output, dedup_threshold)
    strategy_name = strategy.name
    kind = spec.kind or runner.model_info(spec).kind
    job = Job(runner, spec, kind, seed, f"{strategy_name} personas")
    unique = generate_unique(strategy, job, n, dedup_threshold)
    if not unique.personas:
        raise PersonascopeError(
            f"{strategy_name} on {spec.model_id} produced no usable persona "
            f"(failures: {unique.population.failures}); nothing to write"
        )
    summary: dict[str, Any] = {
        **unique.summary(),
        "model_id": spec.model_id,
        "model_key": spec.key,
        "seed": seed,
        "config": str(config) if config else None,
        "output": str(output),
        "strategy_diagnostics": strategy_diagnostics(strategy),
    }
    if fidelity:
        summary["fidelity"] = score_fidelity(runner, spec, kind, strategy, unique.personas)
    write_personas(output, unique.personas)
    runner.store.put_finding("generate", f"{strategy_name}:{output}", summary, runner.run_id)
    summary["message"] = generate_message(summary)
    return summary


def generate_message(summary: dict[str, Any]) -> str:
    dedup = summary["dedup"]
    lines = [f"wrote {summary['n_unique']} personas to {summary['output']}"]
    if dedup:
        lines.append(
            f"duplicates dropped: {dedup['dropped_exact']} exact, {dedup['dropped_near']} near "
            f"(threshold {dedup['threshold']})"
        )
    if summary["failures"]:
        counted = ", ".join(f"{k} {v}" for k, v in summary["failures"].items())
        lines.append(f"counted failures: {counted}")
    if "fidelity" in summary:
        overall = summary["fidelity"]["overall"]
        if overall["value"] is None:
            lines.append("fidelity: no assigned or stated attribute to score back")
        else:
            lines.append(
                f"fidelity (chance-corrected accuracy): {overall['value']:.2f} "
                f"[{overall['ci'][0]:.2f}, {overall['ci'][1]:.2f}]"
            )
        for attribute, row in summary["fidelity"]["attributes"].items():
            lines.append(
                f"  {attribute}: {row['accuracy']:.2f} vs chance {row['chance']:.2f} "
                f"(n {row['n']}; {row['verdict']})"
            )
    return "\n".join(lines)


def score_fidelity(
    runner: Runner,
    judge: ModelSpec,
    judge_kind: ModelKind,
    strategy: Strategy,
    personas: list[Persona],
    label: str = "fidelity",
    max_targets: int | None = None,
) -> dict[str, Any]:
    """Agreement between assigned and scored-back attributes (see ``fidelity``).

    ``max_targets`` keeps at most that many targets per persona (the first ones), to
    bound the cost in quick runs.
    """
    items = []
    for persona in personas:
        targets = strategy.targets(persona)
        items.extend((persona.id, persona.description, t) for t in targets[:max_targets])
    planned = plan_judgements(judge_kind, items)
    results = runner.score(judge, [p.request for p in planned], label=label) if planned else []
    found = judgements(planned, results)
    big_five = [(p.description, p.big_five) for p in personas if p.big_five]
    return {
        "judge": {"model_id": judge.model_id, "model_key": judge.key, "template": JUDGE_TEMPLATE},
        "n_personas": len(personas),
        "n_judgements": len(found),
        "attributes": agreement_table(found),
        "overall": overall_fidelity(found),
        "lexicon": lexicon_agreement(big_five) if big_five else {},
    }
