"""Attribute layers declared as data, sampled by code.

A layer file lists layers in order; every persona draws one value from each, so the
population is the product of the layers (topic x subtopic x age x Big Five x context
...). Layer types:

* ``categorical``: ``values`` is a list (uniform) or a mapping value -> probability (the
  probabilities must sum to 1);
* ``conditional``: like categorical, with one table per value of an earlier ``parent``
  layer (topic -> subtopic);
* ``integer``: uniform on [min, max], or a normal(mean, sd) rounded and truncated to it;
* ``big_five``: a T-score profile (:mod:`personascope.personas.bigfive`), ``mode``
  ``t_scores``, ``joint`` (with ``correlation``) or ``human``;
* ``context``: DiaSynth's conversation characteristics (familiarity, emotional state,
  formality, duration, medium, location, agreement, fillers and slang), one value each.

Values land in the persona's typed fields (``age``, ``gender``, ``occupation``, ``name``)
when the layer has that name, else in ``attributes`` (or ``demographics``/``context``
with ``target:``). The model never chooses them: it only writes a description.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import Field, field_validator, model_validator

from personascope.config import StrictModel
from personascope.instruments.adjectives import DOMAINS
from personascope.personas import bigfive
from personascope.personas.fidelity import AttributeTarget, choose_options

DATA_DIR = Path(__file__).parent / "data"
TYPED_FIELDS = ("name", "age", "gender", "occupation")
PROBABILITY_TOLERANCE = 1e-6
AGE_BANDS = ((0, 17, "under 18"), (18, 29, "18-29"), (30, 44, "30-44"), (45, 64, "45-64"),
             (65, 200, "65 or older"))  # fmt: skip


def check_distribution(values: list[str] | dict[str, float]) -> dict[str, float]:
    """A value list (uniform) or value -> probability mapping, checked to sum to 1."""
    if isinstance(values, list):
        if not values:
            raise ValueError("needs at least one value")
        if len(set(values)) != len(values):
            raise ValueError("values must be distinct")
        return {str(v): 1.0 / len(values) for v in values}
    if not values:
        raise ValueError("needs at least one value")
    negative = [k for k, p in values.items() if not (p >= 0 and math.isfinite(p))]
    if negative:
        raise ValueError(f"probabilities must be finite and >= 0 (see {negative[0]!r})")
    total = sum(values.values())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(f"probabilities sum to {total:.6g}, not 1")
    return {str(k): float(p) for k, p in values.items()}


def _draw(distribution: dict[str, float], rng: np.random.Generator) -> str:
    keys = list(distribution)
    probs = np.array([distribution[k] for k in keys])
    return keys[int(rng.choice(len(keys), p=probs / probs.sum()))]


class _Layer(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str | None = None
    target: Literal["auto", "attributes", "demographics"] = "auto"

    @property
    def prompt_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


class CategoricalLayer(_Layer):
    type: Literal["categorical"]
    values: list[str] | dict[str, float]

    @field_validator("values")
    @classmethod
    def _check(cls, values: list[str] | dict[str, float]) -> list[str] | dict[str, float]:
        check_distribution(values)
        return values

    def options(self, profile: dict[str, Any]) -> tuple[str, ...]:
        return tuple(check_distribution(self.values))

    def sample(self, profile: dict[str, Any], rng: np.random.Generator) -> str:
        return _draw(check_distribution(self.values), rng)


class ConditionalLayer(_Layer):
    type: Literal["conditional"]
    parent: str
    values: dict[str, list[str] | dict[str, float]]

    @field_validator("values")
    @classmethod
    def _check(cls, values: dict[str, Any]) -> dict[str, Any]:
        for parent_value, table in values.items():
            try:
                check_distribution(table)
            except ValueError as exc:
                raise ValueError(f"values for {parent_value!r}: {exc}") from exc
        return values

    def options(self, profile: dict[str, Any]) -> tuple[str, ...]:
        return tuple(check_distribution(self.values[str(profile[self.parent])]))

    def sample(self, profile: dict[str, Any], rng: np.random.Generator) -> str:
        return _draw(check_distribution(self.values[str(profile[self.parent])]), rng)


class IntegerLayer(_Layer):
    type: Literal["integer"]
    min: int
    max: int
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> IntegerLayer:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if (self.mean is None) != (self.sd is None):
            raise ValueError("give both mean and sd (normal) or neither (uniform)")
        return self

    def sample(self, profile: dict[str, Any], rng: np.random.Generator) -> int:
        if self.mean is None or self.sd is None:
            return int(rng.integers(self.min, self.max + 1))
        for _ in range(1000):
            value = round(float(rng.normal(self.mean, self.sd)))
            if self.min <= value <= self.max:
                return value
        return int(np.clip(round(self.mean), self.min, self.max))


class BigFiveLayer(_Layer):
    type: Literal["big_five"]
    name: str = "big_five"
    mode: Literal["t_scores", "joint", "human"] = "t_scores"
    mean: float = 50.0
    sd: float = Field(10.0, gt=0)
    correlation: list[list[float]] | None = None

    @model_validator(mode="after")
    def _check(self) -> BigFiveLayer:
        if self.mode == "joint":
            if self.correlation is None:
                raise ValueError("mode 'joint' needs a 5 x 5 'correlation' matrix (O C E A N)")
            bigfive.check_correlation(self.correlation)
        elif self.correlation is not None:
            raise ValueError(f"'correlation' is only used with mode 'joint', not {self.mode!r}")
        return self

    def sample(self, profile: dict[str, Any], rng: np.random.Generator) -> dict[str, float]:
        if self.mode == "t_scores":
            return bigfive.sample_independent(rng, self.mean, self.sd)
        if self.mode == "joint":
            return bigfive.sample_joint(rng, bigfive.check_correlation(self.correlation or []))
        return bigfive.sample_human(rng)


def diasynth_characteristics() -> dict[str, list[str]]:
    """The packaged DiaSynth characteristic value lists (``data/context_characteristics.yaml``)."""
    text = (DATA_DIR / "context_characteristics.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


class ContextLayer(_Layer):
    type: Literal["context"]
    name: str = "context"
    characteristics: dict[str, list[str]] | None = None
    include: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ContextLayer:
        table = self.table()
        for key, values in table.items():
            if not values:
                raise ValueError(f"characteristic {key!r} has no values")
        unknown = sorted(set(self.include or []) - set(self.characteristics or table))
        if unknown:
            raise ValueError(f"unknown characteristic(s) in include: {', '.join(unknown)}")
        return self

    def table(self) -> dict[str, list[str]]:
        table = self.characteristics or diasynth_characteristics()
        return {k: v for k, v in table.items() if self.include is None or k in self.include}

    def sample(self, profile: dict[str, Any], rng: np.random.Generator) -> dict[str, str]:
        return {k: values[int(rng.integers(len(values)))] for k, values in self.table().items()}


Layer = Annotated[
    CategoricalLayer | ConditionalLayer | IntegerLayer | BigFiveLayer | ContextLayer,
    Field(discriminator="type"),
]


class LayersConfig(StrictModel):
    """A layer file: the layers, in sampling order (a parent before its children)."""

    layers: list[Layer] = Field(min_length=1)

    @field_validator("layers")
    @classmethod
    def _check_order(cls, layers: list[Any]) -> list[Any]:
        seen: dict[str, Any] = {}
        for i, layer in enumerate(layers):
            if layer.name in seen:
                raise ValueError(f"layers.{i}.name: {layer.name!r} is used twice")
            if isinstance(layer, ConditionalLayer):
                parent = seen.get(layer.parent)
                if parent is None:
                    raise ValueError(
                        f"layers.{i}.parent: {layer.parent!r} is not an earlier layer "
                        f"(earlier: {', '.join(seen) or 'none'})"
                    )
                if not isinstance(parent, CategoricalLayer | ConditionalLayer):
                    raise ValueError(f"layers.{i}.parent: {layer.parent!r} is not categorical")
                parent_values = _all_values(parent)
                missing = [v for v in parent_values if v not in layer.values]
                if missing:
                    raise ValueError(
                        f"layers.{i}.values: no table for {layer.parent} {missing[0]!r}"
                    )
            seen[layer.name] = layer
        return layers

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One persona's values, layer by layer (conditional layers see their parent)."""
        profile: dict[str, Any] = {}
        for layer in self.layers:
            profile[layer.name] = layer.sample(profile, rng)
        return profile


