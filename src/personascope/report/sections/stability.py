"""Report section for the stability study: persona signal vs re-running noise.

Built only from the study's stored findings; every string (persona descriptions and
model self-descriptions included) goes through the escaping blocks. The inventory's
persona shares are shown only for domains whose self-report is not invalid; for
invalid ones the section says why instead.
"""

from __future__ import annotations

from typing import Any

from personascope.findings.stability import (
    FreeText,
    InventoryAnswers,
    ModelStability,
    StabilityFindings,
)
from personascope.report.blocks import (
    Markup,
    Section,
    details,
    fmt_estimate,
    heading,
    note,
    paragraph,
    quote_list,
    table,
)
from personascope.report.figures import PALETTE, figure_div, safe_hover

COMPONENT_LABELS = {
    "persona": "persona",
    "paraphrase": "paraphrase",
    "persona:paraphrase": "persona x paraphrase",
    "seed": "seed (sampling)",
}


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _shares_figure(models: dict[str, ModelStability]) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    names = list(models)
    for i, (key, label) in enumerate(COMPONENT_LABELS.items()):
        figure.add_bar(
            y=names,
            x=[100 * (models[m].free_text.components[key].share.value or 0) for m in names],
            name=label,
            orientation="h",
            marker={"color": PALETTE[i % len(PALETTE)]},
        )
    figure.update_layout(
        barmode="stack",
        title="Self-descriptions: share of variance by facet",
        xaxis_title="% of the variance of one self-description (embedding)",
    )
    return figure_div(figure, height=140 + 60 * len(names))


def _projection_figure(model_id: str, free_text: FreeText, personas: list[str]) -> Markup:
    import plotly.graph_objects as go

    points = free_text.projection.points
    figure = go.Figure()
    for p, runs in enumerate(points):
        xy = [pt for paraphrase in runs for pt in paraphrase]
        figure.add_scatter(
            x=[pt[0] for pt in xy],
            y=[pt[1] for pt in xy],
            mode="markers",
            name=f"persona {p + 1}",
            hovertext=safe_hover([personas[p]] * len(xy)) if p < len(personas) else None,
            hoverinfo="text" if p < len(personas) else None,
            marker={"color": PALETTE[p % len(PALETTE)], "symbol": p // len(PALETTE)},
        )
    figure.update_layout(
        title=f"{model_id}: self-descriptions, first two principal axes (one colour per persona)",
        xaxis_title="axis 1",
        yaxis_title="axis 2",
    )
    return figure_div(figure, height=380)


def _free_text_rows(models: dict[str, ModelStability]) -> list[list[Any]]:
    rows = []
    for model_id, m in models.items():
        ft = m.free_text
        rows.append(
            [
                model_id,
                *(fmt_estimate(ft.components[k].share, percent=True)
                  for k in COMPONENT_LABELS),
                fmt_estimate(ft.icc1),
                fmt_estimate(ft.icc1k),
                fmt_estimate(ft.snr),
            ]
        )  # fmt: skip
    return rows


def _inventory_block(model_id: str, inventory: InventoryAnswers) -> list[Markup]:
    blocks: list[Markup] = []
    rows, withheld = [], []
    for domain, entry in inventory.domains.items():
        if entry.skipped:
            withheld.append(f"{domain}: {entry.skipped}")
        elif entry.verdict == "invalid":
            withheld.append(f"{domain}: {entry.reasons[0]}")
        else:
            sampling = (entry.components or {}).get("sampling")
            rows.append(
                [
                    domain,
                    entry.verdict,
                    fmt_estimate(percent=True, entry=entry.persona_share),
                    fmt_estimate(entry.icc1),
                    fmt_estimate(entry.snr),
                    pct(sampling.share.value if sampling else None),
                ]
            )
    if withheld:
        blocks.append(
            note(
                f"{model_id}: the inventory answers are not a personality measurement "
                f"({inventory.validity.summary}), so no persona share is reported for "
                f"{len(withheld)} domain(s): " + "; ".join(withheld) + ". The decomposition "
                "of the self-descriptions above does not depend on these answers.",
                "invalid",
            )
        )
    if rows:
        blocks.append(
            table(
                ["domain", "verdict", "persona share", "ICC(1)", "persona SNR", "sampling share"],
                rows,
                caption=f"{model_id}: {inventory.measurement} (domain scores)",
            )
        )
    blocks.append(paragraph(f"Seed facet of the inventory: {inventory.seed_facet}."))
    return blocks


def render(findings: StabilityFindings) -> Section:
    design, models, personas = findings.design, findings.models, findings.personas
    persona_ids = [p.id for p in personas.items]
    section = Section(
        "stability",
        "Stability: is the variety across personas character or noise?",
        intro=(
            f"{len(persona_ids)} personas ({personas.source}) x "
            f"{design.get('paraphrases')} paraphrases of the persona prompt x "
            f"{design.get('seeds')} sampling seeds. Each persona prompt is followed by a "
            "free-text self-description (embedded with all-MiniLM-L6-v2) and by the "
            f"{design.get('inventory')} inventory. The variance of one measurement is split "
            "into persona, paraphrase, their interaction and seed (ANOVA estimators of a "
            "crossed random-effects design); persona share = between-persona variance / "
            "total; 'varies Y times as much' = within-persona variance (paraphrase, "
            "interaction, seed) / between-persona variance. Intervals: "
            f"{findings.interval_method}."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No stability results are stored."))
        return section
    for model_id, m in models.items():
        section.blocks.append(note(f"{model_id} (self-descriptions): {m.free_text.headline}."))
    section.blocks.append(_shares_figure(models))
    section.blocks.append(
        table(
            ["model", *COMPONENT_LABELS.values(), "ICC(1)", "ICC(1,k)", "persona SNR"],
            _free_text_rows(models),
            caption="Self-descriptions: variance shares [95% interval], ICC over personas "
            "(k = paraphrases x seeds runs each), persona signal-to-noise ratio",
        )
    )
    for model_id, m in models.items():
        section.blocks.append(_projection_figure(model_id, m.free_text, persona_ids))
    section.blocks.append(heading("Inventory answers"))
    for model_id, m in models.items():
        section.blocks.extend(_inventory_block(model_id, m.inventory))
    section.blocks.append(heading("Examples: the first self-description of each persona"))
    for model_id, m in models.items():
        section.blocks.append(details(model_id, quote_list(m.free_text.examples, 20)))
    section.blocks.append(
        details(
            "Personas and prompt wordings",
            quote_list(
                [f"{p.id}: {p.description}" for p in personas.items]
                + [t.text for t in findings.templates.paraphrases],
                100,
            ),
        )
    )
    for model_id, m in models.items():
        shown = [
            (d, e.persona_share)
            for d, e in m.inventory.domains.items()
            if e.verdict != "invalid" and not e.skipped and e.persona_share is not None
        ]
        inventory_cell = (
            ", ".join(f"{d} {pct(share.value)}" for d, share in shown)
            or "withheld: invalid self-report"
        )
        section.headline[model_id] = {
            "persona share of variance (self-descriptions)": fmt_estimate(
                percent=True, entry=m.free_text.persona_share
            ),
            "persona share (inventory domains)": inventory_cell,
        }
    return section
