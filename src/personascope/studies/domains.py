"""Domains study: does preference tuning cut diversity in code but not in creative writing?

Design (``data/domains.yaml``, extensible): two prompt sets of equal size, code (short,
self-contained Python functions) and creative (short poems, story openings, slogans);
``samples`` seeded samples per prompt per model, every prompt with the same token budget
(``max_tokens``) and sampler, next-token entropies recorded. Chat models are asked for the
function or the text; base models continue a function header with its docstring (the
code analysed is header + continuation) or the opening of a document.

Per model and domain, each per-input diversity measure of
:mod:`personascope.studies.domains_measures` (lexical EAD, semantic cosine, POS or AST
n-gram diversity, mean token entropy, distinct classes), averaged over prompts. Code that
does not parse is counted and reported per model. The headline: for each tuned (chat)
model, the change from its base model per measure and domain, paired by prompt, and
whether the sign differs between domains as the claim predicts. The base a tuned model
is compared with: the embedded base model for a ``lab/`` checkpoint (a matched pair);
otherwise the first base model of the run, with the cross-family caveat. The tuned
model's findings hold the change (``change.<domain>.<measure>``, ``change.<domain>.
headline`` for the claims table); a base model's hold none.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from personascope.claims import pair_caveat
from personascope.defaults import DEFAULT_BASE_MODEL
from personascope.errors import PersonascopeError
from personascope.findings.domains import DomainsFindings
from personascope.metrics.code import extract_code, parse
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import Jackknife, estimate_dict, jsonable
from personascope.metrics.semantic import CLUSTER_THRESHOLD
from personascope.metrics.syntactic import pos_tags
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    GenerationResult,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.studies import domains_measures as dm
from personascope.studies.base import Study, StudyContext
from personascope.studies.stability import generation_seed

DATA_FILE = Path(__file__).parent / "data" / "domains.yaml"
BASE_STOP = {"code": ("```", "\n\n\n", "\nprint(", "\nif __name__"), "creative": ("\n\n\n",)}
Headline = Literal["ead", "cosine", "syntactic", "entropy", "distinct_classes"]


@dataclass(frozen=True)
class Settings:
    """Sizes; a ``domains`` section of ``audit.yaml`` may override any field.

    ``prompts``: the first n prompts of each domain (None: all); ``headline``: the
    measure the claims table reads; ``threshold``: the cosine at which two creative
    samples are one class; ``data_file`` replaces the shipped prompt sets.
    """

    prompts: int | None = None
    samples: int = 6
    max_tokens: int = 96
    temperature: float = 1.0
    headline: Headline = "ead"
    threshold: float = CLUSTER_THRESHOLD
    data_file: str | None = None


QUICK = Settings(prompts=3, samples=4, max_tokens=64)


@dataclass(frozen=True)
class PromptSets:
    code: list[dict[str, Any]]
    creative: list[dict[str, Any]]
    chat_code: str

    def of(self, domain: str) -> list[dict[str, Any]]:
        return self.code if domain == "code" else self.creative


def load_prompts(settings: Settings) -> PromptSets:
    path = Path(settings.data_file) if settings.data_file else DATA_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        code, creative, chat_code = list(data["code"]), list(data["creative"]), data["chat_code"]
        for p in code:
            str(p["id"]), str(p["signature"]), str(p["task"])
        for p in creative:
            str(p["id"]), str(p["chat"]), str(p["base"])
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PersonascopeError(f"cannot read domains prompts {path}: {exc}") from exc
    except (KeyError, TypeError) as exc:
        raise PersonascopeError(f"domains prompts {path}: bad entry ({exc})") from exc
    if len(code) != len(creative):
        raise PersonascopeError(
            f"domains prompts {path}: the sets must be of equal size, got {len(code)} code "
            f"and {len(creative)} creative"
        )
    n = settings.prompts if settings.prompts is not None else len(code)
    if n > len(code):
        raise PersonascopeError(f"domains setting prompts: at most {len(code)} ship, got {n}")
    return PromptSets(code[:n], creative[:n], str(chat_code))


def code_header(prompt: dict[str, Any]) -> str:
    task = prompt["task"]
    return f'def {prompt["signature"]}:\n    """{task[0].upper()}{task[1:]}."""\n'


def prompt_for(kind: ModelKind, domain: str, prompt: dict[str, Any], sets: PromptSets) -> Prompt:
    if domain == "code":
        if kind == "chat":
            text = sets.chat_code.format(signature=prompt["signature"], task=prompt["task"])
            return ChatPrompt((Message("user", text),))
        return TextPrompt("```python\n" + code_header(prompt))
    if kind == "chat":
        return ChatPrompt((Message("user", prompt["chat"]),))
    return TextPrompt(prompt["base"])


def analysed_text(kind: ModelKind, domain: str, prompt: dict[str, Any], text: str) -> str:
    """The text measured: the extracted function (header + continuation for a base
    model) for code, the stripped response for creative writing."""
    if domain == "creative":
        return text.strip()
    return code_header(prompt) + text if kind == "base" else extract_code(text)


def plan(
    kind: ModelKind, sets: PromptSets, settings: Settings, seed: int
) -> list[GenerationRequest]:
    """Domain-major (code, creative), then prompt, then sample."""
    requests = []
    for d, domain in enumerate(dm.DOMAINS):
        sampler = SamplerSettings(
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            stop=BASE_STOP[domain] if kind == "base" else (),
        )
        n = len(sets.of(domain))
        for p, prompt in enumerate(sets.of(domain)):
            for s in range(settings.samples):
                requests.append(
                    GenerationRequest(
                        prompt_for(kind, domain, prompt, sets),
                        sampler,
                        generation_seed(seed, d * n + p, s, settings.samples),
                        want_entropy=True,
                    )
                )
    return requests


def pair_base(model_id: str, kinds: dict[str, str]) -> str | None:
    """The base model a tuned model's change is measured against (module docstring)."""
    bases = [m for m, k in kinds.items() if k == "base"]
    if model_id.startswith("lab/") and DEFAULT_BASE_MODEL in bases:
        return DEFAULT_BASE_MODEL
    return bases[0] if bases else None


