"""The vLLM backend: offline ``vllm.LLM`` on GPU machines (``vllm/<hub id or folder>``).

Install on a machine with a CUDA GPU: ``pip install 'personascope[vllm]'`` (vLLM brings
its own CUDA build of torch; see docs/scaling.md). Without vLLM, loading a ``vllm/`` model
fails with a one-line install hint; the rest of personascope does not need it.

Options (``resolve("vllm/...", **options)``): ``tensor_parallel_size`` (GPUs per model,
default 1), ``dtype`` (default ``"auto"``; another dtype gives another cache key),
``revision``, ``max_model_len``, ``gpu_memory_utilization`` (default 0.9), ``kind``
(``"base"`` or ``"chat"``; default: chat when the tokenizer has a chat template),
``trust_remote_code`` (default false: model repositories are untrusted input).

Prompts are rendered as on the other backends: a :class:`ChatPrompt` through the
tokenizer's chat template in personascope's sandboxed renderer
(:func:`~personascope.models.chat_template.render_chat`), the ``assistant_prefix``
appended, tokenized without adding special tokens (the template carries them); a
:class:`TextPrompt` is tokenized with the tokenizer's own special tokens (its BOS).
Token ids, not text, are given to vLLM, so what is scored is exactly what was tokenized.

Generation: one ``SamplingParams`` per request with its ``seed`` (vLLM draws from a
generator seeded per request), temperature, top-p, top-k (0 = off), min-p, max_tokens,
stop strings, no repetition penalty, and ``logprobs=0`` (the sampled token's
log-probability). vLLM reports raw log-probabilities (``logprobs_mode="raw_logprobs"``,
its default): the untempered, unfiltered distribution, as the other backends do. Its
sampler order (vLLM V1, ``vllm/v1/sample/sampler.py``) is penalties, temperature, min-p,
top-k, top-p, then the draw; it is recorded with every result. The entropy of the full
next-token distribution is not available (entropies=None with a note).

Scoring (``score_choices``): for each option, ``prompt tokens + option tokens`` is sent
with ``prompt_logprobs=1`` and ``max_tokens=1``; vLLM returns the log-probability of every
prompt token given the ones before it, and the option's are summed: log P(option | prompt)
under the full vocabulary, for options of any length. With prefix caching on (default)
the shared prompt is computed once.

Reproducibility: the same seed gives the same sample for the same batch. vLLM's kernels
are not batch-invariant, so a request batched with different neighbours can differ in the
last bits of its logits (and, rarely, in a sampled token). Recent vLLM versions have a
batch-invariant mode (``VLLM_BATCH_INVARIANT=1``) that removes this at some speed cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import vllm

from personascope.errors import BackendError, ModelLoadError, PromptTooLongError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Prompt,
    SamplerSettings,
)
from personascope.models.catalog import ModelSpec
from personascope.models.chat_template import checked_prompt, render_prompt

SAMPLER_ORDER = ("penalties", "temperature", "min_p", "top_k", "top_p", "dist")
ENTROPY_NOTE = "vLLM does not expose the full next-token distribution: entropies=None"


def sampling_params(settings: SamplerSettings, seed: int) -> Any:
    """vLLM ``SamplingParams`` for one seeded generation request."""
    return vllm.SamplingParams(
        n=1,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k if settings.top_k > 0 else -1,
        min_p=settings.min_p,
        max_tokens=settings.max_tokens,
        stop=list(settings.stop) or None,
        seed=seed,
        repetition_penalty=1.0,
        logprobs=0,
    )


def sum_prompt_logprobs(
    prompt_logprobs: Sequence[Any], token_ids: Sequence[int], start: int
) -> float:
    """Sum of log P(token_i | tokens before i) for positions ``start ..`` of a sequence.

    ``prompt_logprobs[i]`` is vLLM's dict ``{token id: Logprob}`` for position ``i``
    (``None`` at position 0); it always holds the prompt's own token.
    """
    total = 0.0
    for i in range(start, len(token_ids)):
        entry = prompt_logprobs[i]
        if entry is None or token_ids[i] not in entry:
            raise BackendError(f"vLLM returned no prompt log-prob for position {i}")
        total += float(entry[token_ids[i]].logprob)
    return total


class VLLMModel:
    """A model in vLLM implementing :class:`~personascope.models.base.LanguageModel`."""

    def __init__(self, spec: ModelSpec) -> None:
        options = spec.options
        source = str(spec.path) if spec.path is not None else spec.name
        tensor_parallel = int(options.get("tensor_parallel_size", 1))
        engine: dict[str, Any] = {
            "model": source,
            "tensor_parallel_size": tensor_parallel,
            "dtype": options.get("dtype", "auto"),
            "gpu_memory_utilization": float(options.get("gpu_memory_utilization", 0.9)),
            "trust_remote_code": str(options.get("trust_remote_code", "")).lower() in ("1", "true"),
            "enable_prefix_caching": True,
            "seed": 0,
        }
        if spec.path is None:
            engine["revision"] = options.get("revision", "main")
        if options.get("max_model_len"):
            engine["max_model_len"] = int(options["max_model_len"])
        try:
            self._llm: Any = vllm.LLM(**engine)
        except (ValueError, RuntimeError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"vLLM cannot load {source}: {first}") from exc
        self._tok = self._llm.get_tokenizer()
        self._template = getattr(self._tok, "chat_template", None)
        engine_core = self._llm.llm_engine
        config = getattr(engine_core, "model_config", None) or engine_core.vllm_config.model_config
        self._n_ctx = int(config.max_model_len)
        kind = spec.kind or ("chat" if self._template else "base")
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=kind,
            file_sha256=None,
            revision=engine.get("revision"),
            backend="vllm",
            backend_version=vllm.__version__,
            sampler_order=SAMPLER_ORDER,
            extra={
                "source": source,
                "tensor_parallel_size": tensor_parallel,
                "dtype": engine["dtype"],
                "max_model_len": self._n_ctx,
                "chat_template": self._template,
            },
        )

    # -- prompts -----------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model is given for ``prompt``."""
        bos, eos = self._tok.bos_token or "", self._tok.eos_token or ""
        return render_prompt(prompt, self._template, bos, eos, self.info.model_id)

    def encode(self, text: str, special: bool = False) -> list[int]:
        """Token ids of ``text``; ``special`` adds the tokenizer's special tokens (BOS)."""
        return list(self._tok(text, add_special_tokens=special).input_ids)

    def tokenize_prompt(self, prompt: Prompt) -> list[int]:
        """Token ids of ``prompt``; at least one more token must fit after it."""
        chat = isinstance(prompt, ChatPrompt)
        tokens = self.encode(self.render(prompt), special=not chat)
        return checked_prompt(tokens, self._n_ctx, self.info.model_id)

    # -- generation --------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        prompts = [self.tokenize_prompt(r.prompt) for r in requests]
        params = [  # as on llama.cpp, generation stops where the context is full
            sampling_params(
                replace(r.sampler, max_tokens=min(r.sampler.max_tokens, self._n_ctx - len(ids))),
                r.seed,
            )
            for r, ids in zip(requests, prompts)
        ]
        outputs = self._llm.generate(
            [{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False
        )
        return [
            self._generation_result(out, len(ids), r.want_entropy)
            for out, ids, r in zip(outputs, prompts, requests)
        ]

    def _generation_result(
        self, output: Any, n_prompt: int, want_entropy: bool
    ) -> GenerationResult:
        completion = output.outputs[0]
        ids = tuple(int(t) for t in completion.token_ids)
        steps = completion.logprobs or []
        logprobs = tuple(float(step[t].logprob) for step, t in zip(steps, ids))
        return GenerationResult(
            text=completion.text,
            token_ids=ids,
            token_logprobs=logprobs,
            finish_reason="length" if completion.finish_reason == "length" else "stop",
            n_prompt_tokens=n_prompt,
            entropies=None,
            notes=(ENTROPY_NOTE,) if want_entropy else (),
        )

    # -- scoring -----------------------------------------------------------------------

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        sequences: list[list[int]] = []
        starts: list[int] = []
        for request in requests:
            prompt = self.tokenize_prompt(request.prompt)
            for option in request.options:
                option_ids = self.encode(option)
                if not option_ids:
                    raise ValueError(f"option {option!r} tokenizes to nothing")
                sequence = prompt + option_ids
                if len(sequence) + 1 > self._n_ctx:
                    raise PromptTooLongError(
                        f"{self.info.model_id}: prompt plus option exceeds the context"
                    )
                sequences.append(sequence)
                starts.append(len(prompt))
        params = vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        outputs = self._llm.generate(
            [{"prompt_token_ids": s} for s in sequences], params, use_tqdm=False
        )
        scores = iter(
            sum_prompt_logprobs(out.prompt_logprobs, seq, start)
            for out, seq, start in zip(outputs, sequences, starts)
        )
        results = []
        for request in requests:
            logprobs = tuple(next(scores) for _ in request.options)
            mass = math.fsum(math.exp(lp) for lp in logprobs)
            results.append(ChoiceResult(logprobs, mass))
        return results

    def close(self) -> None:
        self._llm = None  # vLLM frees the GPU when the engine is collected