def _all_values(layer: CategoricalLayer | ConditionalLayer) -> list[str]:
    if isinstance(layer, CategoricalLayer):
        return list(check_distribution(layer.values))
    return sorted({v for table in layer.values.values() for v in check_distribution(table)})


def age_band(age: int) -> str:
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def persona_fields(config: LayersConfig, profile: dict[str, Any], rng: np.random.Generator):
    """Persona keyword fields and prompt facts for a sampled profile.

    Returns ``(fields, facts)``: ``fields`` for :class:`Persona` (typed fields, ``big_five``,
    ``context``, ``demographics``, ``attributes``), ``facts`` the ``(label, value)`` lines
    the model is shown.
    """
    fields: dict[str, Any] = {"demographics": {}, "attributes": {}, "context": {}}
    facts: list[tuple[str, str]] = []
    for layer in config.layers:
        value = profile[layer.name]
        if isinstance(layer, BigFiveLayer):
            fields["big_five"] = value
            words = bigfive.describe_profile(value, rng)
            fields["attributes"]["personality_words"] = ", ".join(words)
            facts.append(("Personality", ", ".join(words) if words else "average on every trait"))
        elif isinstance(layer, ContextLayer):
            fields["context"].update(value)
            facts.extend((k.replace("_", " ").capitalize(), v) for k, v in value.items())
        elif layer.target == "auto" and layer.name in TYPED_FIELDS:
            fields[layer.name] = value
            facts.append((layer.prompt_label, str(value)))
        else:
            bucket = "demographics" if layer.target == "demographics" else "attributes"
            fields[bucket][layer.name] = value
            facts.append((layer.prompt_label, str(value)))
    return fields, facts


