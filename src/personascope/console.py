"""What the command line prints: rich tables of inventory scores, lab checkpoints and the
model catalogue. Each function takes the library's result and returns renderables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table


def _fixed(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _interval(entry: Mapping[str, Any]) -> str:
    return (
        f"{_fixed(entry.get('value'), '.3f')} "
        f"[{_fixed(entry.get('low'), '.3f')}, {_fixed(entry.get('high'), '.3f')}]"
    )


def score_table(summary: Mapping[str, Any]) -> Table:
    """One row per domain: n, mean, SD, alpha and omega with intervals, mean T-score."""
    table = Table("domain", "n", "mean", "sd", "alpha [95% CI]", "omega [95% CI]", "mean T")
    for code, d in summary["domains"].items():
        table.add_row(
            escape(code),
            str(d["n"]),
            _fixed(d["mean"]),
            _fixed(d["sd"]),
            _interval(d["alpha"]),
            _interval(d["omega"]),
            _fixed(d.get("mean_t"), ".1f"),
        )
    return table


def lab_table(findings: Mapping[str, Any]) -> Table:
    """One row per checkpoint: first-name entropy, age SD and distinct-2."""
    table = Table("model id", "step", "first-name entropy", "age SD", "distinct-2")
    for checkpoint in findings["checkpoints"]:
        metrics = checkpoint["metrics"]
        cells = [
            metrics["attributes"]["first_names"].get("entropy_bits"),
            metrics["attributes"]["ages"].get("sd"),
            metrics["text"]["metrics"].get("distinct_2"),
        ]
        table.add_row(
            escape(checkpoint["model_id"]),
            str(checkpoint["step"]),
            *("-" if c is None or c.get("value") is None else f"{c['value']:.3f}" for c in cells),
        )
    return table
