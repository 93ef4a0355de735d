"""Plotly figures as HTML divs without the library (the document embeds plotly.js once).

Plotly serialises figure data as JSON with ``</`` escaped, so text inside a figure (hover
text with persona descriptions) cannot close the script element. Plotly also reads a few
HTML tags (``<b>``, ``<a href>``, ``<br>`` ...) in every label it draws, so model ids,
strategy names and persona text must not reach it raw: :func:`figure_div` HTML-escapes every
label of a figure (trace names, legend groups, category values, scatter text, titles, axis
titles, annotations) on the way out, and hover text is escaped by :func:`safe_hover`, the
one place that adds markup (``<br>`` line breaks) of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
from markupsafe import Markup, escape

PALETTE = ("#3b6fb6", "#d9822b", "#3c9a5f", "#b8474f", "#7a5fb0", "#8a6d3b")


def plotly_js() -> str:
    """The plotly.js bundle shipped inside the plotly Python package (no network)."""
    return resources.files("plotly").joinpath("package_data/plotly.min.js").read_text("utf-8")


def safe_hover(texts: Sequence[str], width: int = 60, limit: int = 600) -> list[str]:
    """Escape and wrap untrusted text for Plotly hover labels."""
    out = []
    for text in texts:
        text = text if len(text) <= limit else text[: limit - 1] + "…"
        words, lines, line = text.split(), [], ""
        for word in words:
            if len(line) + len(word) + 1 > width and line:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        out.append("<br>".join(str(escape(x)) for x in lines))
    return out


def error_bars(estimates: Sequence[Any]) -> dict[str, Any]:
    """Plotly ``error_y`` for estimates, stored (``{"value", "low", "high", ...}``) or
    typed (objects with ``value``, ``low``, ``high``): the distances from each value to
    its interval's ends, 0 where an end is missing."""

    def part(e: Any, name: str) -> Any:
        return e.get(name) if isinstance(e, Mapping) else getattr(e, name)

    def gap(e: Any, a: str, b: str) -> float:
        if part(e, "low") is None or part(e, "high") is None:
            return 0.0
        return float(part(e, a) - part(e, b))

    return {
        "type": "data",
        "array": [gap(e, "high", "value") for e in estimates],
        "arrayminus": [gap(e, "value", "low") for e in estimates],
        "visible": True,
    }


def safe_labels(labels: Iterable[str], limit: int = 40) -> list[str]:
    """Shorten untrusted axis and title labels (:func:`figure_div` escapes them)."""
    return [label if len(label) <= limit else label[: limit - 1] + "…" for label in labels]


def _escaped(value: Any) -> Any:
    """``value`` with every string in it HTML-escaped (numbers and arrays of numbers kept)."""
    if isinstance(value, str):
        return str(escape(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        value = value.tolist()
    if isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
        return [_escaped(v) for v in value]
    return value


_TRACE_LABELS = ("name", "legendgroup", "text", "x", "y", "labels", "ids")


def escape_labels(figure) -> None:  # type: ignore[no-untyped-def]
    """HTML-escape, in place, every label Plotly would read markup in (hover text excepted:
    it comes escaped from :func:`safe_hover`)."""
    for trace in figure.data:
        for key in _TRACE_LABELS:
            value = getattr(trace, key, None)
            if value is not None:
                trace[key] = _escaped(value)
        if getattr(trace, "legendgrouptitle", None) is not None and trace.legendgrouptitle.text:
            trace.legendgrouptitle.text = _escaped(trace.legendgrouptitle.text)
    layout = figure.layout
    if layout.title.text:
        layout.title.text = _escaped(layout.title.text)
    if layout.legend.title.text:
        layout.legend.title.text = _escaped(layout.legend.title.text)
    for annotation in layout.annotations:
        annotation.text = _escaped(annotation.text)

    def axis(ax) -> None:  # type: ignore[no-untyped-def]
        if ax.title.text:
            ax.title.text = _escaped(ax.title.text)
        if ax.ticktext is not None:
            ax.ticktext = _escaped(ax.ticktext)
        if ax.categoryarray is not None:
            ax.categoryarray = _escaped(ax.categoryarray)

    figure.for_each_xaxis(axis)
    figure.for_each_yaxis(axis)


def figure_div(figure, height: int = 380) -> Markup:  # type: ignore[no-untyped-def]
    """Render a plotly Figure to a ``<div>`` (plotly.js is embedded once per document)."""
    import plotly.io as pio

    escape_labels(figure)
    figure.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        template="plotly_white",
        font={"size": 12},
    )
    # an id from the figure's content (plotly's default is a random UUID), so that a
    # report rebuilt from the same store is the same file
    digest = hashlib.sha256(figure.to_json().encode("utf-8")).hexdigest()[:16]
    html = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=f"figure-{digest}",
        config={"displaylogo": False, "responsive": True},
    )
    return Markup('<div class="figure">{}</div>').format(Markup(html))
