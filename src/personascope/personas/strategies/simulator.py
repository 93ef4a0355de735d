"""``simulator``: a RecLLM-style user simulator with explicit latent variables.

After the user simulator of RecLLM (Friedman et al. 2023, "Leveraging Large Language
Models in Conversational Recommender Systems"): each simulated session draws a
*session-level* latent profile (who the user is, from layers as in ``layered``) and a
*turn-level* latent intent sequence (a Markov chain over intents such as "asks for a
recommendation", "adds a constraint", "rejects the suggestions"). The simulator model
writes each user turn conditioned on the profile, the history and that turn's intent; a
target assistant model (any model id; by default the same model) answers. Every turn
stores the latent variables that produced it, so a study can check whether the
simulated user expressed them (``targets``: the profile from all user turns, each
intent from its own turn).

A unit is one conversation. Turns are planned from stored earlier turns, so an
interrupted run resumes turn by turn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from personascope.config import read_yaml, validate_config
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    TextPrompt,
)
from personascope.models.providers import resolve
from personascope.personas.config import SamplerConfig
from personascope.personas.fidelity import AttributeTarget, choose_options
from personascope.personas.layers import (
    DATA_DIR,
    LayersConfig,
    check_distribution,
    layer_targets,
    persona_fields,
)
from personascope.personas.persona import Persona, Turn
from personascope.personas.prompts import Template, facts_block
from personascope.personas.strategies.base import Job, Unit, unit_rng

USER_CHAT = Template(
    "simulator/user-chat",
    "You are role-playing a person who is talking to an AI assistant about {topic}.\n"
    "Who you are:\n{facts}\n\n{history}"
    "Write your next message to the assistant. What you do in this message: {intent}. "
    "Write only the message, in the first person, in one or two sentences.",
)
USER_BASE = Template(
    "simulator/user-base",
    "A conversation between a person and an AI assistant about {topic}.\n"
    "About the person: {facts}\n\n{history}(Next, the person will {intent}.)\nPerson:",
)
ASSISTANT_BASE = Template(
    "simulator/assistant-base",
    "A conversation between a user and a helpful AI assistant.\n\n{history}Assistant:",
)
USER_STOP_BASE = ("\nAssistant:", "\nPerson:", "\n(", "\n\n")
ASSISTANT_STOP_BASE = ("\nUser:", "\n\n")


class SimulatorConfig(LayersConfig):
    """Profile layers (session latents), intents (turn latents) and their Markov chain."""

    topic: str = "finding something good to watch tonight"
    turns: int = Field(3, ge=1, le=20)
    intents: dict[str, str] = Field(min_length=2)
    initial: dict[str, float]
    transitions: dict[str, dict[str, float]]
    assistant_model: str | None = None
    sampler: SamplerConfig = SamplerConfig(max_tokens=60)
    assistant_sampler: SamplerConfig = SamplerConfig(temperature=0.7, max_tokens=80)

    @model_validator(mode="after")
    def _check_chain(self) -> SimulatorConfig:
        for where, table in [
            ("initial", self.initial),
            *((f"transitions.{k}", v) for k, v in self.transitions.items()),
        ]:
            unknown = sorted(set(table) - set(self.intents))
            if unknown:
                raise ValueError(
                    f"{where}: unknown intent {unknown[0]!r} (intents: {', '.join(self.intents)})"
                )
            try:
                check_distribution(table)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from exc
        reachable = {i for i, p in self.initial.items() if p > 0}
        reachable |= {i for row in self.transitions.values() for i, p in row.items() if p > 0}
        missing = sorted(i for i in reachable if i not in self.transitions)
        if missing and self.turns > 1:
            raise ValueError(f"transitions: no row for intent {missing[0]!r}")
        return self

    def intent_sequence(self, rng: Any) -> list[str]:
        sequence = [_draw(self.initial, rng)]
        while len(sequence) < self.turns:
            sequence.append(_draw(self.transitions[sequence[-1]], rng))
        return sequence


def _draw(table: dict[str, float], rng: Any) -> str:
    keys = list(table)
    probs = [table[k] for k in keys]
    return keys[int(rng.choice(len(keys), p=[p / sum(probs) for p in probs]))]


def clean_message(text: str) -> str:
    """The first paragraph of a turn, without a speaker label or wrapping quotes."""
    first = text.strip().split("\n\n", 1)[0]
    for label in ("You:", "Person:", "User:", "Me:"):
        first = first.removeprefix(label).strip()
    return " ".join(first.strip('"“”').split())


@dataclass
class _Session:
    index: int
    fields: dict[str, Any]
    facts: list[tuple[str, str]]
    intents: list[str]
    turns: list[Turn] = field(default_factory=list)
    tokens: int = 0
    first: GenerationRequest | None = None
    hashes: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    done: bool = False


class SimulatorStrategy:
    name = "simulator"
    default_file = DATA_DIR / "simulator.yaml"

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        if config is None:
            path = self.default_file
            config = validate_config(SimulatorConfig, read_yaml(path), str(path))
        self.config = config

    def personas_per_unit(self) -> int:
        return 1

    def max_tokens_per_unit(self) -> int:
        return self.config.turns * (
            self.config.sampler.max_tokens + self.config.assistant_sampler.max_tokens
        )

    # -- prompts ---------------------------------------------------------------------

    def user_prompt(self, kind: ModelKind, session: _Session) -> Prompt:
        intent = self.config.intents[session.intents[len(session.turns)]]
        if kind == "chat":
            history = "".join(f"You: {t.user}\nAssistant: {t.assistant}\n" for t in session.turns)
            history = f"The conversation so far:\n{history}\n" if history else ""
            text = USER_CHAT.text.format(
                topic=self.config.topic,
                facts=facts_block(session.facts),
                history=history,
                intent=intent,
            )
            return ChatPrompt((Message("user", text),))
        history = "".join(f"Person: {t.user}\nAssistant: {t.assistant}\n" for t in session.turns)
        facts = "; ".join(f"{k}: {v}" for k, v in session.facts)
        return TextPrompt(
            USER_BASE.text.format(
                topic=self.config.topic, facts=facts, history=history, intent=intent
            )
        )

    @staticmethod
    def assistant_prompt(kind: ModelKind, turns: list[Turn], message: str) -> Prompt:
        if kind == "chat":
            messages = [
                m
                for t in turns
                for m in (Message("user", t.user), Message("assistant", t.assistant or ""))
            ]
            return ChatPrompt((*messages, Message("user", message)))
        history = "".join(f"User: {t.user}\nAssistant: {t.assistant}\n" for t in turns)
        return TextPrompt(ASSISTANT_BASE.text.format(history=history + f"User: {message}\n"))

    # -- running ---------------------------------------------------------------------

    def _assistant_job(self, job: Job) -> Job:
        if self.config.assistant_model is None:
            return job
        spec = resolve(self.config.assistant_model)
        kind = spec.kind or job.runner.model_info(spec).kind
        return Job(job.runner, spec, kind, job.seed, job.label)

    def _session(self, job: Job, index: int) -> _Session:
        rng = unit_rng(job.seed, index, salt=29)
        fields, facts = persona_fields(self.config, self.config.sample(rng), rng)
        return _Session(index, fields, facts, self.config.intent_sequence(rng))

    def run_units(self, job: Job, indices: Sequence[int]) -> list[Unit]:
        assistant = self._assistant_job(job)
        sessions = [self._session(job, i) for i in indices]
        user_stop = USER_STOP_BASE if job.kind == "base" else ()
        reply_stop = ASSISTANT_STOP_BASE if assistant.kind == "base" else ()
        for turn in range(self.config.turns):
            active = [s for s in sessions if not s.done]
            if not active:
                break
            requests = [
                GenerationRequest(
                    self.user_prompt(job.kind, s),
                    self.config.sampler.settings(user_stop),
                    job.seed + 1000 * s.index + 2 * turn,
                )
                for s in active
            ]
            results = job.generate(requests, label=f"{job.label} user turn {turn + 1}")
            speaking = []
            for session, request, result in zip(active, requests, results):
                session.tokens += len(result.token_ids)
                session.first = session.first or request
                session.hashes.extend(job.hashes([request]))
                message = clean_message(result.text)
                if not message:
                    session.failures["empty_user_turn"] += 1
                    session.done = True
                    continue
                speaking.append((session, message))
            replies = [
                GenerationRequest(
                    self.assistant_prompt(assistant.kind, s.turns, m),
                    self.config.assistant_sampler.settings(reply_stop),
                    job.seed + 1000 * s.index + 2 * turn + 1,
                )
                for s, m in speaking
            ]
            answers = assistant.generate(replies, label=f"{job.label} assistant turn {turn + 1}")
            for (session, message), request, answer in zip(speaking, replies, answers):
                session.tokens += len(answer.token_ids)
                session.hashes.extend(assistant.hashes([request]))
                intent = session.intents[turn]
                latent = {
                    "intent": intent,
                    **{k: str(v) for k, v in _scalars(session.fields).items()},
                }
                session.turns.append(
                    Turn(
                        index=turn,
                        intent=intent,
                        user=message,
                        assistant=clean_message(answer.text),
                        latent=latent,
                    )
                )
        return [self._unit(job, assistant, s) for s in sessions]

    def _unit(self, job: Job, assistant: Job, session: _Session) -> Unit:
        unit = Unit(session.index, [], session.tokens, session.failures)
        if not session.turns:
            unit.failures["empty_conversation"] += 1
            return unit
        first = session.first
        assert first is not None  # a session with turns sent at least one request
        provenance = job.provenance(
            self.name,
            USER_CHAT.id if job.kind == "chat" else USER_BASE.id,
            first.sampler,
            first.seed,
            session.index,
            session.hashes,
            assistant_model_id=assistant.spec.model_id,
            assistant_model_key=assistant.spec.key,
            intent_sequence=session.intents,
        )
        description = " ".join(t.user for t in session.turns)
        unit.personas.append(
            Persona(
                description=description,
                turns=session.turns,
                provenance=provenance,
                **session.fields,
            )
        )
        return unit

    def targets(self, persona: Persona) -> list[AttributeTarget]:
        targets = layer_targets(self.config, persona)
        descriptions = tuple(self.config.intents.values())
        for turn in persona.turns:
            value = self.config.intents[turn.intent]
            options = choose_options(value, descriptions, f"{persona.id}/{turn.index}")
            targets.append(
                AttributeTarget(
                    "intent",
                    "What does the person do in this message?",
                    value,
                    options,
                    text=turn.user,
                )
            )
        return targets


def _scalars(fields: dict[str, Any]) -> dict[str, Any]:
    """The profile as flat latent variables: typed fields, attributes, T-scores."""
    flat = {k: v for k, v in fields.items() if isinstance(v, str | int | float) and v is not None}
    for bucket in ("demographics", "attributes", "context"):
        flat.update(fields.get(bucket, {}))
    for domain, t in (fields.get("big_five") or {}).items():
        flat[f"big_five.{domain}"] = t
    return flat
