"""Collapse study: do aligned models write a narrower population of personas?

Stage 1 (this version): naive personas from each model, with their count, mean length
and distinct-2. Later stages add attribute, semantic and trait-space diversity.
"""

from __future__ import annotations

import json
from typing import Any

from personascope.metrics.lexical import distinct_n, tokenize_words
from personascope.models.base import GenerationResult, SamplerSettings
from personascope.personas.naive import naive_requests, persona_text
from personascope.studies.base import StudyContext

N_PERSONAS = {"quick": 20, "full": 60}


class CollapseStudy:
    name = "collapse"

    def run(self, ctx: StudyContext) -> dict[str, Any]:
        n = int(ctx.config.get("n_personas", N_PERSONAS["quick" if ctx.quick else "full"]))
        sampler = SamplerSettings(temperature=1.0, max_tokens=160)
        findings: dict[str, Any] = {"n_requested": n, "models": {}}
        persona_file = ctx.out_dir / "personas.jsonl"
        with persona_file.open("w", encoding="utf-8") as out:
            for spec in ctx.models:
                kind = ctx.kind(spec)
                requests = naive_requests(kind, n, ctx.seed, sampler)
                results = ctx.runner.run(spec, requests, label=f"personas {spec.model_id}")
                texts = []
                for request, result in zip(requests, results):
                    assert isinstance(result, GenerationResult)
                    text = persona_text(kind, result.text)
                    texts.append(text)
                    row = {
                        "model_id": spec.model_id,
                        "model_key": spec.key,
                        "seed": request.seed,
                        "description": text,
                        "finish_reason": result.finish_reason,
                        "mean_logprob": result.mean_logprob,
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                lengths = [len(tokenize_words(t)) for t in texts]
                findings["models"][spec.model_id] = {
                    "kind": kind,
                    "count": len(texts),
                    "mean_length_words": sum(lengths) / len(lengths),
                    "distinct_2": distinct_n(texts, 2),
                    "sampler": {
                        "temperature": sampler.temperature,
                        "max_tokens": sampler.max_tokens,
                    },
                    "seeds": [ctx.seed, ctx.seed + n - 1],
                }
        ctx.store.put_finding(self.name, "summary", findings, ctx.run_id)
        return findings
