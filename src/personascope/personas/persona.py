"""The persona data model: typed attributes, a description, provenance, a content-hash id.

A :class:`Persona` is what every generation strategy produces and what every study reads.
Users extend it in two ways: extra top-level fields in their files are kept (and
round-trip through JSONL and Parquet), or they subclass :class:`Persona` with typed
fields of their own.

The id is a content hash: ``sha256`` of the canonical JSON (sorted keys, compact) of
everything that defines the persona, which is every field except ``id`` and
``provenance``. The same persona generated twice, by two strategies or two runs, has
the same id; a persona read from a file keeps the id it was given.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from personascope.models.base import canonical_json

Scalar = str | int | float | bool
BIG_FIVE_DOMAINS = ("O", "C", "E", "A", "N")


class Turn(BaseModel):
    """One turn of a simulated conversation, with the latent variables that drove it."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    intent: str
    user: str
    assistant: str | None = None
    latent: dict[str, Scalar] = Field(default_factory=dict)


class Provenance(BaseModel):
    """Where a persona came from: enough to regenerate it exactly.

    ``sampler`` holds the sampler settings, ``sampler_order`` the order in which the
    backend applied them; ``template`` names the prompt template (``name@sha256[:8]``
    of its text); ``request_hashes`` are the store keys of the model calls behind it.
    """

    model_config = ConfigDict(extra="allow")

    strategy: str
    model_id: str | None = None
    model_key: str | None = None
    template: str | None = None
    sampler: dict[str, Any] = Field(default_factory=dict)
    sampler_order: list[str] = Field(default_factory=list)
    seed: int | None = None
    unit: int | None = None
    parent_ids: list[str] = Field(default_factory=list)
    request_hashes: list[str] = Field(default_factory=list)


class Persona(BaseModel):
    """A persona: typed attributes, free-form extensions, a description, provenance.

    * demographics: ``name``, ``age``, ``gender``, ``occupation`` typed; anything else
      (education, region, income band ...) in ``demographics``;
    * ``big_five``: target or measured trait levels as T-scores (mean 50, SD 10 in the
      human reference population), keys among O, C, E, A, N;
    * ``context``: conversation context characteristics (DiaSynth);
    * ``attributes``: any other sampled attribute (topic, subtopic, user layers);
    * ``turns``: a simulated conversation, each turn with its latent variables.
    """

    model_config = ConfigDict(extra="allow")

    id: str = ""
    description: str
    name: str | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    gender: str | None = None
    occupation: str | None = None
    demographics: dict[str, Scalar] = Field(default_factory=dict)
    big_five: dict[str, float] | None = None
    context: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    turns: list[Turn] = Field(default_factory=list)
    provenance: Provenance | None = None

    @field_validator("big_five")
    @classmethod
    def _check_big_five(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(BIG_FIVE_DOMAINS))
        if unknown:
            raise ValueError(f"unknown Big Five domain(s) {unknown}; use O, C, E, A, N")
        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"non-finite T-score for {bad}")
        return value

    @model_validator(mode="after")
    def _fill_id(self) -> Persona:
        if not self.id:
            self.id = self.content_hash()
        return self

    def content(self) -> dict[str, Any]:
        """The defining content: every field except ``id`` and ``provenance``."""
        return self.model_dump(mode="json", exclude={"id", "provenance"}, exclude_defaults=True)

    def content_hash(self) -> str:
        """sha256 hex digest of the canonical JSON of :meth:`content`."""
        return hashlib.sha256(canonical_json(self.content()).encode("utf-8")).hexdigest()