class DomainsStudy(Study[Settings, DomainsFindings]):
    name = "domains"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        if settings.samples < 2:
            raise PersonascopeError(f"domains setting samples must be >= 2, got {settings.samples}")
        if settings.prompts is not None and settings.prompts < 2:
            raise PersonascopeError(f"domains setting prompts must be >= 2, got {settings.prompts}")
        if not 0.0 < settings.threshold <= 1.0:
            raise PersonascopeError(
                f"domains setting threshold must be in (0, 1], got {settings.threshold}"
            )
        load_prompts(settings)

    def run(self, ctx: StudyContext, settings: Settings) -> DomainsFindings:
        sets = load_prompts(settings)
        jackknife = Jackknife(seed=ctx.seed)
        embedder = Embedder(ctx.store)
        models: dict[str, Any] = {}
        per_prompt: dict[str, dict[str, dict[str, np.ndarray]]] = {}
        for spec in ctx.models:
            models[spec.model_id], per_prompt[spec.model_id] = self._model(
                ctx, spec, sets, settings, embedder, jackknife
            )
        kinds = {m: entry["kind"] for m, entry in models.items()}
        for model_id, entry in models.items():
            entry["change"] = self._change(model_id, kinds, per_prompt, settings, jackknife)
        return DomainsFindings(
            design={**asdict(settings), "seed": ctx.seed},
            prompts={"code": sets.code, "creative": sets.creative, "chat_code": sets.chat_code},
            embedder=embedder.name,
            models=jsonable(models),
        )

    def _model(
        self,
        ctx: StudyContext,
        spec: Any,
        sets: PromptSets,
        settings: Settings,
        embedder: Embedder,
        jackknife: Jackknife,
    ) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
        started = time.perf_counter()
        kind = ctx.kind(spec)
        requests = plan(kind, sets, settings, ctx.seed)
        results = ctx.runner.generate(spec, requests, label=f"domains {spec.model_id}")
        k = settings.samples
        out: dict[str, Any] = {"kind": kind, "model_key": spec.key, "domains": {}}
        values: dict[str, dict[str, np.ndarray]] = {}
        offset = 0
        for domain in dm.DOMAINS:
            prompts = sets.of(domain)
            chunk = results[offset : offset + len(prompts) * k]
            offset += len(prompts) * k
            out["domains"][domain], values[domain] = self._domain(
                kind, domain, prompts, chunk, k, settings, embedder, jackknife
            )
        out["elapsed_s"] = round(time.perf_counter() - started, 2)
        return out, values

    def _domain(
        self,
        kind: ModelKind,
        domain: str,
        prompts: list[dict[str, Any]],
        results: list[GenerationResult],
        k: int,
        settings: Settings,
        embedder: Embedder,
        jackknife: Jackknife,
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        texts = [
            analysed_text(kind, domain, prompts[i // k], r.text) for i, r in enumerate(results)
        ]
        vectors = embedder.embed([t or " " for t in texts])
        tags = pos_tags(texts) if domain == "creative" else [[] for _ in texts]
        entropies = [float(np.mean(r.entropies)) if r.entropies else np.nan for r in results]
        rows, reasons = [], {}
        for p, prompt in enumerate(prompts):
            part = slice(p * k, (p + 1) * k)
            row, why = dm.prompt_values(
                domain, texts[part], vectors[part], tags[part], entropies[part], settings.threshold
            )
            rows.append(row)
            reasons.update({f"{prompt['id']}.{m}": r for m, r in why.items()})
        per_prompt = {m: np.array([row[m] for row in rows]) for m in dm.MEASURES}
        summary: dict[str, Any] = {
            "measures": dm.domain_summary(per_prompt, jackknife),
            "per_prompt": {m: v.tolist() for m, v in per_prompt.items()},
            "not_computed": reasons,
            "empty_samples": sum(not t for t in texts),
            "cut_at_max_tokens": sum(r.finish_reason == "length" for r in results),
            "examples": texts[:k],
        }
        if domain == "code":
            unparseable = sum(parse(t) is None for t in texts)
            summary["unparseable"] = {
                "count": unparseable,
                "of": len(texts),
                "share": unparseable / len(texts),
                "handling": "kept in the lexical, semantic and entropy measures; left out of "
                "the AST n-grams; compared as normalised text for distinct classes",
            }
        return summary, per_prompt

    def _change(
        self,
        model_id: str,
        kinds: dict[str, str],
        per_prompt: dict[str, dict[str, dict[str, np.ndarray]]],
        settings: Settings,
        jackknife: Jackknife,
    ) -> dict[str, Any]:
        if kinds[model_id] != "chat":
            return _no_change("a base model: the change is held by the tuned models", 0)
        base = pair_base(model_id, kinds)
        if base is None:
            return _no_change("no base model in this run to compare with", 0)
        change: dict[str, Any] = {
            domain: dm.paired_change(
                per_prompt[model_id][domain],
                per_prompt[base][domain],
                jackknife,
                settings.headline,
            )
            for domain in dm.DOMAINS
        }
        change["versus"] = base
        change["caveat"] = pair_caveat(base, model_id)
        change["sign"] = {
            m: dm.sign_verdict(change["code"][m], change["creative"][m]) for m in dm.MEASURES
        }
        return change


def _no_change(reason: str, n: int) -> dict[str, Any]:
    missing = estimate_dict(None, None, n, "not measured", note=reason)
    return {domain: {"headline": missing} for domain in dm.DOMAINS} | {"reason": reason}
