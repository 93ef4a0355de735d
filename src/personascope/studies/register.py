"""Register study: can the model write for different contexts, or does one register win?

Design (``data/register.yaml``, extensible): content tasks (decline an invitation,
explain a delayed train, ...) x contexts (a text message to a close friend, a formal
letter to a judge, an explanation for a five-year-old, ...) x ``seeds`` sampled responses
per cell, each with its own seed. Chat models get the instruction ``"{context.chat}
{task}. {chat_suffix}"``; base models continue the opening of the document
``"{context.base}, {task}:\\n\\n"`` up to a blank line.

Every response is reduced to style features (:mod:`personascope.metrics.style`: formality
F-score, Flesch-Kincaid grade, word and sentence length, contractions, first- and
second-person rates, lexical density, exclamations, questions); the measures are those
of :mod:`personascope.studies.register_measures`: **register range** (share of the style
variance explained by context), **register adherence** (Kendall tau-b between each
context's intended and measured position per feature) and, with several models, the
**model-identity share**. docs/register.md gives the formulas and the caveats.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from personascope.errors import PersonascopeError
from personascope.findings.register import RegisterFindings
from personascope.metrics.estimate import Jackknife, jsonable
from personascope.metrics.style import FEATURES, style_matrix
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.studies.base import Study, StudyContext
from personascope.studies.register_measures import adherence, identity_share, register_range
from personascope.studies.stability import generation_seed

DATA_FILE = Path(__file__).parent / "data" / "register.yaml"
BASE_STOP = ("\n\n",)
EXAMPLES_PER_CONTEXT = 2


@dataclass(frozen=True)
class Settings:
    """Sizes; a ``register`` section of ``audit.yaml`` may override any field.

    ``tasks`` and ``contexts`` name entries of the data file (None: all of them);
    ``data_file`` replaces the shipped design with a file of the same shape.
    """

    tasks: tuple[str, ...] | None = None
    contexts: tuple[str, ...] | None = None
    seeds: int = 2
    max_tokens: int = 80
    temperature: float = 1.0
    n_draws: int = 4000
    data_file: str | None = None


QUICK = Settings(
    tasks=("decline", "train"),
    contexts=("friend", "judge", "child", "public_post", "expert", "manager"),
    seeds=2,
    max_tokens=48,
    n_draws=2000,
)


@dataclass(frozen=True)
class Design:
    """The chosen tasks and contexts, the chat suffix and the feature directions."""

    tasks: list[dict[str, Any]]
    contexts: list[dict[str, Any]]
    chat_suffix: str
    directions: dict[str, tuple[str, int]]

    def positions(self) -> dict[str, np.ndarray]:
        dimensions = {d for d, _ in self.directions.values()}
        return {d: np.array([float(c["positions"][d]) for c in self.contexts]) for d in dimensions}


def load_design(settings: Settings) -> Design:
    """The design file's tasks and contexts chosen by ``settings``, checked."""
    path = Path(settings.data_file) if settings.data_file else DATA_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        tasks = {t["id"]: t for t in data["tasks"]}
        contexts = {c["id"]: c for c in data["contexts"]}
        directions = {
            name: (str(d["dimension"]), int(d["sign"])) for name, d in data["features"].items()
        }
        suffix = str(data.get("chat_suffix", ""))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PersonascopeError(f"cannot read register design {path}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise PersonascopeError(f"register design {path}: bad entry ({exc})") from exc
    unknown = sorted(set(directions) - set(FEATURES))
    if unknown:
        raise PersonascopeError(
            f"register design {path}: unknown feature(s) {unknown}; known: {list(FEATURES)}"
        )
    chosen_tasks = _choose("task", tasks, settings.tasks)
    chosen_contexts = _choose("context", contexts, settings.contexts)
    for context in chosen_contexts:
        missing = {d for d, _ in directions.values()} - set(context.get("positions") or {})
        for key in ("chat", "base"):
            if not isinstance(context.get(key), str):
                raise PersonascopeError(
                    f"register design {path}: context {context['id']} needs a text `{key}`"
                )
        if missing:
            raise PersonascopeError(
                f"register design {path}: context {context['id']} has no position on "
                f"{', '.join(sorted(missing))}"
            )
    return Design(chosen_tasks, chosen_contexts, suffix, directions)


def _choose(
    what: str, known: dict[str, dict[str, Any]], ids: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    if ids is None:
        return list(known.values())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise PersonascopeError(
            f"register setting {what}s: unknown {what}(s) {', '.join(unknown)}; "
            f"known: {', '.join(known)}"
        )
    return [known[i] for i in ids]


def prompt_for(
    kind: ModelKind, design: Design, task: dict[str, Any], context: dict[str, Any]
) -> Prompt:
    if kind == "chat":
        text = f"{context['chat']} {task['text']}. {design.chat_suffix}".strip()
        return ChatPrompt((Message("user", text),))
    return TextPrompt(f"{context['base']}, {task['text']}:\n\n")


def plan(kind: ModelKind, design: Design, settings: Settings, seed: int) -> list[GenerationRequest]:
    """Task-major, then context, then seed: request (t, c, s) at (t * C + c) * S + s."""
    sampler = SamplerSettings(
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        stop=BASE_STOP if kind == "base" else (),
    )
    c = len(design.contexts)
    return [
        GenerationRequest(
            prompt_for(kind, design, task, context),
            sampler,
            generation_seed(seed, t * c + j, s, settings.seeds),
        )
        for t, task in enumerate(design.tasks)
        for j, context in enumerate(design.contexts)
        for s in range(settings.seeds)
    ]


class RegisterStudy(Study[Settings, RegisterFindings]):
    name = "register"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        if settings.seeds < 2:
            raise PersonascopeError(f"register setting seeds must be >= 2, got {settings.seeds}")
        if settings.n_draws < 100:
            raise PersonascopeError("register setting n_draws must be >= 100")
        design = load_design(settings)
        if len(design.tasks) < 2 or len(design.contexts) < 3:
            raise PersonascopeError(
                "register needs >= 2 tasks and >= 3 contexts, got "
                f"{len(design.tasks)} and {len(design.contexts)}"
            )

    def run(self, ctx: StudyContext, settings: Settings) -> RegisterFindings:
        design = load_design(settings)
        jackknife = Jackknife(seed=ctx.seed)
        models: dict[str, Any] = {}
        arrays: dict[str, np.ndarray] = {}
        for spec in ctx.models:
            models[spec.model_id], arrays[spec.model_id] = self._model(
                ctx, spec, design, settings, jackknife
            )
        comparison: dict[str, Any] = {"compared": False, "reason": "one model: nothing to compare"}
        if len(arrays) >= 2:
            comparison = identity_share(arrays, FEATURES, settings.n_draws, ctx.seed)
        return RegisterFindings(
            design={**asdict(settings), "seed": ctx.seed},
            tasks=design.tasks,
            contexts=design.contexts,
            features={
                name: {"dimension": d, "sign": s} for name, (d, s) in design.directions.items()
            },
            models=jsonable(models),
            comparison=jsonable(comparison),
        )

    def _model(
        self,
        ctx: StudyContext,
        spec: ModelSpec,
        design: Design,
        settings: Settings,
        jackknife: Jackknife,
    ) -> tuple[dict[str, Any], np.ndarray]:
        started = time.perf_counter()
        kind = ctx.kind(spec)
        requests = plan(kind, design, settings, ctx.seed)
        results = ctx.runner.generate(spec, requests, label=f"register {spec.model_id}")
        texts = [r.text.strip() for r in results]
        t, c, s = len(design.tasks), len(design.contexts), settings.seeds
        values = style_matrix(texts).reshape(t, c, s, len(FEATURES))
        spread = register_range(values, FEATURES, settings.n_draws, ctx.seed)
        order = adherence(values, FEATURES, design.positions(), design.directions, jackknife)
        examples = {
            context["id"]: [texts[(j * s) + i] for i in range(min(s, EXAMPLES_PER_CONTEXT))]
            for j, context in enumerate(design.contexts)
        }  # the first task's responses
        sampler = requests[0].sampler
        return {
            "kind": kind,
            "model_key": spec.key,
            "n_responses": len(texts),
            "empty_responses": sum(not text for text in texts),
            "cut_at_max_tokens": sum(r.finish_reason == "length" for r in results),
            **spread,
            **order,
            "examples": examples,
            "template": "register/chat" if kind == "chat" else "register/base",
            "sampler": {**asdict(sampler), "stop": list(sampler.stop)},
            "seeds": {
                "rule": "seed = run_seed * 1000003 + cell * S + s, cell = task * C + context",
                "first": requests[0].seed,
                "last": requests[-1].seed,
            },
            "elapsed_s": round(time.perf_counter() - started, 2),
        }, values
