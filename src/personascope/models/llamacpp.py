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
from personascope.models.llamacpp_batch import MultiSequenceContext
from personascope.models.sampling import (
    SAMPLER_ORDER,
    cut_at_stop,
    entropy,
    log_softmax,
    sample_token,
)

DEFAULT_N_CTX = 4096
DEFAULT_PARALLEL = 8  # sequences generated together (one decoding step carries a token each)


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
        self._parallel = max(1, int(spec.options.get("parallel", DEFAULT_PARALLEL)))
        self._generation: MultiSequenceContext | None = None
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
                "parallel": self._parallel,
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
        """Generate up to ``parallel`` requests at a time (fewer where this build's
        logits would depend on the step's width), one token for each per decoding step
        (:mod:`personascope.models.llamacpp_batch`); a finished request's slot takes the
        next request in prompt order. The results equal one-at-a-time generation's."""
        prompts = [self.tokenize_prompt(r.prompt) for r in requests]
        if not requests:
            return []
        need = max(
            min(self._n_ctx, len(p) + r.sampler.max_tokens) for p, r in zip(prompts, requests)
        )
        context = self._parallel_context(min(self._parallel, len(requests)), need)
        queue = sorted(range(len(requests)), key=lambda k: prompts[k])[::-1]
        results: list[GenerationResult | None] = [None] * len(requests)
        active: dict[int, tuple[int, _Generation, int, int]] = {}  # seq -> (i, state, token, pos)
        before = context.n_evaluated
        while queue or active:
            for seq in range(context.width):
                while seq not in active and queue:
                    i = queue.pop()
                    state = _Generation(requests[i], len(prompts[i]), self._n_ctx, self)
                    token = state.advance(context.start(seq, prompts[i]))
                    if token is None:
                        results[i] = state.result()
                    else:
                        active[seq] = (i, state, token, len(prompts[i]))
            if not active:
                break
            seqs = sorted(active)
            logits = context.step([(active[q][2], active[q][3], q) for q in seqs])
            for seq, row in zip(seqs, logits):
                i, state, _, pos = active[seq]
                token = state.advance(row)
                if token is None:
                    results[i] = state.result()
                    del active[seq]
                else:
                    active[seq] = (i, state, token, pos + 1)
        self.n_evaluated += context.n_evaluated - before
        return [r for r in results if r is not None]

    def _parallel_context(self, n_seq: int, need: int) -> MultiSequenceContext:
        """The generation context, rebuilt when it has too few sequences or too little room."""
        context = self._generation
        if context is None or context.n_seq < n_seq or context.n_ctx_seq < need:
            if context is not None:
                context.close()
            size = -(-max(need, context.n_ctx_seq if context else 0) // 256) * 256
            n = max(n_seq, context.n_seq if context else 1)
            with _quiet_stderr():
                context = MultiSequenceContext(self._llm, n, min(size, self._n_ctx), self._piece)
            self._generation = context
        return context

    def is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def decode(self, tokens: list[int]) -> str:
        return self._llm.detokenize(tokens).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._generation is not None:
            self._generation.close()
            self._generation = None
        self._llm.close()


class _Generation:
    """One request's sampling state: the seeded sampler, stop strings, entropies."""

    def __init__(
        self, request: GenerationRequest, n_prompt: int, n_ctx: int, model: LlamaCppModel
    ) -> None:
        self.request = request
        self.rng = np.random.default_rng(request.seed)
        self.n_prompt = n_prompt
        self.limit = min(request.sampler.max_tokens, n_ctx - n_prompt)
        self.model = model
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.entropies: list[float] = []
        self.finish = "length"
        self.text = ""
        self.drawn = 0

    def advance(self, logits: np.ndarray) -> int | None:
        """Draw the next token from ``logits``; the token to evaluate next, or None when
        the request is finished."""
        settings = self.request.sampler
        if self.drawn >= self.limit:
            return None
        self.drawn += 1
        dist = log_softmax(logits)
        token = sample_token(dist, settings, self.rng)
        if self.model.is_end(token):
            self.finish = "stop"
            return None
        self.tokens.append(token)
        self.logprobs.append(float(dist[token]))
        if self.request.want_entropy:
            self.entropies.append(entropy(dist))
        self.text = self.model.decode(self.tokens)
        stopped = cut_at_stop(self.text, self.tokens, settings.stop, self.model.decode)
        if stopped is not None:
            self.text, kept = stopped
            del self.tokens[kept:], self.logprobs[kept:], self.entropies[kept:]
            self.finish = "stop"
            return None
        if len(self.tokens) >= settings.max_tokens or self.drawn >= self.limit:
            return None
        return token

    def result(self) -> GenerationResult:
        return GenerationResult(
            text=self.text,
            token_ids=tuple(self.tokens),
            token_logprobs=tuple(self.logprobs),
            finish_reason=self.finish,  # type: ignore[arg-type]
            n_prompt_tokens=self.n_prompt,
            entropies=tuple(self.entropies) if self.request.want_entropy else None,
        )
