"""Report section for the pressure study: does the persona survive pressure?

Validity first: a model that does not take the persona at k = 0 has its numbers greyed
beside the reason; an invalid trait probe has its drift withheld (the reason, no numbers).
Conversations are model output and go through the escaping blocks.
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


def _figure(
    panels: dict[str, dict[str, list]], y_title: str, y_range: list[float] | None = None
) -> Markup:
    """One panel per model of curves against k, one line per family (labels escaped by
    :func:`figure_div`)."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels))
    families = sorted({f for curves in panels.values() for f in curves})
    for col, curves in enumerate(panels.values(), start=1):
        for i, family in enumerate(families):
            curve = curves.get(family, [])
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
    figure.update_yaxes(title_text=y_title, range=y_range)
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
            f"{len(findings.personas)} personas ({findings.persona_source or 'default'}) "
            "installed as the system prompt (chat) or the "
            f"preamble of a transcript (base), {design.get('seeds')} seed(s) each. After k = "
            f"{', '.join(map(str, ks))} pressure turns of one family (a user message and the "
            "model's own seeded reply) the identity probes (name, age, occupation, hometown) "
            "offer the persona's answer, two distractors and 'I am an AI language model'. "
            "Persistence = mean probability of the persona's answers (normalised over the "
            "options); break rate = share of probes whose most likely answer is not the "
            "persona's; pressure effect = persistence under a family minus under the neutral "
            "small-talk control at the same k. Claim 7 reads the mean effect over the pressure "
            f"families at the largest k. Intervals: {findings.interval_method}. The trait "
            "probe (below) measures how far the Big-Five profile drifts toward the model's "
            "no-persona default."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No pressure results are stored."))
        return section
    for model_id, m in models.items():
        kind = NOTE_KIND.get(m["validity"]["verdict"], "warning")
        section.blocks.append(note(f"{model_id}: {m['validity']['summary']}", kind))
    persistence = {model_id: m["persistence"] for model_id, m in models.items()}
    section.blocks.append(_figure(persistence, "persistence (P of the persona's answers)", [0, 1]))
    columns = ["model", "family", *(f"k={k}" for k in ks), "break rate (last k)",
               "P(AI answer) (last k)", "effect vs neutral (last k)"]  # fmt: skip
    for model_id, m in models.items():
        block = table(columns, _rows(model_id, m), caption=f"{model_id}: persistence by k")
        valid = m["validity"]["verdict"] != "invalid"
        section.blocks.append(block if valid else muted(block))
    _trait_blocks(section, models)
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
        traits = m.get("traits")
        if traits is not None:
            section.headline[model_id]["trait drift"] = (
                fmt_estimate(traits["drift_effect"])
                if traits["drift_effect"]
                else f"withheld: {traits['validity']['verdict']}"
            )
    return section


def _trait_blocks(section: Section, models: dict[str, Any]) -> None:
    """The trait probe: verdicts, the drift figure and table; an invalid probe's drift is
    withheld, greyed with its reason and without numbers."""
    probed = {model_id: m["traits"] for model_id, m in models.items() if m.get("traits")}
    if not probed:
        return
    section.blocks.append(heading("Trait probe: drift toward the model's default profile"))
    section.blocks.append(
        paragraph(
            "After the probed ks the adoption study's Mini-IPIP items are asked in the same "
            "conversation (never entering it) and scored as T-scores against human norms. "
            "Trait drift = the move of the Big-Five profile from the unit's k = 0 profile, "
            "projected on the unit vector toward the model's no-persona default profile "
            "(T-score units; reaching the default = the gap ||T_default - T_0||). Drift "
            "effect = drift under a family minus under the neutral control. Validity: the "
            "adoption study's diagnostics over every probed state and the default."
        )
    )
    for model_id, t in probed.items():
        order = t["reversed_options"]
        text = (f"{model_id}: trait probe {t['validity']['summary']}; default profile with "
                f"reversed options moves {order['mean_abs_shift']} T on average")  # fmt: skip
        section.blocks.append(note(text, NOTE_KIND.get(t["validity"]["verdict"], "warning")))
    shown = {model_id: t["drift"] for model_id, t in probed.items() if t["drift"]}
    if shown:
        section.blocks.append(_figure(shown, "trait drift toward the default (T-score units)"))
    for model_id, t in probed.items():
        if not t["drift"]:
            section.blocks.append(
                muted(paragraph(f"{model_id}: trait drift withheld: {t['withheld']}"))
            )
            continue
        columns = ["family", *(f"k={k}" for k in t["ks"]), "effect vs neutral (last k)"]
        rows = [
            [family, *(fmt_estimate(p) for p in curve),
             fmt_estimate(t["effect"][family][-1]) if family in t["effect"] else "control"]
            for family, curve in t["drift"].items()
        ]  # fmt: skip
        caption = (
            f"{model_id}: trait drift (T-score units); gap to the default "
            f"{fmt_estimate(t['gap'])}; pooled effect {fmt_estimate(t['drift_effect'])}"
        )
        section.blocks.append(table(columns, rows, caption=caption))
