"""The embedded backend: GGUF models through llama-cpp-python, on the CPU.

Two properties matter for measurement and are built in here:

* **Results do not depend on what was evaluated before.** llama.cpp's logits depend on how
  a prompt is split into evaluation batches (on Gemma-270M, one 373-token prompt evaluated
  in one batch or in pieces of 7/193/173 tokens gave logits differing by up to 2.1). So
  prompts are always evaluated in the canonical blocks of
  :mod:`personascope.models.eval_blocks` (a block ends at a paragraph break or after 32
  tokens); a shared prefix is reused from the KV cache only in whole blocks, which makes
  the reused state bit-identical to a fresh evaluation.
* **Shared prefixes are paid for once.** Requests are processed in prompt order, so the
  items of one persona follow each other and only their suffixes are evaluated.

Sampling uses :mod:`personascope.models.sampling` on the raw logits (seeded per request).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from personascope.errors import ModelLoadError, PromptTooLongError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Prompt,
)
from personascope.models.catalog import ModelSpec
from personascope.models.chat_template import checked_prompt, render_prompt
from personascope.models.eval_blocks import SCHEME, block_ends, ends_paragraph
from personascope.models.sampling import (
    SAMPLER_ORDER,
    cut_at_stop,
    entropy,
    log_softmax,
    sample_token,
)

DEFAULT_N_CTX = 4096


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level log lines (written straight to file descriptor 2)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class LlamaCppModel:
    """A GGUF model in llama.cpp implementing :class:`~personascope.models.base.LanguageModel`."""

    def __init__(
        self,
        spec: ModelSpec,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        lora_path: Path | None = None,
    ):
        """``lora_path``: a GGUF LoRA adapter applied on top of the weights (lab models)."""
        import llama_cpp
        import llama_cpp._logger

        llama_cpp._logger.logger.setLevel(logging.CRITICAL)
        assert spec.path is not None
        n_ctx = int(spec.options.get("n_ctx", n_ctx or DEFAULT_N_CTX))
        threads = int(
            spec.options.get("n_threads")
            or n_threads
            or os.environ.get("PERSONASCOPE_THREADS")
            or os.cpu_count()
            or 1
        )
        try:
            with _quiet_stderr():
                self._llm = llama_cpp.Llama(
                    model_path=str(spec.path),
                    n_ctx=n_ctx,
                    n_batch=512,
                    n_threads=threads,
                    n_threads_batch=threads,
                    logits_all=False,
                    verbose=False,
                    lora_path=None if lora_path is None else str(lora_path),
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"cannot load {spec.path} as a GGUF model: {str(exc).splitlines()[0]}"
            ) from exc
        metadata = self._llm.metadata
        self._template = metadata.get("tokenizer.chat_template")
        kind = spec.kind or ("chat" if self._template else "base")
        model = self._llm._model
        self._vocab = model.vocab
        self._n_vocab = self._llm.n_vocab()
        self._n_ctx = self._llm.n_ctx()
        self._bos_text = model.token_get_text(model.token_bos()) if model.token_bos() >= 0 else ""
        eos = model.token_eos()
        self._eos_text = model.token_get_text(eos) if eos >= 0 else ""
        self._add_bos = bool(model.add_bos_token())
        self._prefix_reuse = bool(spec.options.get("prefix_reuse", True))
        self._tokens: list[int] = []  # what the KV cache holds
        self._stable = 0  # leading tokens evaluated in whole canonical blocks
        self._pieces: dict[int, str] = {}  # token id -> its text, for finding paragraph ends
        self.n_evaluated = 0  # tokens evaluated so far (prefix reuse shows as a small count)
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=kind,
            file_sha256=spec.key.rpartition("@")[2].partition("#")[0] or None,
            revision=None,
            backend="llamacpp",
            backend_version=llama_cpp.__version__,
            sampler_order=SAMPLER_ORDER,
            extra={
                "path": str(spec.path),
                "n_ctx": self._n_ctx,
                "n_threads": threads,
                "eval_blocks": SCHEME,
                "description": model.desc(),
                "n_params": model.n_params(),
                "chat_template": self._template,
            },
        )

    # -- prompts -----------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model is given for ``prompt``."""
        return render_prompt(
            prompt, self._template, self._bos_text, self._eos_text, self.info.model_id
        )

    def tokenize_prompt(self, prompt: Prompt) -> list[int]:
        text = self.render(prompt)
        is_chat = isinstance(prompt, ChatPrompt)
        add_bos = self._add_bos and not (self._bos_text and text.startswith(self._bos_text))
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=is_chat)
        return checked_prompt(tokens, self._n_ctx, self.info.model_id)

    # -- evaluation --------------------------------------------------------------------

    def _logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._n_vocab,)).copy()

    def _piece(self, token: int) -> str:
        if token not in self._pieces:
            self._pieces[token] = self._llm.detokenize([token]).decode("utf-8", "replace")
        return self._pieces[token]

    def _eval_prompt(self, tokens: list[int]) -> np.ndarray:
        """Evaluate ``tokens`` in canonical blocks, reusing whole cached blocks; last logits."""
        ends = block_ends(ends_paragraph([self._piece(t) for t in tokens]))
        start = 0
        if self._prefix_reuse:
            limit = min(common_prefix_length(self._tokens, tokens), self._stable, len(tokens) - 1)
            start = max((end for end in ends if end <= limit), default=0)
        self._llm.n_tokens = start
        del self._tokens[start:]
        for end in [*(e for e in ends if start < e < len(tokens)), len(tokens)]:
            self._llm.eval(tokens[start:end])
            self._tokens.extend(tokens[start:end])
            self.n_evaluated += end - start
            start = end
        self._stable = ends[-1] if ends else 0
        return self._logits()

    def _eval_next(self, token: int) -> np.ndarray:
        """Append one token after the prompt (not a canonical block) and return its logits."""
        self._llm.eval([token])
        self._tokens.append(token)
        self.n_evaluated += 1
        return self._logits()

    # -- scoring -----------------------------------------------------------------------

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        prompts = [self.tokenize_prompt(r.prompt) for r in requests]
        results: list[ChoiceResult | None] = [None] * len(requests)
        for i in sorted(range(len(requests)), key=lambda k: prompts[k]):
            results[i] = self._score_one(prompts[i], requests[i].options)
        return [r for r in results if r is not None]

    def _score_one(self, prompt: list[int], options: tuple[str, ...]) -> ChoiceResult:
        first = log_softmax(self._eval_prompt(prompt))
        encoded = [self._llm.tokenize(o.encode("utf-8"), add_bos=False) for o in options]
        if len(prompt) + max(len(e) for e in encoded) > self._n_ctx:
            raise PromptTooLongError(f"{self.info.model_id}: prompt plus option exceeds context")
        logprobs: list[float] = []
        for tokens in encoded:
            if not tokens:
                raise ValueError(f"option {options!r} tokenizes to nothing")
            total = float(first[tokens[0]])
            if len(tokens) > 1:
                self._eval_prompt(prompt)
                for previous, token in itertools.pairwise(tokens):
                    total += float(log_softmax(self._eval_next(previous))[token])
            logprobs.append(total)
        mass = float(np.exp(np.asarray(logprobs)).sum())
        return ChoiceResult(tuple(logprobs), mass)

    # -- generation --------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        prompts = [self.tokenize_prompt(r.prompt) for r in requests]
        results: list[GenerationResult | None] = [None] * len(requests)
        for i in sorted(range(len(requests)), key=lambda k: prompts[k]):
            results[i] = self._generate_one(prompts[i], requests[i])
        return [r for r in results if r is not None]

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def _decode(self, tokens: list[int]) -> str:
        return self._llm.detokenize(tokens).decode("utf-8", errors="replace")

    def _generate_one(self, prompt: list[int], request: GenerationRequest) -> GenerationResult:
        settings = request.sampler
        rng = np.random.default_rng(request.seed)
        logits = self._eval_prompt(prompt)
        tokens: list[int] = []
        logprobs: list[float] = []
        entropies: list[float] = []
        finish: str = "length"
        text = ""
        room = self._n_ctx - len(prompt)
        for _ in range(min(settings.max_tokens, room)):
            dist = log_softmax(logits)
            token = sample_token(dist, settings, rng)
            if self._is_end(token):
                finish = "stop"
                break
            tokens.append(token)
            logprobs.append(float(dist[token]))
            if request.want_entropy:
                entropies.append(entropy(dist))
            text = self._decode(tokens)
            stopped = cut_at_stop(text, tokens, settings.stop, self._decode)
            if stopped is not None:
                text, kept = stopped
                del tokens[kept:], logprobs[kept:], entropies[kept:]
                finish = "stop"
                break
            if len(tokens) < settings.max_tokens:
                logits = self._eval_next(token)
        return GenerationResult(
            text=text,
            token_ids=tuple(tokens),
            token_logprobs=tuple(logprobs),
            finish_reason=finish,  # type: ignore[arg-type]
            n_prompt_tokens=len(prompt),
            entropies=tuple(entropies) if request.want_entropy else None,
        )

    def close(self) -> None:
        self._llm.close()
