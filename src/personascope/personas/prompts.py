"""Prompt templates shared by the strategies that give the model facts to describe.

Chat models get an instruction; base models a completion frame that ends where the
model should continue, with stop strings at the end of one profile (see
docs/architecture.md, "Prompts by model kind"). Every template has an id
``name@sha256(text)[:8]`` recorded in each persona's provenance, so a changed wording
is a different template.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from personascope.models.base import ChatPrompt, Message, ModelKind, Prompt, TextPrompt

PROFILE_STOP = ("\nProfile", "\n\n\n")


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.text.encode('utf-8')).hexdigest()[:8]}"


DESCRIBE_CHAT = Template(
    "describe/chat",
    "Here are facts about a person:\n{facts}\n\n"
    "Write a short profile of this person. Answer in exactly this format, one field per line:\n"
    "Name: <first and last name>\n"
    "Description: <two or three sentences about them that reflect every fact above>",
)
DESCRIBE_BASE = Template(
    "describe/base",
    "Profiles of people from a survey panel. Each profile lists facts about the person, "
    "then their name and a short description that reflects those facts.\n\n"
    "Profile 1\n{facts}\nName:",
)


def facts_block(facts: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in facts)


def describe_template(kind: ModelKind) -> Template:
    return DESCRIBE_CHAT if kind == "chat" else DESCRIBE_BASE


def describe_prompt(kind: ModelKind, facts: Sequence[tuple[str, str]]) -> Prompt:
    """Ask for a name and a description of a person with the given facts."""
    text = describe_template(kind).text.format(facts=facts_block(facts))
    if kind == "chat":
        return ChatPrompt((Message("user", text),))
    return TextPrompt(text)


def completion_text(prompt: Prompt, completion: str, prefix: str = "Name:") -> str:
    """What the model wrote as a profile: base completions continue after ``prefix``
    (every base frame ends with it); chat completions after the assistant prefix, if any."""
    if isinstance(prompt, ChatPrompt):
        return (prompt.assistant_prefix + completion).strip()
    return (prefix + completion).strip()
