"""The transformers backend: causal LMs from a hub id, a local folder or a GGUF file.

``hf/smollm2-135m-instruct`` and ``hf/gemma3-270m`` load the same GGUF files as the
llama.cpp backend (transformers dequantizes them to float32), which makes the two
backends directly comparable. The first load saves the de-quantized weights as a
safetensors folder in the user cache (:mod:`personascope.models.hf_convert`); later loads
read that folder in seconds. Options (``resolve(model_id, **options)``): ``device``,
``device_map`` and ``dtype`` (:mod:`personascope.models.hf_device`: by default the first
accelerator torch sees, bfloat16 there and float32 on the CPU), ``share_prefix`` (default
true: choice requests that share a prompt prefix run it once, see :meth:`HFModel._read`),
``revision`` and ``offline`` for hub ids, ``kind``, ``n_threads`` (sets torch's
process-wide thread count; by default it is left alone: one per physical core), ``n_ctx``
(default: the model's ``max_position_embeddings``), ``max_batch`` (rows per forward pass,
default 16 on the CPU, 256 on a GPU) and ``batch_tokens`` (padded tokens per forward
pass, default 4096 on the CPU, 32768 on a GPU).

Every tensor the backend makes goes to the device of the model's embeddings; scoring
brings back only the log-probabilities it reads (computed in float64 on the device), and
generation samples the whole batch on the device (:mod:`personascope.models.sampling_torch`,
one seeded ``torch.Generator`` per request: the distribution of the numpy reference
sampler, not its tokens).

Prompts are rendered and tokenized exactly as the llama.cpp backend does for the same
GGUF file: chat prompts through :func:`~personascope.models.chat_template.render_chat`
with the file's template, special tokens parsed in rendered chat text but not in text
prompts or options, and a BOS token added only when the model adds one and the text does
not already start with it. For GGUF files the tokenizer's special tokens are the file's
control tokens plus the end-of-turn markers in :data:`END_MARKERS`, which llama.cpp also
treats as control tokens. Generation ends at the model's EOS ids and at those markers
(llama.cpp also ends at some fill-in-the-middle tokens, e.g. SmolLM2's ``<reponame>``).

Threads: torch runs one thread per physical core unless ``n_threads`` says otherwise. On
a machine shared with other busy processes, OpenMP threads that wait on each other can
make two threads many times slower than one (measured on the 2-core development machine
under load: scoring 58 vs 268 tok/s); set ``n_threads=1`` there.

Reproducibility. CPU matrix kernels choose their blocking by the number of rows they
multiply, so the same row can come out differently (~1e-5 in the logits) depending on
how many other rows share its forward pass. Hence:

* **bit-identical**: the same batch of requests, in any order, on the same machine,
  dtype and thread count (rows are put in a canonical order before batching); a runner
  that replays the same batches after an interruption reproduces its results exactly;
* **bit-identical to running alone**: a generation request whose prompt length no other
  request in the batch shares (generation batches only rows of equal prompt length, so
  no row is ever padded; such a request runs as a batch of one);
* **close, not identical**: generation requests that share a prompt length with others,
  and scored requests (left-padded into batches sorted by length, prefixes shared within
  a batch), differ from a lone run by ~1e-5 in log-probability in float32; a sampled
  token can then differ only when the draw falls within that distance of a boundary
  between tokens. In bfloat16 the order of the work moves option log-probabilities by
  up to tenths of a nat (docs/scaling.md gives the figures).
"""

from __future__ import annotations

import copy
import inspect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from personascope.errors import ModelLoadError, ModelNotFoundError, PromptTooLongError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Prompt,
    canonical_json,
    request_to_dict,
)
from personascope.models.catalog import ModelSpec
from personascope.models.chat_template import checked_prompt, render_prompt
from personascope.models.hf_convert import converted_folder
from personascope.models.hf_convert import first_line as _first_line
from personascope.models.hf_convert import quiet_transformers as _quiet
from personascope.models.hf_device import device_map_option, load_device, resolved_dtype
from personascope.models.prefix_groups import PrefixGroup, prefix_groups
from personascope.models.sampling import SAMPLER_ORDER, cut_at_stop
from personascope.models.sampling_torch import Draws, draw, exact_dtype, row_generator

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
# rows and padded tokens per forward pass unless the options say otherwise
BATCH_DEFAULTS = {"cpu": (16, 4096), "gpu": (256, 32768)}

