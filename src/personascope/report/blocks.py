"""Safe building blocks for report sections: every string is escaped on the way in.

Model output and persona text are untrusted. Blocks are ``markupsafe.Markup`` produced
only here (tables, paragraphs, notes) or by :mod:`personascope.report.figures` (Plotly
divs whose data is JSON with ``</`` escaped); section code never concatenates raw HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from personascope.metrics.estimate import Estimate


@dataclass
class Section:
    """One study's part of the report.

    ``headline`` maps a model id to the cells it contributes to the verdict table
    (column name -> text); ``blocks`` are rendered in order under the title.
    """

    study: str
    title: str
    intro: str = ""
    blocks: list[Markup] = field(default_factory=list)
    headline: dict[str, dict[str, str]] = field(default_factory=dict)


# C0 controls but tab, newline and carriage return; DEL and C1 controls; the bidirectional
# embeddings, overrides, isolates and marks that reorder how the text around them reads
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _escape_code(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(data: Any) -> Any:
    """``data`` (strings, lists, dicts) with control and bidi-override characters shown as
    escapes (``\\x00``, ``\\u202e``): model text cannot hide or reorder what a reader sees."""
    if isinstance(data, str):
        return _INVISIBLE.sub(_escape_code, data)
    if isinstance(data, dict):
        return {visible(k): visible(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [visible(v) for v in data]
    return data


def fmt(value: Any, digits: int = 3) -> str:
    """A number for humans: fixed digits, ``-`` for missing, ``n/a`` for NaN."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def fmt_ci(value: Any, low: Any, high: Any, digits: int = 3) -> str:
    """``value [low, high]``."""
    if low is None or high is None:
        return fmt(value, digits)
    return f"{fmt(value, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def fmt_estimate(
    entry: Estimate | Mapping[str, Any] | None, digits: int = 3, percent: bool = False
) -> str:
    """``value [low, high]`` of an :class:`~personascope.metrics.estimate.Estimate` or a
    stored one (``{"value", "low", "high", "n", "method"}``,
    :func:`personascope.metrics.estimate.estimate_dict`); ``-`` when it is missing or has
    no value. ``percent`` shows proportions as whole percentages."""
    if isinstance(entry, Estimate):
        entry = entry.to_dict()
    if not entry or entry.get("value") is None:
        return "-"
    if not percent:
        return fmt_ci(entry["value"], entry.get("low"), entry.get("high"), digits)

    def pct(x: Any) -> str:
        return f"{100 * x:.0f}%"

    low, high = entry.get("low"), entry.get("high")
    bounds = "" if low is None or high is None else f" [{pct(low)}, {pct(high)}]"
    return pct(entry["value"]) + bounds


def paragraph(text: str) -> Markup:
    return Markup("<p>{}</p>").format(text)


def note(text: str, kind: str = "info") -> Markup:
    """A highlighted remark; ``kind`` is one of info, warning, invalid."""
    css = kind if kind in ("info", "warning", "invalid") else "info"
    return Markup('<div class="note {}">{}</div>').format(css, text)


def muted(content: Markup) -> Markup:
    """``content`` greyed out: numbers shown for the record but not as a measurement
    (e.g. withheld by a validity verdict, with the reason in a note beside them)."""
    return Markup('<div class="muted">{}</div>').format(content)


def heading(text: str) -> Markup:
    return Markup("<h3>{}</h3>").format(text)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> Markup:
    """An HTML table; every cell is formatted with :func:`fmt` and escaped."""
    head = Markup("").join(Markup("<th>{}</th>").format(c) for c in columns)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup("<td>{}</td>").format(fmt(cell)) for cell in row)
        )
        for row in rows
    )
    cap = Markup("<caption>{}</caption>").format(caption) if caption else Markup("")
    return Markup("<table>{}<thead><tr>{}</tr></thead><tbody>{}</tbody></table>").format(
        cap, head, body
    )


def details(summary: str, content: Markup) -> Markup:
    """A collapsible block (for long tables and raw examples)."""
    return Markup("<details><summary>{}</summary>{}</details>").format(summary, content)


def quote_list(texts: Sequence[str], limit: int = 5) -> Markup:
    """Example texts (escaped), e.g. personas written by a model."""
    items = Markup("").join(Markup("<li><pre>{}</pre></li>").format(t) for t in texts[:limit])
    return Markup('<ul class="quotes">{}</ul>').format(items)


__all__ = ["Markup", "Section", "escape"]
