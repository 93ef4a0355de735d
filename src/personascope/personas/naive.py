"""The naive strategy: ask a model to describe a person, with nothing else to go on.

Every model is asked for the same structured fields, so that attribute distributions
(names, ages, genders, occupations, adjectives) compare models rather than formats:
chat models get an instruction and an answer that opens with ``Name:`` (small chat
models otherwise drift into free prose that has no fields to compare), base models a
completion frame that opens a profile the same way; both stop where a second profile
would begin.
"""

from __future__ import annotations

from dataclasses import replace

from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.personas.prompts import PROFILE_STOP, Template, completion_text

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

PROFILE_PREFIX = "Name:"
NAIVE_STOP = (*PROFILE_STOP, "\nName:")
TEMPLATES = {
    # user turn, then the opening of the assistant turn
    "chat": Template("naive/chat", f"{CHAT_INSTRUCTION}\n<assistant>{PROFILE_PREFIX}"),
    "base": Template("naive/base", BASE_FRAME),
}


def naive_prompt(kind: ModelKind) -> Prompt:
    if kind == "chat":
        return ChatPrompt((Message("user", CHAT_INSTRUCTION),), assistant_prefix=PROFILE_PREFIX)
    return TextPrompt(BASE_FRAME)


def with_profile_stops(sampler: SamplerSettings) -> SamplerSettings:
    """Stop at the end of the first profile."""
    return replace(sampler, stop=tuple(sorted(set(sampler.stop) | set(NAIVE_STOP))))


def naive_requests(
    kind: ModelKind, n: int, seed: int = 0, sampler: SamplerSettings | None = None
) -> list[GenerationRequest]:
    """``n`` seeded requests (seeds ``seed .. seed+n-1``) for one model."""
    sampler = with_profile_stops(sampler or SamplerSettings(temperature=1.0, max_tokens=160))
    prompt = naive_prompt(kind)
    return [GenerationRequest(prompt, sampler, seed + i) for i in range(n)]


def persona_text(kind: ModelKind, completion: str) -> str:
    """The persona as written: completions of both kinds continue after ``Name:``."""
    return completion_text(naive_prompt(kind), completion)
