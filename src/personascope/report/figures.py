"""Plotly figures as HTML divs without the library (the document embeds plotly.js once).

Plotly serialises figure data as JSON with ``</`` escaped, so text inside a figure (hover
text with persona descriptions) cannot close the script element; hover strings are also
HTML-escaped because Plotly interprets a few tags in labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from importlib import resources

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


def safe_labels(labels: Iterable[str], limit: int = 40) -> list[str]:
    """Escape untrusted axis and title labels (Plotly reads a few HTML tags in them)."""
    out = []
    for label in labels:
        label = label if len(label) <= limit else label[: limit - 1] + "…"
        out.append(str(escape(label)))
    return out


def figure_div(figure, height: int = 380) -> Markup:  # type: ignore[no-untyped-def]
    """Render a plotly Figure to a ``<div>`` (plotly.js is embedded once per document)."""
    import plotly.io as pio

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
