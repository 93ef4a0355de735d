"""Strategies whose unit is one model call that writes one profile.

Subclasses say how unit ``i`` is prompted (:meth:`SingleCallStrategy.plan`); reading the
profile back (fields, description, counted failures) and provenance are shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from personascope.models.base import GenerationRequest, GenerationResult
from personascope.personas.fidelity import AttributeTarget
from personascope.personas.fields import ParsedFields, parse_fields
from personascope.personas.persona import Persona
from personascope.personas.prompts import completion_text
from personascope.personas.strategies.base import Job, Unit


@dataclass(frozen=True)
class Planned:
    """One unit's request, its template id, and the persona fields code assigned."""

    index: int
    request: GenerationRequest
    template: str
    fields: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def stated_fields(parsed: ParsedFields) -> dict[str, Any]:
    """Persona fields from what the model stated (naive-style profiles)."""
    fields: dict[str, Any] = {
        "name": parsed.name,
        "age": parsed.age,
        "gender": parsed.gender,
        "occupation": parsed.occupation,
    }
    if parsed.adjectives:
        fields["attributes"] = {"adjectives": ", ".join(parsed.adjectives)}
    return {k: v for k, v in fields.items() if v is not None}


class SingleCallStrategy(ABC):
    """A strategy with one generation request per unit and one profile per request."""

    name: str
    # Fields whose absence in the model's profile is counted as a parse failure.
    expected_fields: tuple[str, ...] = ("name", "description")
    # Fields taken from what the model stated (None: all it stated); code-assigned
    # fields always win.
    stated_keys: tuple[str, ...] | None = None

    def personas_per_unit(self) -> int:
        return 1

    @abstractmethod
    def max_tokens_per_unit(self) -> int: ...

    @abstractmethod
    def plan(self, job: Job, index: int) -> Planned: ...

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        return []

    def run_units(self, job: Job, indices: Sequence[int]) -> list[Unit]:
        planned = [self.plan(job, i) for i in indices]
        results = job.generate([p.request for p in planned], label=job.label)
        return [self.realize(job, p, r) for p, r in zip(planned, results)]

    def realize(self, job: Job, planned: Planned, result: GenerationResult) -> Unit:
        text = completion_text(planned.request.prompt, result.text)
        parsed = parse_fields(text)
        failures = Counter(f"missing_{f}" for f in parsed.failures if f in self.expected_fields)
        description = parsed.description or " ".join(text.split())
        unit = Unit(planned.index, [], len(result.token_ids), failures)
        if not description:
            unit.failures["empty_output"] += 1
            return unit
        stated = stated_fields(parsed)
        if self.stated_keys is not None:
            stated = {k: v for k, v in stated.items() if k in self.stated_keys}
        fields = {**stated, **planned.fields}
        request = planned.request
        provenance = job.provenance(
            self.name,
            planned.template,
            request.sampler,
            request.seed,
            planned.index,
            job.hashes([request]),
            raw_output=result.text,
            finish_reason=result.finish_reason,
            **planned.extra,
        )
        unit.personas.append(Persona(description=description, provenance=provenance, **fields))
        return unit
