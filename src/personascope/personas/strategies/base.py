"""One interface for every generation strategy, and the driver that runs them.

A strategy turns numbered *units* into personas. A unit is one independent piece of
work: one persona for most strategies, one call with k personas for verbalized
sampling, one conversation for the simulator. Everything random about unit ``i``
(attributes, sampler cell, seeds) is a function of ``(seed, i)`` only, so units can be
generated in any grouping and a rerun re-plans the same requests; the runner answers
those already stored from the store and executes only the rest. That is how an
interrupted ``personascope generate`` continues where it stopped.

:func:`generate_population` runs units until a number of personas, or a budget of
generated tokens, is reached. With a budget it keeps the longest prefix of units whose
generated tokens fit in it, so strategies compared at one budget spent the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from personascope.errors import PersonascopeError
from personascope.models.base import (
    GenerationRequest,
    GenerationResult,
    ModelKind,
    SamplerSettings,
    request_hash,
)
from personascope.models.catalog import ModelSpec
from personascope.personas.fidelity import AttributeTarget
from personascope.personas.persona import Persona, Provenance
from personascope.runner import Runner


@dataclass
class Job:
    """What a strategy runs on: a runner, a model, its kind and the base seed."""

    runner: Runner
    spec: ModelSpec
    kind: ModelKind
    seed: int = 0
    label: str = "personas"
    _sampler_order: list[str] | None = field(default=None, init=False, repr=False)

    def generate(self, requests: Sequence[GenerationRequest], label: str) -> list[GenerationResult]:
        return self.runner.generate(self.spec, requests, label=label)

    def sampler_order(self) -> list[str]:
        """The order the backend applies sampler filters in (from the store if known)."""
        if self._sampler_order is None:
            known = self.runner.store.models().get(self.spec.key, {}).get("sampler_order")
            if known is None:
                known = self.runner.model_info(self.spec).sampler_order
            self._sampler_order = list(known)
        return self._sampler_order

    def hashes(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """The store keys of requests sent to this job's model."""
        return [request_hash(r, self.spec.key) for r in requests]

    def provenance(
        self,
        strategy: str,
        template: str,
        sampler: SamplerSettings,
        seed: int,
        unit: int,
        request_hashes: Sequence[str],
        **extra: Any,
    ) -> Provenance:
        settings = asdict(sampler)
        settings["stop"] = list(sampler.stop)
        return Provenance(
            strategy=strategy,
            model_id=self.spec.model_id,
            model_key=self.spec.key,
            template=template,
            sampler=settings,
            sampler_order=self.sampler_order(),
            seed=seed,
            unit=unit,
            request_hashes=list(request_hashes),
            **extra,
        )


def strategy_diagnostics(strategy: Strategy) -> dict[str, Any]:
    """What a strategy reports about its own set-up (e.g. IPF convergence), if anything."""
    report = getattr(strategy, "diagnostics", None)
    return report() if callable(report) else {}


def unit_rng(seed: int, unit: int, salt: int = 0) -> np.random.Generator:
    """The random stream of one unit: a function of (seed, unit, salt) only."""
    return np.random.default_rng([abs(seed), unit, salt, 1 if seed < 0 else 0])


@dataclass
class Unit:
    """What one unit produced: personas, generated tokens, counted failures."""

    index: int
    personas: list[Persona]
    tokens: int
    failures: Counter[str] = field(default_factory=Counter)


class Strategy(Protocol):
    name: str

    def personas_per_unit(self) -> int: ...

    def max_tokens_per_unit(self) -> int: ...

    def run_units(self, job: Job, indices: Sequence[int]) -> list[Unit]: ...

    def targets(self, persona: Persona) -> list[AttributeTarget]: ...


@dataclass
class Population:
    """The personas of one strategy run, with what they cost and what failed."""

    strategy: str
    personas: list[Persona]
    units: int
    tokens: int
    failures: dict[str, int]
    token_budget: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "n_personas": len(self.personas),
            "units": self.units,
            "generated_tokens": self.tokens,
            "token_budget": self.token_budget,
            "failures": dict(sorted(self.failures.items())),
        }


def _collect(strategy: str, units: list[Unit], budget: int | None) -> Population:
    personas = [p for u in units for p in u.personas]
    failures: Counter[str] = Counter()
    for u in units:
        failures.update(u.failures)
    return Population(
        strategy, personas, len(units), sum(u.tokens for u in units), dict(failures), budget
    )


def generate_population(
    strategy: Strategy,
    job: Job,
    n: int | None = None,
    token_budget: int | None = None,
    max_rounds: int = 8,
) -> Population:
    """Run ``strategy`` until ``n`` personas or ``token_budget`` generated tokens.

    With ``n``: units 0, 1, ... until n personas exist (units that fail to yield a
    persona are topped up, at most ``max_rounds`` rounds); the first n are returned.
    With ``token_budget``: units until their generated tokens exceed the budget, then
    the longest prefix of units within it.
    """
    if (n is None) == (token_budget is None):
        raise ValueError("give exactly one of n and token_budget")
    if n is not None and n < 1:
        raise PersonascopeError(f"-n must be at least 1, got {n}")
    if token_budget is not None and token_budget < strategy.max_tokens_per_unit():
        raise PersonascopeError(
            f"a token budget of {token_budget} is less than one {strategy.name} unit "
            f"({strategy.max_tokens_per_unit()} tokens)"
        )
    units: list[Unit] = []
    per_unit = strategy.personas_per_unit()
    for round_number in range(max_rounds):
        if n is not None:
            have = sum(len(u.personas) for u in units)
            if have >= n or (units and have == 0):
                break  # done, or nothing but failures so far: more of the same will not help
            rate = have / len(units) if units and have else per_unit
            count = max(1, math.ceil((n - have) / rate))
        else:
            spent = sum(u.tokens for u in units)
            if token_budget is not None and spent > token_budget:
                break
            per = spent / len(units) if units else strategy.max_tokens_per_unit()
            count = max(1, math.ceil(((token_budget or 0) - spent + 1) / max(per, 1.0)))
        start = len(units)
        label = job.label if round_number == 0 else f"{job.label} (round {round_number + 1})"
        job_round = Job(job.runner, job.spec, job.kind, job.seed, label)
        units.extend(strategy.run_units(job_round, range(start, start + count)))
    if token_budget is not None:
        kept, spent = [], 0
        for unit in units:
            if spent + unit.tokens > token_budget:
                break
            kept.append(unit)
            spent += unit.tokens
        return _collect(strategy.name, kept, token_budget)
    population = _collect(strategy.name, units, None)
    population.personas = population.personas[:n]
    return population
