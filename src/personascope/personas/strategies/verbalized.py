"""``verbalized``: k personas with probabilities in one call (Verbalized Sampling).

Zhang et al. (2025), "Verbalized Sampling: How to Mitigate Mode Collapse and Unlock LLM
Diversity", ask an aligned model for a *distribution* of k responses with their
probabilities instead of one response: asking for the distribution sidesteps the
typicality bias that collapses single answers onto the mode.

Models answer in every format but the one asked for, so parsing is lenient: items are
split at ``Person 3``-style headers (also ``3.``, ``**Persona 3**``, ``<persona>`` tags),
a probability is read from ``(probability 0.2)``, ``p=0.2``, ``20%``. Failures are
counted, never fatal: ``missing_personas`` (fewer than k items), ``extra_personas``,
``missing_probability``, ``probability_out_of_range``, ``unparseable_output`` (no item at
all), ``empty_persona``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from personascope.config import StrictModel
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    TextPrompt,
)
from personascope.personas.config import SamplerConfig
from personascope.personas.fidelity import AttributeTarget
from personascope.personas.fields import parse_fields
from personascope.personas.persona import Persona
from personascope.personas.prompts import Template
from personascope.personas.strategies.base import Job, Unit
from personascope.personas.strategies.naive import stated_targets
from personascope.personas.strategies.single import stated_fields

CHAT = Template(
    "verbalized/chat",
    "Generate {k} different people who could answer a survey, as different from each other "
    "as real people are. For each person, also estimate the probability (between 0 and 1) "
    "that a randomly chosen adult is like them. Write each person on one line, in exactly "
    "this format:\n"
    "Person <number> (probability <p>): Name: <first and last name>; Age: <age>; "
    "Gender: <gender>; Occupation: <occupation>; Personality: <three adjectives>; "
    "Description: <one or two sentences>",
)
BASE = Template(
    "verbalized/base",
    "A sample of {k} different people who answered a survey, each with the estimated "
    "probability that a randomly chosen adult is like them. Each line gives the person's "
    "name, age, gender, occupation, personality and a short description.\n\n"
    "Person 1 (probability 0.",
)
_HEADER = re.compile(
    r"^[ \t]*(?:[-*][ \t]*)?(?:\*\*)?(?:<persona\b|(?:person|persona|profile)[ \t]*#?[ \t]*"
    r"(?P<n>\d+)|(?P<m>\d+)[.)])(?:\*\*)?",
    re.IGNORECASE | re.MULTILINE,
)
_PROBABILITY = re.compile(
    r"[(\[]?[ \t]*\b(?:probability|prob|p)\b\.?[ \t]*(?:=|:|is)?[ \t]*[\"']?(?P<v>\d*\.?\d+)[ \t]*"
    r"(?P<pct>%)?[\"']?[ \t]*[)\]]?|[(\[][ \t]*(?P<v2>\d*\.\d+|\d+[ \t]*%)[ \t]*[)\]]",
    re.IGNORECASE,
)
_TAGS = re.compile(r"</?(?:persona|text|probability|response)[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class VerbalizedItem:
    text: str
    probability: float | None


def _probability(block: str, failures: Counter[str]) -> tuple[float | None, str]:
    match = _PROBABILITY.search(block)
    if match is None:
        failures["missing_probability"] += 1
        return None, block
    raw = match.group("v") or match.group("v2") or ""
    percent = bool(match.group("pct")) or raw.strip().endswith("%")
    value = float(raw.rstrip("% \t")) / (100.0 if percent else 1.0)
    rest = block[: match.start()] + " " + block[match.end() :]
    if not 0.0 <= value <= 1.0:
        failures["probability_out_of_range"] += 1
        return None, rest
    return value, rest


def parse_verbalized(text: str, k: int) -> tuple[list[VerbalizedItem], Counter[str]]:
    """Split a verbalized-sampling answer into (persona text, probability) items."""
    failures: Counter[str] = Counter()
    headers = list(_HEADER.finditer(text))
    if not headers:
        failures["unparseable_output"] += 1
        failures["missing_personas"] += k
        return [], failures
    items = []
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        probability, body = _probability(text[header.end() : end], failures)
        body = _TAGS.sub(" ", body).strip().lstrip(":.,;-–)>").strip()
        body = " ".join(body.split())
        if not body:
            failures["empty_persona"] += 1
            continue
        items.append(VerbalizedItem(body, probability))
    if len(items) > k:
        failures["extra_personas"] += len(items) - k
        items = items[:k]
    if len(items) < k:
        failures["missing_personas"] += k - len(items)
    return items, failures


class VerbalizedConfig(StrictModel):
    k: int = Field(5, ge=2, le=10)
    sampler: SamplerConfig = SamplerConfig(max_tokens=400)


class VerbalizedStrategy:
    name = "verbalized"

    def __init__(self, config: VerbalizedConfig | None = None) -> None:
        self.config = config or VerbalizedConfig()

    def personas_per_unit(self) -> int:
        return self.config.k

    def max_tokens_per_unit(self) -> int:
        return self.config.sampler.max_tokens

    def template(self, kind: ModelKind) -> Template:
        return CHAT if kind == "chat" else BASE

    def prompt(self, kind: ModelKind) -> Prompt:
        text = self.template(kind).text.format(k=self.config.k)
        return ChatPrompt((Message("user", text),)) if kind == "chat" else TextPrompt(text)

    def request(self, job: Job, index: int) -> GenerationRequest:
        stop = ("\n\n\n", f"\nPerson {self.config.k + 1} ") if job.kind == "base" else ()
        return GenerationRequest(
            self.prompt(job.kind), self.config.sampler.settings(stop), job.seed + index
        )

    def run_units(self, job: Job, indices: Sequence[int]) -> list[Unit]:
        requests = [self.request(job, i) for i in indices]
        results = job.generate(requests, label=job.label)
        units = []
        for index, request, result in zip(indices, requests, results):
            text = result.text if job.kind == "chat" else "Person 1 (probability 0." + result.text
            items, failures = parse_verbalized(text, self.config.k)
            total = sum(i.probability for i in items if i.probability is not None)
            unit = Unit(index, [], len(result.token_ids), failures)
            template = self.template(job.kind).id
            for position, item in enumerate(items):
                parsed = parse_fields(item.text)
                fields = stated_fields(parsed)
                attributes = dict(fields.pop("attributes", {}))
                if item.probability is not None:
                    attributes["verbalized_probability"] = item.probability
                provenance = job.provenance(
                    self.name,
                    template,
                    request.sampler,
                    request.seed,
                    index,
                    job.hashes([request]),
                    raw_output=item.text,
                    position=position,
                    probability_sum=total,
                )
                description = parsed.description or item.text
                unit.personas.append(
                    Persona(
                        description=description,
                        attributes=attributes,
                        provenance=provenance,
                        **fields,
                    )
                )
            units.append(unit)
        return units

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        return stated_targets(persona)
