"""Report section for the commitment study: does the spread of characters narrow with history?

Built only from the study's stored findings; transcripts and self-descriptions are model
output and go through the escaping blocks.
"""

from __future__ import annotations

import math
from typing import Any

from personascope.findings.commitment import CommitmentFindings, Curve, ModelCommitment
from personascope.metrics.estimate import Estimate
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
from personascope.report.figures import PALETTE, error_bars, figure_div


def _figure(models: dict[str, ModelCommitment]) -> Markup:
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[
            "answer entropy of the choice probes (0-1)",
            "dispersion of regenerated self-descriptions",
        ],
    )
    for i, (model_id, m) in enumerate(models.items()):
        for col, measure in enumerate(_measures(m), start=1):
            points = [p for p in measure.curve if p.value is not None]
            figure.add_scatter(
                x=[p.turn for p in points],
                y=[p.value for p in points],
                error_y=error_bars(points),
                mode="lines+markers",
                name=model_id,
                legendgroup=model_id,
                showlegend=col == 1,
                line={"color": PALETTE[i % len(PALETTE)]},
                row=1,
                col=col,
            )
    figure.update_xaxes(title_text="turns of the model's own history", dtick=1)
    return figure_div(figure, height=400)


def _measures(m: ModelCommitment) -> tuple[Curve, Curve]:
    """The model's two spread curves: answer entropy, then self-description dispersion."""
    return m.entropy, m.dispersion


def half_life(rate: Estimate) -> str:
    value = rate.value
    if value is None or value <= 0:
        return "-"
    return f"{math.log(2) / value:.1f} turns"


def _rows(models: dict[str, ModelCommitment]) -> list[list[Any]]:
    rows = []
    for model_id, m in models.items():
        for entry in _measures(m):
            rows.append(
                [
                    model_id,
                    entry.label,
                    fmt_estimate(entry.curve[0].estimate, 3),
                    fmt_estimate(entry.curve[-1].estimate, 3),
                    fmt_estimate(entry.lambda_, 3),
                    half_life(entry.lambda_),
                ]
            )
    return rows


def _probe_rows(model_id: str, m: ModelCommitment) -> list[list[Any]]:
    return [
        [model_id, probe_id, *(p.value for p in probe.entropy), min(probe.option_mass)]
        for probe_id, probe in m.probes.items()
    ]


def render(findings: CommitmentFindings) -> Section:
    design, interview, models = findings.design, findings.interview, findings.models
    probes = interview.probes
    section = Section(
        "commitment",
        "Commitment: does the model narrow to one character as the conversation goes on?",
        intro=(
            f"{design.get('conversations')} independent interviews per model about the "
            f"model's own life, {design.get('turns')} main-line question(s) each; chat models "
            "in a multi-turn chat, base models in a transcript frame. After t answers of its "
            f"own, the model is probed with {len(probes)} multiple-choice questions "
            f"({', '.join(p.id for p in probes)}), whose answer "
            "distribution is read exactly from the option probabilities (normalised entropy: "
            f"0 = certain, 1 = uniform), and asked {design.get('continuations')} times to "
            "describe itself in one sentence (spread = mean pairwise cosine distance of the "
            "embeddings). Neither probe enters the history. Decay rate lambda from "
            "y0 exp(-lambda t) fitted to the mean curve; intervals: "
            f"{findings.interval_method}."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No commitment results are stored."))
        return section
    section.blocks.append(_figure(models))
    section.blocks.append(
        table(
            ["model", "measure", "turn 0", "last turn", "decay rate lambda", "half-life"],
            _rows(models),
            caption="Spread at the first and last turn and the fitted decay rate "
            "[95% interval]; lambda > 0 means narrowing",
        )
    )
    low_mass = {m: v.option_mass for m, v in models.items() if v.option_mass < 0.25}
    if low_mass:
        section.blocks.append(
            note(
                "Little probability falls on the probes' answer digits for "
                + ", ".join(f"{m} ({v:.0%})" for m, v in low_mass.items())
                + ": the entropy describes a distribution the model barely puts mass on.",
                "warning",
            )
        )
    turns = max(len(m.entropy.curve) for m in models.values())
    probe_rows = [row for model_id, m in models.items() for row in _probe_rows(model_id, m)]
    section.blocks.append(
        details(
            "Entropy of each probe by turn (mean over interviews)",
            table(
                ["model", "probe", *(f"t={t}" for t in range(turns)), "min option mass"],
                probe_rows,
            ),
        )
    )
    section.blocks.append(heading("The first interview of each model"))
    for model_id, m in models.items():
        transcript = [f"Q: {t.question}\nA: {t.answer}" for t in m.transcripts[0]]
        described = [" | ".join(texts) for texts in m.descriptions]
        section.blocks.append(
            details(
                f"{model_id}: transcript and self-descriptions at each turn",
                quote_list(transcript, 50)
                + quote_list([f"t={t}: {d}" for t, d in enumerate(described)], 50),
            )
        )
    for model_id, m in models.items():
        section.headline[model_id] = {
            "narrowing per turn (answer entropy)": fmt_estimate(m.entropy.lambda_, 3),
            "narrowing per turn (self-descriptions)": fmt_estimate(m.dispersion.lambda_, 3),
        }
    return section