# Texts of end-of-turn / end-of-text tokens across model families. Generation ends at any
# of them that is a single token of the vocabulary (as well as at the model's EOS ids);
# in GGUF files they are control tokens, as llama.cpp treats them.
END_MARKERS = (
    "</s>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<EOT>",
)


def _load(spec: ModelSpec, dtype: torch.dtype, device: str | None) -> tuple[Any, Any, str | None]:
    """Tokenizer, model and, for GGUF files, the file name. ``device``: where the weights
    go (``"auto"``: accelerate's device map over the visible GPUs)."""
    from huggingface_hub import is_offline_mode
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    gguf_file: str | None = None
    if spec.path is None:
        source = spec.name
        kwargs["revision"] = spec.options.get("revision", "main")
        kwargs["local_files_only"] = bool(spec.options.get("offline")) or is_offline_mode()
    elif spec.path.is_file():
        if spec.path.suffix != ".gguf":
            raise ModelLoadError(
                f"{spec.model_id}: {spec.path} is neither a .gguf file nor a folder"
            )
        source, gguf_file = str(spec.path.parent), spec.path.name
        if spec.embedded is not None:
            # embedded models: a safetensors copy in the user cache (models/hf_convert.py)
            source = str(converted_folder(spec))
        else:
            kwargs["gguf_file"] = gguf_file
    else:
        source = str(spec.path)
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            placed = {} if device == "cpu" else {"device_map": device}
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **placed, **kwargs)
    # Loaders of untrusted files fail in many ways (bad headers, unknown architectures,
    # truncated tensors); each becomes one line naming the model.
    except Exception as exc:
        if spec.path is None:
            where = "its local cache (offline)" if kwargs["local_files_only"] else "its cache"
            raise ModelNotFoundError(
                f"{spec.model_id}: cannot load {spec.name!r} from the Hugging Face hub or "
                f"{where}: {_first_line(exc)}"
            ) from exc
        raise ModelLoadError(
            f"{spec.model_id}: cannot load {spec.path} with transformers: {_first_line(exc)}"
        ) from exc
    return tokenizer, model.eval(), gguf_file


def _as_ids(value: int | list[int] | None) -> set[int]:
    if value is None:
        return set()
    return {value} if isinstance(value, int) else set(value)


def _mark_special(tokenizer: Any, texts: list[str]) -> None:
    """Make existing added tokens special (parsed in chat text, split in text prompts)."""
    from tokenizers import AddedToken

    tokenizer.add_tokens(
        [AddedToken(text, special=True, normalized=False) for text in texts],
        special_tokens=True,
    )


def _chunks(lengths: list[int], max_rows: int, max_tokens: int) -> Iterator[list[int]]:
    """Consecutive runs of indices (in the given order) that fit one padded forward pass."""
    chunk: list[int] = []
    width = 0
    for i, length in enumerate(lengths):
        wider = max(width, length)
        if chunk and (len(chunk) >= max_rows or wider * (len(chunk) + 1) > max_tokens):
            yield chunk
            chunk, wider = [], length
        chunk.append(i)
        width = wider
    if chunk:
        yield chunk


