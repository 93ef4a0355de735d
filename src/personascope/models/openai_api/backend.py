"""The OpenAI-compatible backend: request bodies, generation and option scoring over
:class:`~personascope.models.openai_api.transport.Transport` (docs/backends.md is its manual)."""

from __future__ import annotations

import math
from typing import Any

import httpx

from personascope.errors import BackendError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.models.openai_api.parsing import (
    OptionReading,
    answer_field,
    checked_logprob,
    echoed_option_logprob,
    fallback_logprob,
    parse_token_ids,
    read_options,
    top_entries_chat,
    top_entries_completion,
)
from personascope.models.openai_api.settings import redact_url, settings_from_spec
from personascope.models.openai_api.transport import Transport

OPENAI_COMPLETIONS_MAX_LOGPROBS = 5  # the OpenAI API caps completions logprobs at 5
ECHO_TOLERANCE = 0.1  # nats between an echoed log-prob and the top-K answer for it
ENTROPY_NOTE = (
    "entropy of the full next-token distribution is not available over HTTP: entropies=None"
)
LOGPROBS_OFF_NOTE = "token log-probs not requested (option logprobs=false)"
IDS_NOTE = "the server returned no token ids (only vLLM honours return_tokens_as_token_ids)"


class OpenAIAPIModel:
    """A model behind an OpenAI-compatible HTTP API (see the module documentation)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.settings = settings_from_spec(spec)
        self._name = spec.name
        self._provider = spec.provider
        self._transport = Transport(self.settings)
        settings = self.settings
        self.info = ModelInfo(
            model_id=spec.model_id,
            kind=spec.kind or "chat",
            file_sha256=None,
            revision=spec.options.get("revision") or None,
            backend=spec.provider,
            backend_version=f"httpx {httpx.__version__}",
            sampler_order=("server",),
            extra={
                "base_url": ",".join(redact_url(u) for u in settings.base_urls),
                "served_model": spec.name,
                "timeout_s": settings.timeout,
                "concurrency": (
                    settings.concurrency[0]
                    if len(settings.concurrency) == 1
                    else list(settings.concurrency)
                ),
                "max_retries": settings.max_retries,
                "top_logprobs": settings.top_logprobs,
                "prefill": settings.prefill,
                "echo": settings.echo,
                "extra_sampling": settings.extra_sampling,
                "logprobs": settings.logprobs,
            },
        )

    # -- request bodies --------------------------------------------------------------------

    def _messages(self, prompt: ChatPrompt) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Chat fields for ``prompt`` and the notes they call for (a dropped prefix)."""
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        if not prompt.assistant_prefix:
            return {"messages": messages}, ()
        if self.settings.prefill == "continue_final_message":
            messages.append({"role": "assistant", "content": prompt.assistant_prefix})
            fields = {
                "messages": messages,
                "continue_final_message": True,
                "add_generation_prompt": False,
            }
            return fields, ()
        note = (
            f"assistant_prefix {prompt.assistant_prefix!r} dropped: the server cannot pre-fill "
            "an assistant turn (option prefill=continue_final_message does so on vLLM)"
        )
        return {"messages": messages}, (note,)

    def _sampling(self, sampler: SamplerSettings, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "temperature": sampler.temperature,
            "top_p": sampler.top_p,
            "max_tokens": sampler.max_tokens,
            "seed": seed,
        }
        if sampler.stop:
            body["stop"] = list(sampler.stop)
        if self.settings.extra_sampling:
            body.update(
                top_k=sampler.top_k,
                min_p=sampler.min_p,
                repeat_penalty=1.0,
                return_tokens_as_token_ids=True,
            )
        elif sampler.top_k or sampler.min_p:
            raise BackendError(
                f"{self.info.model_id}: top_k/min_p cannot be sent to this server "
                "(option extra_sampling is off; the OpenAI API rejects them)"
            )
        return body

    # -- generation ------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        calls: list[tuple[str, dict[str, Any]]] = []
        notes: list[tuple[str, ...]] = []
        for request in requests:
            body: dict[str, Any] = {
                "model": self._name,
                **self._sampling(request.sampler, request.seed),
            }
            extra: tuple[str, ...] = ()
            if isinstance(request.prompt, ChatPrompt):
                fields, extra = self._messages(request.prompt)
                body.update(fields)
                if self.settings.logprobs:
                    body.update(logprobs=True, top_logprobs=1)
                calls.append(("chat/completions", body))
            else:
                body.update(prompt=request.prompt.text)
                if self.settings.logprobs:
                    body.update(logprobs=1)
                calls.append(("completions", body))
            if not self.settings.logprobs:
                extra = (*extra, LOGPROBS_OFF_NOTE)
            if request.want_entropy:
                extra = (*extra, ENTROPY_NOTE)
            notes.append(extra)
        answers = self._transport.post_many(calls)
        return [
            self._generation_result(answer, url, path, extra)
            for (url, answer), (path, _), extra in zip(answers, calls, notes)
        ]

    def _generation_result(
        self,
        data: dict[str, Any],
        url: str,
        path: str,
        notes: tuple[str, ...],
    ) -> GenerationResult:
        where = f"POST {redact_url(url)}"
        choice = answer_field(data, "choices", 0, where=where)
        if not isinstance(choice, dict):
            raise BackendError(f"{where}: choices[0] in the answer is not an object")
        logprobs = choice.get("logprobs")
        logprobs = logprobs if isinstance(logprobs, dict) else {}
        if path == "chat/completions":
            text = answer_field(choice, "message", "content", where=where) or ""
            content = logprobs.get("content") or []
            tokens = [str(answer_field(t, "token", where=where)) for t in content]
            values = [answer_field(t, "logprob", where=where) for t in content]
        else:
            text = answer_field(choice, "text", where=where)
            tokens = [str(t) for t in logprobs.get("tokens") or []]
            values = list(logprobs.get("token_logprobs") or [])
        if not values and text and self.settings.logprobs:
            notes = (*notes, "the server returned no token log-probs")
        ids = parse_token_ids(tokens)
        if ids is None:
            ids = ()
            notes = (*notes, IDS_NOTE)
        reason = choice.get("finish_reason")
        if reason not in ("stop", "length"):
            notes = (*notes, f"finish_reason {reason!r} reported as 'stop'")
        usage = data.get("usage")
        n_prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        return GenerationResult(
            text=str(text),
            token_ids=ids,
            token_logprobs=tuple(checked_logprob(v, where) for v in values if v is not None),
            finish_reason="length" if reason == "length" else "stop",
            n_prompt_tokens=n_prompt if isinstance(n_prompt, int) else 0,
            entropies=None,
            notes=notes,
        )

    # -- scoring ---------------------------------------------------------------------------

    def _top_k(self, prompt: Prompt) -> int:
        k = self.settings.top_logprobs
        if self._provider == "openai" and isinstance(prompt, TextPrompt):
            return min(k, OPENAI_COMPLETIONS_MAX_LOGPROBS)
        return k

    def _first_token_call(self, prompt: Prompt) -> tuple[str, dict[str, Any], tuple[str, ...]]:
        body: dict[str, Any] = {"model": self._name, "max_tokens": 1, "temperature": 0.0}
        k = self._top_k(prompt)
        if isinstance(prompt, ChatPrompt):
            fields, notes = self._messages(prompt)
            body.update(fields, logprobs=True, top_logprobs=k)
            return "chat/completions", body, notes
        body.update(prompt=prompt.text, logprobs=k)
        return "completions", body, ()

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        calls = [self._first_token_call(r.prompt) for r in requests]
        answers = self._transport.post_many([(path, body) for path, body, _ in calls])
        readings: list[tuple[list[tuple[str, float]], OptionReading]] = []
        echo_calls: list[tuple[int, int]] = []  # (request index, option index)
        for i, (request, (url, answer), (path, _, _)) in enumerate(zip(requests, answers, calls)):
            where = f"POST {redact_url(url)}"
            if path == "chat/completions":
                entries = top_entries_chat(answer, where)
            else:
                entries = top_entries_completion(answer, where)
            reading = read_options(entries, request.options)
            if reading.prefixed and not (path == "completions" and self.settings.echo):
                option = request.options[reading.prefixed[0]]
                how = "the chat endpoint has no echo" if path != "completions" else "echo is off"
                raise BackendError(
                    f"{where}: option {option!r} is not one listed token but a listed token "
                    f"starts it, so it may span several tokens; {how}, so it cannot be scored "
                    "(use single-token options or a text prompt with echo)"
                )
            readings.append((entries, reading))
            echo_calls.extend((i, j) for j in reading.prefixed)
        echoed = self._echo_scores(requests, readings, echo_calls)
        return [
            self._choice_result(request, entries, reading, echoed, i, notes)
            for i, (request, (entries, reading), (_, _, notes)) in enumerate(
                zip(requests, readings, calls)
            )
        ]

    def _echo_scores(
        self,
        requests: list[ChoiceRequest],
        readings: list[tuple[list[tuple[str, float]], OptionReading]],
        targets: list[tuple[int, int]],
    ) -> dict[tuple[int, int], float]:
        """Exact log-probs of possibly multi-token options, from echoed prompt log-probs."""
        calls = []
        for i, j in targets:
            prompt = requests[i].prompt
            assert isinstance(prompt, TextPrompt)
            body = {
                "model": self._name,
                "prompt": prompt.text + requests[i].options[j],
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": 1,
                "echo": True,
            }
            calls.append(("completions", body))
        answers = self._transport.post_many(calls)
        scores: dict[tuple[int, int], float] = {}
        for (i, j), (url, answer) in zip(targets, answers):
            where = f"POST {redact_url(url)}"
            prompt = requests[i].prompt
            assert isinstance(prompt, TextPrompt)
            option = requests[i].options[j]
            total, first, first_lp = echoed_option_logprob(answer, prompt.text, option, where)
            entries = readings[i][0]
            listed = dict(entries)
            floor = min(lp for _, lp in entries)
            if first in listed:
                wrong = abs(first_lp - listed[first]) > ECHO_TOLERANCE
            else:
                wrong = first_lp > floor + ECHO_TOLERANCE
            if wrong:
                raise BackendError(
                    f"{where}: the echoed log-prob of {first!r} ({first_lp:.3f}) disagrees with "
                    f"the top_logprobs answer ({listed.get(first, floor):.3f}), so this server "
                    f"cannot score multi-token option {option!r} (llama-cpp-python shifts echoed "
                    "log-probs for models without a BOS token); use single-token options"
                )
            scores[(i, j)] = total
        return scores

    def _choice_result(
        self,
        request: ChoiceRequest,
        entries: list[tuple[str, float]],
        reading: OptionReading,
        echoed: dict[tuple[int, int], float],
        index: int,
        notes: tuple[str, ...],
    ) -> ChoiceResult:
        logprobs = [0.0] * len(request.options)
        for j, value in reading.listed.items():
            logprobs[j] = value
        for j in reading.prefixed:
            logprobs[j] = echoed[(index, j)]
        if reading.absent:
            bound = fallback_logprob(entries, len(reading.absent))
            for j in reading.absent:
                logprobs[j] = bound
            names = ", ".join(repr(request.options[j]) for j in reading.absent)
            notes = (
                *notes,
                f"{len(reading.absent)} of {len(request.options)} options not in the server's "
                f"top-{len(entries)} list ({names}): each given min(leftover mass / "
                f"{len(reading.absent)}, smallest listed probability)",
            )
        if reading.prefixed:
            notes = (*notes, f"{len(reading.prefixed)} options scored from echoed prompt log-probs")
        mass = math.fsum(math.exp(lp) for lp in logprobs)
        return ChoiceResult(tuple(logprobs), mass, n_fallback=len(reading.absent), notes=notes)

    def endpoint_status(self) -> list[dict[str, object]]:
        """Per server of the list: URL, limit, requests sent and failed, whether down."""
        return self._transport.status()

    def close(self) -> None:
        self._transport.close()
