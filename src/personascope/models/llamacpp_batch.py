"""A llama.cpp context that decodes several sequences in one batch (parallel generation).

This is how ``llama-server`` serves parallel slots: the context holds ``n_seq`` sequences,
each in its own KV stream (``kv_unified = false``), and one ``llama_decode`` call carries
one new token for every active sequence. On a CPU a step costs little more for eight
tokens than for one (the weights are read once per step), so eight sequences generate
several times the tokens per second of one.

Determinism: a sequence's prompt is evaluated alone, in the canonical blocks of
:mod:`personascope.models.eval_blocks`, into a cleared stream, so its KV cells sit where a
fresh single-sequence evaluation puts them; decoding steps then carry one token per
sequence. Whether a sequence's logits are the same whatever else shares its decoding step
is a property of the build's kernels, and it depends on the step's *width* (how many
tokens it carries), not on the other rows' contents or the sequence's row: on
llama-cpp-python 0.3.36 (CPU, AVX-512), SmolLM2-135M (Q4_1) gives bit-identical logits at
every width up to 8, Gemma-3-270M (Q4_K_M) at widths 1-7 but not 8 (up to 2.3 apart; the
matrix products switch kernels). So the context measures it once when it is made
(:meth:`MultiSequenceContext.invariant_width`): the widest step, up to the requested
number of sequences, whose every narrower width gives a probe sequence the same logits,
bit for bit, as a step of one. Generation never decodes wider than that, so a result is
the same as one-at-a-time generation and stays a function of the model file and the
request (``tests/test_llamacpp_batch.py`` checks a request alone and inside batches of
other compositions).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from personascope.models.eval_blocks import block_ends, ends_paragraph


class MultiSequenceContext:
    """``n_seq`` sequences of up to ``n_ctx_seq`` tokens each on one loaded model."""

    def __init__(
        self,
        llm: Any,
        n_seq: int,
        n_ctx_seq: int,
        piece: Callable[[int], str],
    ) -> None:
        """``llm``: a loaded ``llama_cpp.Llama`` (its model and threads are reused);
        ``piece``: a token's text (where paragraphs end)."""
        import llama_cpp
        from llama_cpp import _internals

        params = llama_cpp.llama_context_default_params()
        source = llm.context_params
        for name in ("n_batch", "n_ubatch", "n_threads", "n_threads_batch", "flash_attn_type"):
            setattr(params, name, getattr(source, name))
        params.n_seq_max = n_seq
        params.kv_unified = False
        params.n_ctx = n_ctx_seq * n_seq
        self._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        if llm._lora_adapter is not None:  # a lab model: the same adapter as llm's context
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(llm._lora_adapter)
            scales = (ctypes.c_float * 1)(llm.lora_scale)
            if llama_cpp.llama_set_adapters_lora(self._ctx.ctx, adapters, 1, scales):
                raise RuntimeError("cannot apply the LoRA adapter to the generation context")
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._batch = llama_cpp.llama_batch_init(max(n_seq, int(params.n_batch)), 0, 1)
        self._n_vocab = llm.n_vocab()
        self._piece = piece
        self.n_seq = n_seq
        self.n_ctx_seq = n_ctx_seq
        self.n_evaluated = 0
        self.width = self.invariant_width(n_seq)  # sequences decoded together

    def _decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> list[np.ndarray]:
        """Decode ``(token, position, sequence, wants logits)`` entries in one call; the
        logits of the entries that want them, in order."""
        import llama_cpp

        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (token, pos, seq, wants) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = wants
        status = llama_cpp.llama_decode(self._ctx.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")
        self.n_evaluated += len(entries)
        return [
            np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(self._ctx.ctx, i), shape=(self._n_vocab,)
            ).copy()
            for i, entry in enumerate(entries)
            if entry[3]
        ]

    def start(self, seq: int, prompt: Sequence[int]) -> np.ndarray:
        """Clear sequence ``seq`` and evaluate ``prompt`` into it in canonical blocks;
        the logits after its last token."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
        ends = block_ends(ends_paragraph([self._piece(t) for t in prompt]))
        start = 0
        logits: list[np.ndarray] = []
        for end in [*(e for e in ends if 0 < e < len(prompt)), len(prompt)]:
            entries = [(prompt[j], j, seq, j == end - 1) for j in range(start, end)]
            logits = self._decode(entries)
            start = end
        return logits[0]

    def step(self, tokens: Sequence[tuple[int, int, int]]) -> list[np.ndarray]:
        """Append ``(token, position, sequence)`` for each active sequence in one batch;
        each sequence's next-token logits, in order."""
        return self._decode([(token, pos, seq, True) for token, pos, seq in tokens])

    def invariant_width(self, limit: int) -> int:
        """The widest decoding step (at most ``limit`` tokens) such that every width from
        1 to it gives each sequence bit-identical logits to a one-token step; checked on
        a probe in which every sequence differs (its own prompt length, position and next
        token, as real requests do), against each sequence's step alone."""
        import llama_cpp

        steps = []  # (token, position, sequence)
        for seq in range(limit):
            prompt = list(range(11, 14 + seq))
            self.start(seq, prompt)
            steps.append((20 + seq, len(prompt), seq))
        alone = []
        for token, pos, seq in steps:
            alone.append(self.step([(token, pos, seq)])[0])
            llama_cpp.llama_memory_seq_rm(self._memory, seq, pos, -1)
        width = 1
        for w in range(2, limit + 1):
            rows = self.step(steps[:w])
            for _, pos, seq in steps[:w]:
                llama_cpp.llama_memory_seq_rm(self._memory, seq, pos, -1)
            if not all(np.array_equal(row, alone[i]) for i, row in enumerate(rows)):
                break
            width = w
        for seq in range(limit):
            llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
        return width

    def close(self) -> None:
        import llama_cpp

        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()
