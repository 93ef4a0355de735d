"""Planted markup for escaping tests: put it into stored findings, check the HTML."""

from __future__ import annotations

import json
import re
from typing import Any

PAYLOAD = "</script><img src=x onerror=alert(1)><b>"
SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def poisoned(findings: Any, model_ids: list[str]) -> Any:
    """The stored findings with PAYLOAD in every model id (keys and values alike, so the
    renderer's lookups still match) and after every text of three words or more."""
    text = json.dumps(findings)
    for model_id in model_ids:
        text = text.replace(json.dumps(model_id)[1:-1], json.dumps(model_id + PAYLOAD)[1:-1])

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and len(value.split()) >= 3 and PAYLOAD not in value:
            return value + PAYLOAD
        return value

    return walk(json.loads(text))


def assert_only_escaped(html: str) -> None:
    """No tag of the payload survives, it shows escaped, and no script body holds it."""
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # rendered, escaped
    for body in SCRIPT.findall(html):
        assert "<img" not in body and "<b>" not in body and "</script" not in body.lower()


def assert_figures_escaped(html: str) -> None:
    """Plotly's JSON writes ``<`` as ``\\u003c``: a raw tag there reaches Plotly, which
    renders some tags in labels; only the HTML-escaped form may be there."""
    bodies = "".join(SCRIPT.findall(html))
    assert "onerror=alert(1)" in bodies  # the figure carries the planted label
    assert "\\u003cimg" not in bodies and "\\u003cb\\u003e" not in bodies
