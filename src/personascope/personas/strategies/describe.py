"""Strategies where code samples the attributes and the model only describes the person:
``layered`` (layers as data), ``diasynth`` (topic -> subtopic and DiaSynth's
conversation characteristics) and ``marginals`` (demographics fitted to marginal tables
by IPF).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from personascope.config import read_yaml, validate_config
from personascope.models.base import GenerationRequest
from personascope.personas.config import SamplerConfig
from personascope.personas.fidelity import AttributeTarget, choose_options
from personascope.personas.layers import (
    DATA_DIR,
    TYPED_FIELDS,
    LayersConfig,
    layer_targets,
    persona_fields,
)
from personascope.personas.marginals import MarginalsConfig, ipf, read_seed_table
from personascope.personas.persona import Persona
from personascope.personas.prompts import PROFILE_STOP, describe_prompt, describe_template
from personascope.personas.strategies.base import Job, unit_rng
from personascope.personas.strategies.single import Planned, SingleCallStrategy

DESCRIBE_SAMPLER = SamplerConfig(max_tokens=120)


class DescribeStrategy(SingleCallStrategy):
    """Code assigns the attributes of unit ``i``; the model writes name and description."""

    sampler: SamplerConfig = DESCRIBE_SAMPLER
    stated_keys = ("name",)

    def max_tokens_per_unit(self) -> int:
        return self.sampler.max_tokens

    @abstractmethod
    def profile(self, rng: np.random.Generator) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Persona fields and the ``(label, value)`` facts shown to the model."""

    def plan(self, job: Job, index: int) -> Planned:
        fields, facts = self.profile(unit_rng(job.seed, index, salt=17))
        stop = PROFILE_STOP if job.kind == "base" else ()
        request = GenerationRequest(
            describe_prompt(job.kind, facts), self.sampler.settings(stop), job.seed + index
        )
        return Planned(index, request, describe_template(job.kind).id, fields)


class LayeredConfig(LayersConfig):
    sampler: SamplerConfig = DESCRIBE_SAMPLER


def load_layered(path: Path | str) -> LayeredConfig:
    return validate_config(LayeredConfig, read_yaml(path), str(path))


class LayeredStrategy(DescribeStrategy):
    name = "layered"
    default_file = DATA_DIR / "layered.yaml"

    def __init__(self, config: LayeredConfig | None = None) -> None:
        self.config = config or load_layered(self.default_file)
        self.sampler = self.config.sampler

    def profile(self, rng: np.random.Generator) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return persona_fields(self.config, self.config.sample(rng), rng)

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        return layer_targets(self.config, persona)


class DiaSynthStrategy(LayeredStrategy):
    """Layered generation with DiaSynth's scaffold (Suresh et al. 2024): topic ->
    subtopic, the speaker's age and gender, and the conversation characteristics
    (familiarity, emotional state, formality, duration, medium, location, agreement,
    fillers and slang) as layers; see ``data/diasynth.yaml``."""

    name = "diasynth"
    default_file = DATA_DIR / "diasynth.yaml"


def load_marginals(path: Path | str) -> MarginalsConfig:
    return validate_config(MarginalsConfig, read_yaml(path), str(path))


class MarginalsStrategy(DescribeStrategy):
    name = "marginals"
    default_file = DATA_DIR / "marginals.yaml"

    def __init__(self, config: MarginalsConfig | None = None, source: Path | None = None) -> None:
        if config is None:
            source = self.default_file
            config = load_marginals(source)
        self.config = config
        self.source = source or Path("marginals.yaml")
        self.sampler = config.sampler
        self.seed_table = read_seed_table(config, self.source)
        self.fit = ipf(
            self.seed_table,
            config.marginals,
            str(self.source),
            config.max_iterations,
            config.tolerance,
        )
        self.probabilities = self.fit.weights / self.fit.weights.sum()

    def diagnostics(self) -> dict[str, Any]:
        return {
            "ipf_iterations": self.fit.iterations,
            "ipf_max_abs_error": float(self.fit.max_abs_error),
            "ipf_converged": self.fit.converged,
            "seed_rows": len(self.seed_table.rows),
        }

    def profile(self, rng: np.random.Generator) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        row = self.seed_table.rows[int(rng.choice(len(self.probabilities), p=self.probabilities))]
        fields: dict[str, Any] = {"demographics": {}}
        facts = []
        for attribute, value in row.items():
            if attribute in TYPED_FIELDS and (attribute != "age" or value.isdigit()):
                fields[attribute] = int(value) if attribute == "age" else value
            else:
                fields["demographics"][attribute] = value
            facts.append((attribute.replace("_", " ").capitalize(), value))
        return fields, facts

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        targets = []
        for attribute in self.seed_table.attributes:
            value = getattr(persona, attribute, None) if attribute in TYPED_FIELDS else None
            value = persona.demographics.get(attribute, value)
            options = sorted({row[attribute] for row in self.seed_table.rows})
            if value is None or len(options) < 2 or attribute == "age":
                continue
            shown = choose_options(str(value), options, persona.id, self.config.max_options)
            label = attribute.replace("_", " ")
            targets.append(
                AttributeTarget(
                    attribute, f"Which {label} fits this person best?", str(value), shown
                )
            )
        return targets
