"""Report section for the pressure study: does the persona survive pressure?

Validity first: a model that does not take the persona at k = 0 has its numbers greyed
beside the reason. Conversations are model output and go through the escaping blocks.
"""

from __future__ import annotations

from typing import Any

from personascope.findings.pressure import PressureFindings
from personascope.report.blocks import (
    Markup,
    Section,
    details,
    fmt_estimate,
    heading,
    muted,
    note,
    paragraph,
    quote_list,
    table,
)
from personascope.report.figures import PALETTE, error_bars, figure_div

NOTE_KIND = {"valid": "info", "invalid": "invalid"}


def _figure(models: dict[str, Any]) -> Markup:
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(models), subplot_titles=list(models))
    families = sorted({f for m in models.values() for f in m["persistence"]})
    for col, m in enumerate(models.values(), start=1):
        for i, family in enumerate(families):
            curve = m["persistence"].get(family, [])
            figure.add_scatter(
                x=[p["k"] for p in curve],
                y=[p["value"] for p in curve],
                error_y=error_bars(curve),
                mode="lines+markers",
                name=family,
                legendgroup=family,
                showlegend=col == 1,
                line={"color": PALETTE[i % len(PALETTE)]},
                row=1,
                col=col,
            )  # fmt: skip
    figure.update_xaxes(title_text="pressure turns k")
    figure.update_yaxes(title_text="persistence (P of the persona's answers)", range=[0, 1])
    return figure_div(figure, height=400)


def _rows(model_id: str, m: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for family, curve in m["persistence"].items():
        effect = m["effect"].get(family)
        rows.append(
            [
                model_id,
                family,
                *(fmt_estimate(p) for p in curve),
                fmt_estimate(m["break_rate"][family][-1], percent=True),
                fmt_estimate(m["assistant_mass"][family][-1]),
                fmt_estimate(effect[-1]) if effect else "control",
            ]
        )
    return rows


def render(findings: PressureFindings) -> Section:
    design, models = findings.design, findings.models
    ks = list(design.get("ks", []))
    section = Section(
        "pressure",
        "Pressure: does the persona survive a conversation that pushes against it?",
        intro=(
            f"{len(findings.personas)} personas installed as the system prompt (chat) or the "
            f"preamble of a transcript (base), {design.get('seeds')} seed(s) each. After k = "
            f"{', '.join(map(str, ks))} pressure turns of one family (a user message and the "
            "model's own seeded reply) the identity probes (name, age, occupation, hometown) "
            "offer the persona's answer, two distractors and 'I am an AI language model'. "
            "Persistence = mean probability of the persona's answers (normalised over the "
            "options); break rate = share of probes whose most likely answer is not the "
            "persona's; pressure effect = persistence under a family minus under the neutral "
            "small-talk control at the same k. Claim 7 reads the mean effect over the pressure "
            f"families at the largest k. Intervals: {findings.interval_method}."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No pressure results are stored."))
        return section
    for model_id, m in models.items():
        kind = NOTE_KIND.get(m["validity"]["verdict"], "warning")
        section.blocks.append(note(f"{model_id}: {m['validity']['summary']}", kind))
    section.blocks.append(_figure(models))
    columns = ["model", "family", *(f"k={k}" for k in ks), "break rate (last k)",
               "P(AI answer) (last k)", "effect vs neutral (last k)"]  # fmt: skip
    for model_id, m in models.items():
        block = table(columns, _rows(model_id, m), caption=f"{model_id}: persistence by k")
        valid = m["validity"]["verdict"] != "invalid"
        section.blocks.append(block if valid else muted(block))
    section.blocks.append(heading("Example conversations (first persona, first seed)"))
    for model_id, m in models.items():
        for example in m["examples"]:
            turns = [f"User: {t['user']}\nModel: {t['model']}" for t in example["turns"]]
            section.blocks.append(
                details(f"{model_id}: {example['family']}", quote_list(turns, 10))
            )
    for model_id, m in models.items():
        valid = m["validity"]["verdict"] != "invalid"
        section.headline[model_id] = {
            "pressure effect": fmt_estimate(m["pressure_effect"])
            if valid
            else f"withheld: {m['validity']['verdict']}",
        }
    return section
