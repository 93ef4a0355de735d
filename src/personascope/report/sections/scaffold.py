"""Report section for the scaffold study: diversity bought by outside structure, and at
what cost in fidelity.

Built from the findings ``table`` and ``pareto`` of :mod:`personascope.studies.scaffold`.
Strategy names come from the code, but every cell still goes through the escaping blocks.
"""

from __future__ import annotations

from typing import Any

from personascope.findings.scaffold import Pareto, ScaffoldFindings, ScaffoldTable
from personascope.report.blocks import Markup, Section, fmt, fmt_estimate, note, paragraph, table
from personascope.report.figures import PALETTE, figure_div


def _pareto_figure(pareto: Pareto) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    for on_front, colour, label in ((True, PALETTE[0], "Pareto front"), (False, "#9aa5b1", "")):
        points = [
            p
            for p in pareto.points
            if p.on_front == on_front and p.diversity is not None and p.fidelity is not None
        ]
        if not points:
            continue
        figure.add_scatter(
            x=[p.diversity for p in points],
            y=[p.fidelity for p in points],
            mode="markers+text",
            text=[p.strategy for p in points],
            textposition="top center",
            name=label or "dominated",
            marker={"color": colour, "size": 11},
            error_x=_error_bars([p.diversity for p in points], [p.diversity_ci for p in points]),
            error_y=_error_bars([p.fidelity for p in points], [p.fidelity_ci for p in points]),
        )
    figure.update_layout(
        title="Diversity vs fidelity at an equal token budget",
        xaxis_title=pareto.x,
        yaxis_title="fidelity (chance-corrected)",
    )
    return figure_div(figure, height=440)


def _error_bars(values: list[float], intervals: list[Any]) -> dict[str, Any]:
    """Plotly asymmetric error bars from ``[low, high]`` intervals (0 where missing)."""
    plus = [(ci[1] - v) if ci else 0.0 for v, ci in zip(values, intervals, strict=True)]
    minus = [(v - ci[0]) if ci else 0.0 for v, ci in zip(values, intervals, strict=True)]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}


def _rows(table: ScaffoldTable) -> list[list[Any]]:
    rows = []
    for name, row in table.rows.items():
        rows.append(
            [
                name,
                row.n_personas,
                row.n_unique,
                row.dedup.dropped_exact + row.dedup.dropped_near,
                sum(row.failures.values()),
                row.generated_tokens,
                fmt_estimate(row.diversity.headline if row.diversity else None),
                fmt_estimate(row.fidelity.overall.estimate),
                row.fidelity_basis,
                fmt(row.distinct_name_share, 2),
                fmt(row.wall_s.total, 1),
            ]
        )
    return rows


def render(findings: ScaffoldFindings) -> Section:
    section = Section(
        "scaffold",
        "Scaffolding: diversity from outside structure",
        intro=(
            "Every generation strategy gets the same budget of generated tokens from one model; "
            "its personas are deduplicated, measured for diversity at a matched n and length, "
            "and scored back for fidelity (does the text express the attributes it was given "
            "or stated?)."
        ),
    )
    data, pareto = findings.table, findings.pareto
    if not data.rows:
        section.blocks.append(note("The scaffold study stored no results.", "warning"))
        return section
    matching = data.matching
    section.blocks += [
        paragraph(
            f"Model {data.model_id} ({data.kind}), judge {data.judge}, token budget "
            f"{fmt(data.token_budget)} ({data.budget_counts}), seed {data.seed}. "
            f"Diversity metric: {data.diversity_metric}, at n = {fmt(matching.n)} "
            f"per strategy and texts cut to {fmt(matching.truncated_to_words)} words."
        ),
        _pareto_figure(pareto),
        table(
            [
                "strategy",
                "generated",
                "unique",
                "dropped (dup)",
                "parse failures",
                "tokens",
                f"diversity [{data.diversity_metric}, 95% CI]",
                "fidelity [95% CI]",
                "fidelity of",
                "distinct names",
                "seconds",
            ],
            _rows(data),
            caption="Strategies at an equal token budget",
        ),
    ]
    if matching.excluded:
        section.blocks.append(
            note(
                "Too few unique personas to measure diversity: " + ", ".join(matching.excluded),
                "warning",
            )
        )
    front = [p.strategy for p in pareto.points if p.on_front]
    if front:
        section.headline[data.model_id] = {"best scaffold": ", ".join(front)}
    return section
