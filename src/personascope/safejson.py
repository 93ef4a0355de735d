"""Parsing JSON from user files without crashing on hostile nesting.

``json.loads`` recurses once per nesting level, so ``'[' * 200000`` ends in a
``RecursionError``, and a document a few hundred levels deep parses but can still exhaust
the stack later (validation, ``json.dumps``). Every reader of a user's JSON or JSONL goes
through :func:`parse_json`, which turns both into an :class:`InputFileError` and rejects
documents nested deeper than :data:`MAX_DEPTH` (no persona, inventory or answer file needs
more than a handful of levels).
"""

from __future__ import annotations

import json
from typing import Any

from personascope.errors import InputFileError

MAX_DEPTH = 64


def nesting_depth(value: Any) -> int:
    """Levels of lists and objects in ``value`` (a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_json(text: str | bytes, where: str, decoder: json.JSONDecoder | None = None) -> Any:
    """The value of ``text``; any problem is an ``InputFileError`` prefixed by ``where``
    (``file`` or ``file:line``). ``decoder`` replaces the standard one (e.g. one that
    records line numbers)."""
    try:
        if decoder is None:
            value = json.loads(text)
        else:
            value = decoder.decode(text if isinstance(text, str) else text.decode("utf-8"))
    except RecursionError:
        raise InputFileError(
            f"{where}: JSON nested too deeply (more than {MAX_DEPTH} levels)"
        ) from None
    except json.JSONDecodeError as exc:
        line = f":{exc.lineno}" if decoder is not None else ""
        raise InputFileError(f"{where}{line}: not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    if nesting_depth(value) > MAX_DEPTH:
        raise InputFileError(f"{where}: JSON nested too deeply (more than {MAX_DEPTH} levels)")
    return value
