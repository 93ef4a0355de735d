"""``personascope sample``: N seeded samples of one prompt, written as JSONL."""

from __future__ import annotations

import json
from pathlib import Path

from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.outputs import atomic_output
from personascope.runner import Runner


def write_samples(
    runner: Runner,
    spec: ModelSpec,
    prompt: str,
    n: int,
    seed: int,
    sampler: SamplerSettings,
    out_file: Path,
    raw: bool = False,
) -> int:
    """Generate samples ``seed, seed + 1, ...`` (a chat model gets the prompt as a user
    message unless ``raw``) and write one JSON object per sample, with its sampler
    settings and order, seed, text and token statistics; return how many were written."""
    chat = (spec.kind or runner.model_info(spec).kind) == "chat" and not raw
    the_prompt = ChatPrompt((Message("user", prompt),)) if chat else TextPrompt(prompt)
    requests = [GenerationRequest(the_prompt, sampler, seed + i) for i in range(n)]
    results = runner.generate(spec, requests, label=f"sampling {spec.model_id}")
    order = runner.store.models().get(spec.key, {}).get("sampler_order")
    with atomic_output(out_file) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for request, result in zip(requests, results, strict=True):
            row = {
                "model_id": spec.model_id,
                "model_key": spec.key,
                "prompt": prompt,
                "chat": chat,
                "seed": request.seed,
                "sampler": {
                    "temperature": sampler.temperature,
                    "top_p": sampler.top_p,
                    "top_k": sampler.top_k,
                    "min_p": sampler.min_p,
                    "max_tokens": sampler.max_tokens,
                    "stop": list(sampler.stop),
                    "order": order,
                },
                "text": result.text,
                "finish_reason": result.finish_reason,
                "n_tokens": len(result.token_ids),
                "mean_logprob": result.mean_logprob,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(results)