def _flag(value: Any, name: str, model_id: str) -> bool:
    """A boolean option given as a bool or as text (``-O share_prefix=false``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ModelLoadError(f"{model_id}: {name} {value!r} is neither true nor false")


@dataclass(frozen=True)
class _Query:
    """Log-probabilities to read from one forward pass over ``tokens``: each of ``reads``
    is ``(position, token)``, read as log P(token | tokens[: position + 1])."""

    tokens: list[int]
    reads: tuple[tuple[int, int], ...]

    @property
    def first_read(self) -> int:
        return min(position for position, _ in self.reads)

    def sort_key(self) -> tuple[int, list[int], tuple[tuple[int, int], ...]]:
        return len(self.tokens), self.tokens, self.reads


@dataclass(frozen=True)
class _Heads:
    """The KV cache of shared prefixes run together (one row each, left-padded) and the
    attention mask of that pass."""

    cache: Any
    mask: torch.Tensor


@dataclass
class _Row:
    """One generation request in flight: its generator and what it produced so far."""

    request: GenerationRequest
    limit: int
    generator: torch.Generator
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    text: str = ""
    finish: str = "length"

    def accept(
        self,
        drawn: Draws,
        position: int,
        end_ids: frozenset[int],
        decode: Callable[[list[int]], str],
    ) -> bool:
        """Take the token drawn for this row; False once the row has finished."""
        token = drawn.tokens[position]
        if token in end_ids:
            self.finish = "stop"
            return False
        self.tokens.append(token)
        self.logprobs.append(drawn.logprobs[position])
        if self.request.want_entropy and drawn.entropies is not None:
            self.entropies.append(drawn.entropies[position])
        self.text = decode(self.tokens)
        stopped = cut_at_stop(self.text, self.tokens, self.request.sampler.stop, decode)
        if stopped is not None:
            self.text, kept = stopped
            del self.tokens[kept:], self.logprobs[kept:], self.entropies[kept:]
            self.finish = "stop"
            return False
        return len(self.tokens) < self.limit

    def result(self, n_prompt_tokens: int) -> GenerationResult:
        return GenerationResult(
            text=self.text,
            token_ids=tuple(self.tokens),
            token_logprobs=tuple(self.logprobs),
            finish_reason=self.finish,  # type: ignore[arg-type]
            n_prompt_tokens=n_prompt_tokens,
            entropies=tuple(self.entropies) if self.request.want_entropy else None,
        )


class HFModel:
    """A transformers causal LM implementing :class:`~personascope.models.base.LanguageModel`."""

    def __init__(self, spec: ModelSpec):
        import transformers

        dtype_name = resolved_dtype(spec.options, spec.model_id)
        device_map = device_map_option(spec.options, spec.model_id)
        self._share = _flag(spec.options.get("share_prefix", True), "share_prefix", spec.model_id)
        if spec.options.get("n_threads"):
            torch.set_num_threads(int(spec.options["n_threads"]))
        self._tok, self._model, gguf_file = _load(
            spec, DTYPES[dtype_name], device_map or load_device(spec.options, spec.model_id)
        )
        # inputs go where the embeddings are (the first GPU of a device map)
        self._device = self._model.get_input_embeddings().weight.device
        self._exact = exact_dtype(self._device)
        forward = inspect.signature(self._model.forward).parameters
        self._cache_arg = "cache" if "cache" in forward else "past_key_values"  # transformers<5.2x
        tok = self._tok
        vocab = tok.get_vocab()
        markers = [m for m in END_MARKERS if m in vocab]
        if gguf_file is not None:
            _mark_special(tok, [m for m in markers if m not in tok.all_special_tokens])
        config = self._model.config
        self._end_ids = frozenset(
            _as_ids(self._model.generation_config.eos_token_id)
            | _as_ids(tok.eos_token_id)
            | {vocab[m] for m in markers}
        )
        template = tok.chat_template if isinstance(tok.chat_template, str) else None
        self._template = template
        self._bos_text = tok.bos_token or ""
        self._eos_text = tok.eos_token or ""
        probe = tok("a").input_ids
        self._add_bos = tok.bos_token_id is not None and probe[:1] == [tok.bos_token_id]
        self._pad_id = next(i for i in (tok.pad_token_id, tok.eos_token_id, 0) if i is not None)
        max_positions = getattr(config, "max_position_embeddings", None) or 2048
        self._n_ctx = int(spec.options.get("n_ctx") or max_positions)
        rows, tokens = BATCH_DEFAULTS["cpu" if self._device.type == "cpu" else "gpu"]
        self._max_rows = int(spec.options.get("max_batch") or rows)
        self._max_tokens = int(spec.options.get("batch_tokens") or tokens)
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=spec.kind or ("chat" if template else "base"),
            file_sha256=spec.key.rpartition("@")[2].partition("#")[0] if gguf_file else None,
            revision=getattr(config, "_commit_hash", None) or spec.options.get("revision"),
            backend="hf",
            backend_version=transformers.__version__,
            sampler_order=SAMPLER_ORDER,
            extra={
                "source": str(spec.path) if spec.path else spec.name,
                "gguf_file": gguf_file,
                "dtype": dtype_name,
                "device": str(self._device),
                "device_map": self._device_map() if device_map else None,
                "share_prefix": self._share,
                "sampler": "torch (models/sampling_torch.py)",
                "torch_version": torch.__version__,
                "n_threads": torch.get_num_threads(),
                "n_ctx": self._n_ctx,
                "architecture": type(self._model).__name__,
                "n_params": sum(p.numel() for p in self._model.parameters()),
                "end_token_ids": sorted(self._end_ids),
                "max_batch": self._max_rows,
                "batch_tokens": self._max_tokens,
                "chat_template": template,
            },
        )

    def _device_map(self) -> dict[str, str]:
        """Where accelerate put each module (all on one device: ``{"": device}``)."""
        placed = getattr(self._model, "hf_device_map", None) or {"": self._device}
        return {name: str(device) for name, device in placed.items()}

    # -- prompts -----------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model is given for ``prompt``."""
        return render_prompt(
            prompt, self._template, self._bos_text, self._eos_text, self.info.model_id
        )

    def _encode(self, text: str, special: bool) -> list[int]:
        """Token ids of ``text``; ``special`` parses special-token text as those tokens."""
        return list(
            self._tok(text, add_special_tokens=False, split_special_tokens=not special).input_ids
        )

    def tokenize_prompt(self, prompt: Prompt) -> list[int]:
        return self.tokenize_prompts([prompt])[0]

    def tokenize_prompts(self, prompts: list[Prompt]) -> list[list[int]]:
        """Token ids of many prompts: rendered, then encoded in one batched tokenizer call
        per kind (chat text parses special tokens, plain text does not)."""
        texts = [self.render(p) for p in prompts]
        tokens: list[list[int]] = [[] for _ in prompts]
        for special in (True, False):
            which = [i for i, p in enumerate(prompts) if isinstance(p, ChatPrompt) == special]
            if which:
                encoded = self._tok(
                    [texts[i] for i in which],
                    add_special_tokens=False,
                    split_special_tokens=not special,
                ).input_ids
                for i, ids in zip(which, encoded, strict=True):
                    tokens[i] = list(ids)
        for text, ids in zip(texts, tokens, strict=True):
            if self._add_bos and not (self._bos_text and text.startswith(self._bos_text)):
                ids.insert(0, self._tok.bos_token_id)
            checked_prompt(ids, self._n_ctx, self.info.model_id)
        return tokens

    def _decode(self, tokens: list[int]) -> str:
        return self._tok.decode(
            tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    # -- forward passes ----------------------------------------------------------------

    def _call(self, ids: torch.Tensor, cache: Any = None, **kwargs: Any) -> torch.Tensor:
        """Logits of one forward pass (``cache``: a KV cache to extend)."""
        if cache is not None:
            kwargs |= {self._cache_arg: cache, "use_cache": True}
        else:
            kwargs["use_cache"] = False
        with torch.inference_mode():
            return self._model(input_ids=ids.to(self._device), **kwargs).logits

    def _gather(self, logits: torch.Tensor, spots: list[tuple[int, int, int]]) -> list[float]:
        """log-softmax(logits[row, index])[token] for each ``(row, index, token)``, computed
        on the device in float64 for the rows read; only those values leave it."""
        cells: dict[tuple[int, int], int] = {}
        for row, index, _ in spots:
            cells.setdefault((row, index), len(cells))
        rows = torch.tensor([c[0] for c in cells], device=logits.device)
        indices = torch.tensor([c[1] for c in cells], device=logits.device)
        logprobs = torch.log_softmax(logits[rows, indices].to(self._exact), dim=-1)
        which = torch.tensor([cells[(r, i)] for r, i, _ in spots], device=logits.device)
        tokens = torch.tensor([t for _, _, t in spots], device=logits.device)
        return logprobs[which, tokens].double().cpu().tolist()

    def _read(self, queries: list[_Query]) -> list[list[float]]:
        """The log-probabilities each query asks for, in its ``reads`` order.

        With ``share_prefix`` (default) queries are grouped by the prefix they share
        (:func:`~personascope.models.prefix_groups.prefix_groups`). The groups' prefixes
        run together in one left-padded pass; each pass over the rest then takes its
        rows' KV states from that cache, rows of several groups in one pass. Queries left
        alone run in ordinary padded passes.
        """
        if self._share:
            caps = [q.first_read for q in queries]
            groups = prefix_groups([q.tokens for q in queries], caps)
        else:
            groups = [PrefixGroup(0, (i,)) for i in range(len(queries))]
        shared = [g for g in groups if g.prefix]
        passes = [([(i, 0, -1) for g in groups if not g.prefix for i in g.members], None)]
        if shared:
            heads = self._heads([queries[g.members[0]].tokens[: g.prefix] for g in shared])
            rows = [(i, g.prefix, k) for k, g in enumerate(shared) for i in g.members]
            passes.append((rows, heads))
        values: list[list[float]] = [[] for _ in queries]
        for rows, cached in passes:
            for got, (i, _, _) in zip(self._read_rows(queries, rows, cached), rows, strict=True):
                values[i] = got
        return values

    def _heads(self, prefixes: list[list[int]]) -> _Heads:
        """One left-padded pass over the groups' prefixes; their KV cache and mask."""
        from transformers import DynamicCache

        width = max(len(p) for p in prefixes)
        ids = torch.full((len(prefixes), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(prefixes), width), dtype=torch.long)
        for row, prefix in enumerate(prefixes):
            ids[row, width - len(prefix) :] = torch.tensor(prefix)
            mask[row, width - len(prefix) :] = 1
        cache = DynamicCache(config=self._model.config)
        self._call(ids, cache, **self._padding(mask, 0), logits_to_keep=1)
        return _Heads(cache, mask)

    def _padding(self, mask: torch.Tensor, skip: int) -> dict[str, torch.Tensor]:
        """Attention mask and position ids of left-padded rows (none without padding);
        ``skip`` leading columns are already in the KV cache."""
        if bool(mask.all()):
            return {}
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, skip:]
        return {"attention_mask": mask.to(self._device), "position_ids": positions.to(self._device)}

    def _read_rows(
        self, queries: list[_Query], rows: list[tuple[int, int, int]], heads: _Heads | None
    ) -> list[list[float]]:
        """Reads of ``rows`` = (query, tokens in the cache, head row), in passes of at most
        ``max_batch`` rows and ``batch_tokens`` padded tokens, rows sorted by what each
        pass evaluates; returns each row's reads in order."""
        before = 0 if heads is None else heads.mask.shape[1]
        order = sorted(
            range(len(rows)),
            key=lambda r: (
                len(queries[rows[r][0]].tokens) - rows[r][1],
                queries[rows[r][0]].sort_key(),
            ),
        )
        lengths = [before + len(queries[rows[r][0]].tokens) - rows[r][1] for r in order]
        chunks = list(_chunks(lengths, self._max_rows, self._max_tokens))
        values: list[list[float]] = [[] for _ in rows]
        for n, chunk in enumerate(chunks):
            members = [rows[order[c]] for c in chunk]
            got = self._pass(queries, members, heads, last=n == len(chunks) - 1)
            for c, read in zip(chunk, got, strict=True):
                values[order[c]] = read
        return values

    def _pass(
        self,
        queries: list[_Query],
        rows: list[tuple[int, int, int]],
        heads: _Heads | None,
        last: bool,
    ) -> list[list[float]]:
        """One forward pass over each row's tokens after those in the cache (the rows of
        ``heads`` they name), left-padded so that every row ends in the last column: only
        the last positions' logits are computed (``logits_to_keep``); padding is masked."""
        picked = [(queries[i], skip) for i, skip, _ in rows]
        before = 0 if heads is None else heads.mask.shape[1]
        width = max(len(q.tokens) - skip for q, skip in picked)
        keep = max(len(q.tokens) - q.first_read for q, _ in picked)
        ids = torch.full((len(rows), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), before + width), dtype=torch.long)
        cache = None
        if heads is not None:
            which = torch.tensor([k for _, _, k in rows])
            mask[:, :before] = heads.mask[which]
            cache = heads.cache if last else copy.deepcopy(heads.cache)
            cache.batch_select_indices(which.to(self._device))
        for row, (q, skip) in enumerate(picked):
            n = len(q.tokens) - skip
            ids[row, width - n :] = torch.tensor(q.tokens[skip:])
            mask[row, before + width - n :] = 1
        logits = self._call(ids, cache, **self._padding(mask, before), logits_to_keep=keep)
        # position p of a row of length L is at kept index keep - L + p
        spots = [
            (row, keep - len(q.tokens) + p, t)
            for row, (q, _) in enumerate(picked)
            for p, t in q.reads
        ]
        got = iter(self._gather(logits, spots))
        return [[next(got) for _ in q.reads] for q, _ in picked]

    # -- scoring -----------------------------------------------------------------------

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        prompts = self.tokenize_prompts([r.prompt for r in requests])
        texts = {o for r in requests for o in r.options}
        ids = {o: self._encode(o, special=False) for o in sorted(texts)}
        encoded = [[ids[o] for o in r.options] for r in requests]
        for request, prompt, options in zip(requests, prompts, encoded):
            if not all(options):
                raise ValueError(f"an option of {request.options!r} tokenizes to nothing")
            if len(prompt) + max(len(o) for o in options) > self._n_ctx:
                raise PromptTooLongError(
                    f"{self.info.model_id}: prompt plus option exceeds the context of "
                    f"{self._n_ctx} tokens"
                )
        # the first token of every option, read after the prompt; an option of several
        # tokens adds a query over prompt + option[:-1] that reads each further token
        queries = [
            _Query(prompt, tuple((len(prompt) - 1, o[0]) for o in options))
            for prompt, options in zip(prompts, encoded)
        ]
        longer = [
            (i, j) for i, opts in enumerate(encoded) for j, o in enumerate(opts) if len(o) > 1
        ]
        for i, j in longer:
            option, start = encoded[i][j], len(prompts[i]) - 1
            reads = tuple((start + k, option[k]) for k in range(1, len(option)))
            queries.append(_Query(prompts[i] + option[:-1], reads))
        values = self._read(queries)
        logprobs = [list(v) for v in values[: len(requests)]]
        for (i, j), further in zip(longer, values[len(requests) :], strict=True):
            logprobs[i][j] += sum(further)
        return [ChoiceResult(tuple(lp), float(np.exp(np.asarray(lp)).sum())) for lp in logprobs]

    # -- generation --------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        prompts = self.tokenize_prompts([r.prompt for r in requests])
        keys = [canonical_json(request_to_dict(r)) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: (len(prompts[i]), prompts[i], keys[i]))
        results: list[GenerationResult | None] = [None] * len(requests)
        for length, same in itertools.groupby(order, key=lambda i: len(prompts[i])):
            members = list(same)
            size = min(self._max_rows, max(1, self._max_tokens // length))
            for start in range(0, len(members), size):
                group = members[start : start + size]
                outputs = self._generate_group(
                    [prompts[i] for i in group], [requests[i] for i in group]
                )
                for i, output in zip(group, outputs, strict=True):
                    results[i] = output
        return [r for r in results if r is not None]

    def _generate_group(
        self, prompts: list[list[int]], requests: list[GenerationRequest]
    ) -> list[GenerationResult]:
        """Sample continuations of equal-length prompts together, with a shared KV cache;
        the sampler runs on the device for the whole batch (models/sampling_torch.py)."""
        from transformers import DynamicCache

        room = self._n_ctx - len(prompts[0])
        rows = [_Row(r, min(r.sampler.max_tokens, room), row_generator(r.seed)) for r in requests]
        want_entropy = any(r.want_entropy for r in requests)
        cache = DynamicCache(config=self._model.config)
        inputs = torch.tensor(prompts, dtype=torch.long)
        active = list(range(len(rows)))
        while active:
            logits = self._call(inputs, cache, logits_to_keep=1)[:, -1]
            drawn = draw(
                logits,
                [rows[i].request.sampler for i in active],
                [rows[i].generator for i in active],
                want_entropy,
            )
            going = [
                position
                for position, i in enumerate(active)
                if rows[i].accept(drawn, position, self._end_ids, self._decode)
            ]
            if not going:
                break
            if len(going) < len(active):
                cache.batch_select_indices(torch.tensor(going, device=self._device))
            active = [active[p] for p in going]
            inputs = torch.tensor([[rows[i].tokens[-1]] for i in active], dtype=torch.long)
        return [row.result(len(prompts[0])) for row in rows]

    def close(self) -> None:
        self._model = None
        self._tok = None
