"""The naive strategy: ask a model to describe a person, with nothing else to go on.

Every model is asked for the same structured fields, so that attribute distributions
(names, ages, genders, occupations, adjectives) compare models rather than formats:
chat models get an instruction, base models a completion frame that opens a profile
and stops at the end of it.
"""

from __future__ import annotations

from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)

FIELDS = ("Name", "Age", "Gender", "Occupation", "Personality", "Description")

CHAT_INSTRUCTION = (
    "Describe a person. Answer in exactly this format, one field per line:\n"
    "Name: <first and last name>\n"
    "Age: <age in years>\n"
    "Gender: <gender>\n"
    "Occupation: <occupation>\n"
    "Personality: <three adjectives>\n"
    "Description: <two or three sentences about them>"
)

BASE_FRAME = (
    "Profiles of people from a survey panel. Each profile lists the person's name, age, "
    "gender, occupation, three personality adjectives and a short description.\n\n"
    "Profile 1\nName:"
)

BASE_STOP = ("\nProfile", "\n\n\n")


def naive_prompt(kind: ModelKind) -> Prompt:
    if kind == "chat":
        return ChatPrompt((Message("user", CHAT_INSTRUCTION),))
    return TextPrompt(BASE_FRAME)


def naive_requests(
    kind: ModelKind, n: int, seed: int = 0, sampler: SamplerSettings | None = None
) -> list[GenerationRequest]:
    """``n`` seeded requests (seeds ``seed .. seed+n-1``) for one model."""
    sampler = sampler or SamplerSettings(temperature=1.0, max_tokens=160)
    if kind == "base":
        sampler = SamplerSettings(
            temperature=sampler.temperature,
            top_p=sampler.top_p,
            top_k=sampler.top_k,
            min_p=sampler.min_p,
            max_tokens=sampler.max_tokens,
            stop=tuple(sorted(set(sampler.stop) | set(BASE_STOP))),
        )
    prompt = naive_prompt(kind)
    return [GenerationRequest(prompt, sampler, seed + i) for i in range(n)]


def persona_text(kind: ModelKind, completion: str) -> str:
    """The persona as written: base-model completions continue after ``Name:``."""
    return ("Name:" + completion if kind == "base" else completion).strip()
