"""What the command line prints: rich tables of inventory scores, lab checkpoints and the
model catalogue. Each function takes the library's result and returns renderables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from personascope.findings.lab import LabFindings


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


def lab_table(findings: LabFindings) -> Table:
    """One row per checkpoint: first-name entropy, age SD and distinct-2."""
    table = Table("model id", "step", "first-name entropy", "age SD", "distinct-2")
    for checkpoint in findings.checkpoints:
        attributes, panel = checkpoint.metrics.attributes, checkpoint.metrics.text.metrics
        entropy, sd = attributes.first_names.entropy_bits, attributes.ages.sd
        values = [
            None if entropy is None else entropy.value,
            None if sd is None else sd.value,
            (panel.get("distinct_2") or {}).get("value"),
        ]
        table.add_row(
            escape(checkpoint.model_id),
            str(checkpoint.step),
            *("-" if v is None else f"{v:.3f}" for v in values),
        )
    return table
