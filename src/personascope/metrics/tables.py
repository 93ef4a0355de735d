"""Terminal tables of a diversity report (what ``personascope diversity`` prints)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table


def _number(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _interval(entry: dict[str, Any]) -> str:
    low, high = entry.get("low"), entry.get("high")
    return "-" if low is None or high is None else f"[{_number(low, 3)}, {_number(high, 3)}]"


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, entry) for every estimate, nested per-dimension entries flattened."""
    rows = []
    for name, entry in metrics.items():
        if isinstance(entry, dict) and "value" in entry and "n" in entry:
            rows.append((name, entry))
        elif isinstance(entry, dict) and all(
            isinstance(v, dict) and "value" in v for v in entry.values()
        ):
            rows.extend((f"{name}[{key}]", v) for key, v in entry.items())
    return rows


ARROWS = {"higher = more diverse": " ↑", "higher = less diverse": " ↓"}
CAPTION = "↑ higher = more diverse; ↓ higher = less diverse"


def _label(name: str, entry: dict[str, Any]) -> str:
    return name + ARROWS.get(entry.get("direction", ""), "")


def panel_table(panel: dict[str, Any], title: str) -> Table:
    table = Table("metric", "value", "95% CI", "n", "method", title=escape(title), caption=CAPTION)
    table.columns[0].no_wrap = True
    for name, entry in metric_rows(panel["metrics"]):
        table.add_row(
            _label(name, entry),
            _number(entry["value"]),
            _interval(entry),
            str(entry["n"]),
            escape(entry["method"]),
        )
    return table


def comparison_table(comparison: dict[str, Any]) -> Table:
    match = comparison["matching"]
    title = (
        f"generated vs reference at n = {match['n']} (from {match['from_n']}), texts cut "
        f"after {match['truncated_to_words']} words, seed {match['seed']}"
    )
    table = Table(
        "metric", "generated", "95% CI", "reference", "95% CI", title=title, caption=CAPTION
    )
    table.columns[0].no_wrap = True
    reference = dict(metric_rows(comparison["reference"]["metrics"]))
    for name, entry in metric_rows(comparison["generated"]["metrics"]):
        other = reference.get(name, {})
        table.add_row(
            _label(name, entry),
            _number(entry["value"]),
            _interval(entry),
            _number(other.get("value")),
            _interval(other),
        )
    return table


def coverage_table(section: dict[str, Any], title: str) -> Table:
    table = Table("metric", "value", "95% CI", "n", "details", title=escape(title))
    table.columns[0].no_wrap = True
    for name, entry in metric_rows(section["metrics"]):
        params = entry.get("params", {})
        details = ", ".join(
            f"{key}={_number(params[key], 3) if isinstance(params[key], float) else params[key]}"
            for key in (
                "reference_n",
                "p_value",
                "radius",
                "cells",
                "reference_uniformity",
                "set_size",
            )
            if key in params
        )
        table.add_row(name, _number(entry["value"]), _interval(entry), str(entry["n"]), details)
    for name, entry in section["metrics"].items():
        if isinstance(entry, dict) and entry.get("value") is None and "note" in entry:
            table.add_row(name, "-", "-", "-", escape(entry["note"]))
    return table


def reach_table(traits: dict[str, Any]) -> Table:
    """Trait reach and the coverage n people from the reference population reach."""
    reach, base = traits["trait_reach"], traits["coverage_baseline"]
    table = Table("", "value", "95% CI / range", "n", title="trait reach (1 = as varied as people)")
    table.add_row("trait reach", _number(reach["value"]), _interval(reach), str(reach["n"]))
    table.add_row("coverage", _number(base["coverage"]), "-", str(base["n"]))
    low, high = base["range_95"]
    table.add_row(
        f"coverage of {base['n']} people",
        _number(base["mean"]),
        f"[{_number(low, 3)}, {_number(high, 3)}] over {base['draws']} draws",
        str(base["n"]),
    )
    table.add_row("coverage / people's", _number(base["ratio"]), "-", str(base["n"]))
    return table


def report_tables(report: dict[str, Any]) -> list[Table]:
    """The tables of a :func:`~personascope.metrics.panel.diversity_report`."""
    tables = []
    if "panel" in report:
        panel = report["panel"]
        tables.append(panel_table(panel, f"{report['file']} ({panel['n']} texts)"))
    if "comparison" in report:
        comparison = report["comparison"]
        tables.append(comparison_table(comparison))
        if "coverage" in comparison:
            tables.append(coverage_table(comparison["coverage"], comparison["coverage"]["space"]))
    if "traits" in report:
        tables.append(coverage_table(report["traits"], report["traits"]["space"]))
        if "trait_reach" in report["traits"]:
            tables.append(reach_table(report["traits"]))
    for metric, section in report.get("by_input", {}).items():
        tables.append(coverage_table({"metrics": section}, f"per-input vs across-input: {metric}"))
    return tables
