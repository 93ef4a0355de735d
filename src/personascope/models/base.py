"""What every backend accepts and returns: prompts, requests, results, and the protocol.

Two operations cover every study (the lm-evaluation-harness idea of one shared request
type, batched and cached by the model layer rather than by each task):

* ``generate``: seeded sampling of a continuation, with per-token log-probabilities and,
  on request, the entropy of the full next-token distribution at every step;
* ``score_choices``: the log-probability of each answer option after a prompt, and the
  probability mass that fell on the options at all (a validity signal).

Requests are frozen dataclasses with a canonical JSON form, so the runner can hash them
and the store can keep them. Backends know nothing about studies, caching or storage.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
ModelKind = Literal["base", "chat"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class TextPrompt:
    """A raw completion prompt, sent to the model exactly as written (base models)."""

    text: str


@dataclass(frozen=True)
class ChatPrompt:
    """A conversation rendered by the model's chat template with a generation prompt.

    ``assistant_prefix`` is text the assistant turn starts with (e.g. ``"Answer: "``);
    backends that cannot pre-fill an assistant turn say so in the result.
    """

    messages: tuple[Message, ...]
    assistant_prefix: str = ""


Prompt = TextPrompt | ChatPrompt


@dataclass(frozen=True)
class SamplerSettings:
    """Sampling parameters. ``top_k=0``, ``top_p=1`` and ``min_p=0`` disable those filters.

    The order in which a backend applies them is reported by the backend
    (``LanguageModel.sampler_order``) and stored with every result.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    max_tokens: int = 128
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("temperature", "top_p", "min_p"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0 <= self.min_p < 1:
            raise ValueError(f"min_p must be in [0, 1), got {self.min_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class GenerationRequest:
    prompt: Prompt
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    seed: int = 0
    want_entropy: bool = False

    kind = "generate"


@dataclass(frozen=True)
class ChoiceRequest:
    """Score ``options`` as continuations of ``prompt``.

    Requests whose prompts share a prefix (one persona, many items) are cheap on backends
    that reuse the KV cache; the runner orders a batch so that shared prefixes are adjacent.
    """

    prompt: Prompt
    options: tuple[str, ...]

    kind = "choice"

    def __post_init__(self) -> None:
        if len(self.options) < 2:
            raise ValueError("a choice request needs at least two options")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options must be distinct, got {self.options}")


Request = GenerationRequest | ChoiceRequest


@dataclass(frozen=True)
class GenerationResult:
    """One sampled continuation.

    ``token_logprobs`` are log-probabilities of the sampled tokens under the model's own
    (untempered, unfiltered) next-token distribution; ``entropies`` (nats) are the entropy
    of that full distribution at each step, when requested.
    """

    text: str
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    finish_reason: Literal["stop", "length"]
    n_prompt_tokens: int
    entropies: tuple[float, ...] | None = None
    notes: tuple[str, ...] = ()

    kind = "generate"

    @property
    def mean_logprob(self) -> float:
        """Mean per-token log-probability (nats); NaN for an empty continuation."""
        if not self.token_logprobs:
            return float("nan")
        return sum(self.token_logprobs) / len(self.token_logprobs)


@dataclass(frozen=True)
class ChoiceResult:
    """Option log-probabilities after a prompt.

    ``logprobs[i]`` is log P(option i | prompt) under the full vocabulary distribution
    (summed over the option's tokens). ``option_mass`` = sum_i exp(logprobs[i]): how much
    of the model's probability fell on the offered options at all. ``n_fallback`` counts
    options whose probability could not be read directly (e.g. absent from a server's
    top_logprobs) and was bounded instead; see the backend's documentation.
    """

    logprobs: tuple[float, ...]
    option_mass: float
    n_fallback: int = 0
    notes: tuple[str, ...] = ()

    kind = "choice"

    @property
    def probs(self) -> tuple[float, ...]:
        """Option probabilities normalised over the options (softmax of ``logprobs``)."""
        top = max(self.logprobs)
        weights = [math.exp(lp - top) for lp in self.logprobs]
        total = sum(weights)
        return tuple(w / total for w in weights)


Result = GenerationResult | ChoiceResult


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model says about itself; stored with every result it produced."""

    model_id: str
    kind: ModelKind
    file_sha256: str | None
    revision: str | None
    backend: str
    backend_version: str
    sampler_order: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class LanguageModel(Protocol):
    """The protocol every backend implements. Both operations are batched."""

    info: ModelInfo

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]: ...

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]: ...

    def close(self) -> None: ...


# --- canonical forms -------------------------------------------------------------------


def prompt_to_dict(prompt: Prompt) -> dict[str, Any]:
    if isinstance(prompt, TextPrompt):
        return {"type": "text", "text": prompt.text}
    return {
        "type": "chat",
        "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
        "assistant_prefix": prompt.assistant_prefix,
    }


def prompt_from_dict(data: dict[str, Any]) -> Prompt:
    if data["type"] == "text":
        return TextPrompt(data["text"])
    return ChatPrompt(
        tuple(Message(m["role"], m["content"]) for m in data["messages"]),
        data.get("assistant_prefix", ""),
    )


def request_to_dict(request: Request) -> dict[str, Any]:
    if isinstance(request, GenerationRequest):
        sampler = asdict(request.sampler)
        sampler["stop"] = list(request.sampler.stop)
        return {
            "kind": "generate",
            "prompt": prompt_to_dict(request.prompt),
            "sampler": sampler,
            "seed": request.seed,
            "want_entropy": request.want_entropy,
        }
    return {
        "kind": "choice",
        "prompt": prompt_to_dict(request.prompt),
        "options": list(request.options),
    }


def request_from_dict(data: dict[str, Any]) -> Request:
    prompt = prompt_from_dict(data["prompt"])
    if data["kind"] == "generate":
        sampler = dict(data["sampler"])
        sampler["stop"] = tuple(sampler.get("stop", ()))
        return GenerationRequest(
            prompt, SamplerSettings(**sampler), data["seed"], data["want_entropy"]
        )
    return ChoiceRequest(prompt, tuple(data["options"]))


def result_to_dict(result: Result) -> dict[str, Any]:
    data = asdict(result)
    data["kind"] = result.kind
    return data


def result_from_dict(data: dict[str, Any]) -> Result:
    data = dict(data)
    kind = data.pop("kind")
    if kind == "generate":
        entropies = data.get("entropies")
        return GenerationResult(
            text=data["text"],
            token_ids=tuple(data["token_ids"]),
            token_logprobs=tuple(data["token_logprobs"]),
            finish_reason=data["finish_reason"],
            n_prompt_tokens=data["n_prompt_tokens"],
            entropies=None if entropies is None else tuple(entropies),
            notes=tuple(data.get("notes", ())),
        )
    return ChoiceResult(
        logprobs=tuple(data["logprobs"]),
        option_mass=data["option_mass"],
        n_fallback=data.get("n_fallback", 0),
        notes=tuple(data.get("notes", ())),
    )


def canonical_json(data: Any) -> str:
    """Sorted-key, compact JSON: the text that request hashes are computed from."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: Request, model_key: str) -> str:
    """Content hash of a request for one model.

    ``model_key`` identifies the model exactly (id plus file hash or revision), so the
    hash covers model id, model file, full prompt, options, sampler settings and seed.
    """
    payload = canonical_json({"model": model_key, "request": request_to_dict(request)})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