def layer_targets(
    config: LayersConfig, persona: Any, max_options: int = 5
) -> list[AttributeTarget]:
    """What the fidelity check asks about a layered persona, one target per attribute."""
    profile = _profile_of(config, persona)
    targets: list[AttributeTarget] = []
    for layer in config.layers:
        value = profile.get(layer.name)
        if value is None:
            continue
        if isinstance(layer, CategoricalLayer | ConditionalLayer):
            if len(layer.options(profile)) < 2:
                continue  # a single possible value says nothing about the text
            options = choose_options(str(value), layer.options(profile), persona.id, max_options)
            question = f"Which {layer.prompt_label.lower()} fits this person best?"
            targets.append(AttributeTarget(layer.name, question, str(value), options))
        elif isinstance(layer, IntegerLayer) and layer.name == "age":
            bands = tuple(
                label for low, high, label in AGE_BANDS if high >= layer.min and low <= layer.max
            )
            if len(bands) >= 2:
                question = f"Which {layer.prompt_label.lower()} range fits this person best?"
                targets.append(AttributeTarget(layer.name, question, age_band(int(value)), bands))
        elif isinstance(layer, BigFiveLayer):
            for domain in DOMAINS:
                t = float(value[domain])
                targets.append(
                    AttributeTarget(
                        f"big_five.{domain}",
                        bigfive.domain_question(domain),
                        bigfive.level(t),
                        bigfive.LEVELS,
                        t_score=t,
                        ordered=True,
                    )
                )
        elif isinstance(layer, ContextLayer):
            table = layer.table()
            for key, chosen in value.items():
                options = choose_options(chosen, tuple(table[key]), persona.id, max_options)
                label = key.replace("_", " ")
                question = f"Which {label} fits the conversations this person has in mind best?"
                targets.append(AttributeTarget(f"context.{key}", question, chosen, options))
    return targets


def _profile_of(config: LayersConfig, persona: Any) -> dict[str, Any]:
    """A persona's layer values, read back from where :func:`persona_fields` put them."""
    profile: dict[str, Any] = {}
    for layer in config.layers:
        if isinstance(layer, BigFiveLayer):
            profile[layer.name] = persona.big_five
        elif isinstance(layer, ContextLayer):
            profile[layer.name] = {
                k: persona.context[k] for k in layer.table() if k in persona.context
            }
        elif layer.target == "auto" and layer.name in TYPED_FIELDS:
            profile[layer.name] = getattr(persona, layer.name)
        else:
            bucket = persona.demographics if layer.target == "demographics" else persona.attributes
            profile[layer.name] = bucket.get(layer.name)
    return profile
