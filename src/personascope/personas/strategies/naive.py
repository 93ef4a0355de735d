"""``naive`` and ``sampling``: the model describes a person with nothing to go on.

``naive`` uses one sampler for every persona. ``sampling`` sweeps a grid of
temperature x min-p x top-p over the same prompt: unit ``i`` uses grid cell
``i mod |grid|``, so every cell gets an equal share of the population, and each persona
records the cell it came from.

Neither assigns attributes, so their fidelity check asks whether the description body
agrees with the fields the model itself stated (gender, age range): internal
consistency rather than adherence to an assignment.
"""

from __future__ import annotations

import itertools

from pydantic import Field

from personascope.config import StrictModel
from personascope.models.base import GenerationRequest, SamplerSettings
from personascope.personas.config import SamplerConfig
from personascope.personas.fidelity import AttributeTarget
from personascope.personas.fields import first_profile, labelled_values
from personascope.personas.layers import AGE_BANDS, age_band
from personascope.personas.naive import TEMPLATES, naive_prompt, with_profile_stops
from personascope.personas.persona import Persona
from personascope.personas.strategies.base import Job
from personascope.personas.strategies.single import Planned, SingleCallStrategy

GENDERS = ("female", "male", "non-binary")


class NaiveConfig(StrictModel):
    sampler: SamplerConfig = SamplerConfig()


class SamplingConfig(StrictModel):
    temperature: list[float] = Field(default=[0.7, 1.0, 1.3], min_length=1)
    min_p: list[float] = Field(default=[0.0, 0.1], min_length=1)
    top_p: list[float] = Field(default=[1.0, 0.9], min_length=1)
    max_tokens: int = Field(160, ge=1)

    def grid(self) -> list[SamplerSettings]:
        cells = itertools.product(self.temperature, self.min_p, self.top_p)
        try:
            return [SamplerSettings(t, p, 0, m, self.max_tokens) for t, m, p in cells]
        except ValueError as exc:
            raise ValueError(f"invalid sampler cell: {exc}") from exc


def stated_targets(persona: Persona) -> list[AttributeTarget]:
    """Gender and age range as stated in the profile, to be read back from its
    description body (only when the profile had a separate Description field)."""
    raw = persona.provenance.model_extra.get("raw_output") if persona.provenance else None
    text = persona.description
    # Base-model completions continue after "Name:"; a chat profile may start with it.
    if raw is None or "description" not in labelled_values(first_profile("Name:" + raw)):
        return []
    targets = []
    if persona.gender in GENDERS:
        targets.append(
            AttributeTarget(
                "gender", "What is this person's gender?", persona.gender, GENDERS, text=text
            )
        )
    if persona.age is not None and persona.age >= 18:
        bands = tuple(label for low, _, label in AGE_BANDS if low >= 18)
        targets.append(
            AttributeTarget(
                "age",
                "Which age range fits this person best?",
                age_band(persona.age),
                bands,
                text=text,
            )
        )
    return targets


class NaiveStrategy(SingleCallStrategy):
    name = "naive"
    expected_fields = ("name", "age", "gender", "occupation", "personality", "description")

    def __init__(self, config: NaiveConfig | None = None) -> None:
        self.config = config or NaiveConfig()

    def max_tokens_per_unit(self) -> int:
        return self.config.sampler.max_tokens

    def sampler_for(self, index: int) -> SamplerSettings:
        return self.config.sampler.settings()

    def plan(self, job: Job, index: int) -> Planned:
        sampler = with_profile_stops(self.sampler_for(index))
        request = GenerationRequest(naive_prompt(job.kind), sampler, job.seed + index)
        return Planned(index, request, TEMPLATES[job.kind].id)

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        return stated_targets(persona)


class SamplingStrategy(NaiveStrategy):
    name = "sampling"

    def __init__(self, config: SamplingConfig | None = None) -> None:
        self.sweep = config or SamplingConfig()
        self.cells = self.sweep.grid()

    def max_tokens_per_unit(self) -> int:
        return self.sweep.max_tokens

    def sampler_for(self, index: int) -> SamplerSettings:
        return self.cells[index % len(self.cells)]

    def plan(self, job: Job, index: int) -> Planned:
        planned = super().plan(job, index)
        cell = index % len(self.cells)
        return Planned(
            planned.index, planned.request, planned.template, extra={"sampler_cell": cell}
        )
