"""Reading a server's answers: fields, log-probs, token ids, the top-K list of the first
position and how each option is read from it (or from echoed prompt log-probs)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from personascope.errors import BackendError


def answer_field(data: Any, *path: str | int, where: str) -> Any:
    """``data[path[0]][path[1]]...`` or a one-line error naming the missing field."""
    current = data
    for i, key in enumerate(path):
        try:
            current = current[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[: i + 1])
            raise BackendError(f"{where}: the answer has no {shown.lstrip('.')}") from None
    return current


def checked_logprob(value: Any, where: str) -> float:
    """A log-probability from an answer, or a one-line error (NaN and > 0 are not ones)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BackendError(f"{where}: the answer has a log-prob that is not a number") from None
    if math.isnan(number) or number > 1e-4:
        raise BackendError(f"{where}: the answer has an impossible log-prob {number}")
    return min(number, 0.0)


def parse_token_ids(tokens: Sequence[str]) -> tuple[int, ...] | None:
    """Token ids from vLLM's ``return_tokens_as_token_ids`` form ``"token_id:123"``, else None."""
    ids: list[int] = []
    for token in tokens:
        head, sep, tail = token.partition("token_id:")
        if head or not sep or not tail.isdigit():
            return None
        ids.append(int(tail))
    return tuple(ids)


def top_entries_completion(data: dict[str, Any], where: str) -> list[tuple[str, float]]:
    """``(token text, logprob)`` at the first generated position of a completions answer."""
    top = answer_field(data, "choices", 0, "logprobs", "top_logprobs", 0, where=where)
    if not isinstance(top, dict) or not top:
        raise BackendError(f"{where}: choices[0].logprobs.top_logprobs[0] is empty")
    return [(str(text), checked_logprob(lp, where)) for text, lp in top.items()]


def top_entries_chat(data: dict[str, Any], where: str) -> list[tuple[str, float]]:
    """``(token text, logprob)`` at the first generated position of a chat answer."""
    top = answer_field(data, "choices", 0, "logprobs", "content", 0, "top_logprobs", where=where)
    if not isinstance(top, list) or not top:
        raise BackendError(f"{where}: choices[0].logprobs.content[0].top_logprobs is empty")
    return [
        (
            str(answer_field(e, "token", where=where)),
            checked_logprob(answer_field(e, "logprob", where=where), where),
        )
        for e in top
    ]


def logsumexp(values: Sequence[float]) -> float:
    """log sum_i exp(v_i), computed stably."""
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass(frozen=True)
class OptionReading:
    """What a top-K list says about a set of options.

    ``listed[i]`` is the option's log-prob when its text is listed; ``prefixed`` are the
    options not listed that a listed token starts (possibly multi-token); ``absent`` are
    the others, bounded by :func:`fallback_logprob`.
    """

    listed: dict[int, float]
    prefixed: tuple[int, ...]
    absent: tuple[int, ...]


def read_options(entries: Sequence[tuple[str, float]], options: Sequence[str]) -> OptionReading:
    """Match options to top-K entries by exact token text (entries with equal text summed)."""
    by_text: dict[str, list[float]] = {}
    for text, logprob in entries:
        by_text.setdefault(text, []).append(logprob)
    listed: dict[int, float] = {}
    prefixed: list[int] = []
    absent: list[int] = []
    for i, option in enumerate(options):
        if option in by_text:
            listed[i] = logsumexp(by_text[option])
        elif any(text and option.startswith(text) for text in by_text):
            prefixed.append(i)
        else:
            absent.append(i)
    return OptionReading(listed, tuple(prefixed), tuple(absent))


def fallback_logprob(entries: Sequence[tuple[str, float]], n_missing: int) -> float:
    """Bound for each of ``n_missing`` options absent from a top-K list.

    An option outside the top K has P <= p_min (the smallest listed probability), and the
    absent options together have at most the leftover mass L = 1 - sum_{j in top K} p_j.
    Each gets ``log min(max(L, 0) / n_missing, p_min)``; -inf when nothing is left over.
    """
    probs = [math.exp(lp) for _, lp in entries]
    leftover = max(1.0 - math.fsum(probs), 0.0)
    share = min(leftover / n_missing, min(probs))
    return math.log(share) if share > 0 else -math.inf


def echoed_option_logprob(
    data: dict[str, Any], prompt: str, option: str, where: str
) -> tuple[float, str, float]:
    """Sum of the option's token log-probs in an echoed ``prompt + option`` completion.

    Returns (sum, text of the option's first token, its log-prob). The option's tokens are
    those whose text offset lies in [len(prompt), len(prompt) + len(option)); they must
    start exactly at the prompt's end and spell the option, else the prompt and option
    were tokenised across their boundary and the option cannot be read.
    """
    logprobs = answer_field(data, "choices", 0, "logprobs", where=where)
    tokens = answer_field(logprobs, "tokens", where=where)
    values = answer_field(logprobs, "token_logprobs", where=where)
    offsets = answer_field(logprobs, "text_offset", where=where)
    start, end = len(prompt), len(prompt) + len(option)
    picked = [i for i, off in enumerate(offsets) if start <= off < end]
    if not picked or offsets[picked[0]] != start or "".join(tokens[i] for i in picked) != option:
        raise BackendError(
            f"{where}: cannot find option {option!r} as whole tokens after the prompt in the "
            "echoed answer (the prompt's end and the option tokenise together)"
        )
    if any(values[i] is None for i in picked):
        raise BackendError(f"{where}: the echoed answer has no log-prob for option {option!r}")
    picked_lps = [checked_logprob(values[i], where) for i in picked]
    return math.fsum(picked_lps), tokens[picked[0]], picked_lps[0]
