"""Report section for the register study: does the model switch register by context?

Built only from the stored findings; model text goes through the escaping blocks.
"""

from __future__ import annotations

from typing import Any

from personascope.claims import pair_caveat
from personascope.findings.register import RegisterFindings
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
from personascope.report.figures import PALETTE, figure_div

SHOWN = ("formality", "fk_grade")


def _means_figure(findings: RegisterFindings, feature: str) -> Markup:
    import plotly.graph_objects as go

    labels = [c["id"] for c in findings.contexts]
    figure = go.Figure()
    for i, (model_id, m) in enumerate(findings.models.items()):
        means = (m.get("context_means") or {}).get(feature)
        if means:
            figure.add_bar(x=labels, y=means, name=model_id,
                           marker={"color": PALETTE[i % len(PALETTE)]})  # fmt: skip
    figure.update_layout(
        barmode="group",
        title=f"Mean {feature} by context (intended order: see the design table)",
        yaxis_title=feature,
    )
    return figure_div(figure, height=340)


def _model_rows(models: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            model_id,
            m.get("kind", "?"),
            fmt_estimate(m.get("register_range"), percent=True),
            fmt_estimate(m.get("task_share"), percent=True),
            fmt_estimate(m.get("interaction_share"), percent=True),
            fmt_estimate(m.get("seed_share"), percent=True),
            fmt_estimate(m.get("adherence"), digits=2),
            m.get("empty_responses", 0),
        ]
        for model_id, m in models.items()
    ]


def _caveats(models: dict[str, Any]) -> list[Markup]:
    bases = [k for k, m in models.items() if m.get("kind") == "base"]
    tuned = [k for k, m in models.items() if m.get("kind") == "chat"]
    texts = {pair_caveat(b, t) for b in bases for t in tuned} - {""}
    return [note(f"Cross-family caveat: {text}.", "warning") for text in sorted(texts)]


def render(findings: RegisterFindings) -> Section:
    design, models = findings.design, findings.models
    section = Section(
        "register",
        "Register: can the model write for different contexts?",
        intro=(
            f"{len(findings.tasks)} content tasks x {len(findings.contexts)} contexts x "
            f"{design.get('seeds')} seeds per model. Each response is reduced to style "
            "features (formality F-score, Flesch-Kincaid grade, word and sentence length, "
            "contractions, first/second person, lexical density, ! and ? rates; each "
            "z-scored within the model). Register range = the share of the style variance "
            "explained by context (crossed task x context decomposition, seeds as "
            "replicates; generalized pivotal intervals). Adherence = Kendall tau-b between "
            "each context's intended and measured position, averaged over the features "
            "with an intended direction (jackknife over task x seed rows)."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No register results are stored."))
        return section
    section.blocks.extend(_caveats(models))
    for model_id, m in models.items():
        if m.get("reason"):
            section.blocks.append(note(f"{model_id}: withheld: {m['reason']}.", "invalid"))
    section.blocks.append(
        table(
            [
                "model",
                "kind",
                "register range",
                "task",
                "task x context",
                "seed",
                "adherence (tau-b)",
                "empty responses",
            ],
            _model_rows(models),
            caption="Share of style variance [95% interval] by facet; adherence in [-1, 1]",
        )
    )
    for feature in SHOWN:
        section.blocks.append(_means_figure(findings, feature))
    comparison = findings.comparison
    if comparison.get("compared"):
        section.blocks.append(heading("Who wrote it, or for whom?"))
        section.blocks.append(
            table(
                ["model identity share", "context share", "model x context share"],
                [
                    [
                        fmt_estimate(comparison.get(k), percent=True)
                        for k in ("model_share", "context_share", "model_context_share")
                    ]
                ],
                caption="All models together: features z-scored over every response",
            )
        )
    section.blocks.append(heading("Adherence per feature"))
    features = list(findings.features)
    section.blocks.append(
        table(
            ["model", *features],
            [
                [
                    model_id,
                    *(
                        fmt_estimate((m.get("per_feature") or {}).get(f), digits=2)
                        for f in features
                    ),
                ]
                for model_id, m in models.items()
            ],
            caption="Kendall tau-b of intended vs measured context order [95% interval]",
        )
    )
    section.blocks.append(
        details(
            "Design: contexts and their intended positions",
            table(
                [
                    "context",
                    "instruction",
                    *sorted({d["dimension"] for d in findings.features.values()}),
                ],
                [
                    [c["id"], c["chat"], *(c["positions"][d] for d in sorted(c["positions"]))]
                    for c in findings.contexts
                ],
            ),
        )
    )
    for model_id, m in models.items():
        examples = [f"[{c}] {t}" for c, texts in (m.get("examples") or {}).items() for t in texts]
        section.blocks.append(
            details(f"Examples: {model_id} (first task)", quote_list(examples, 40))
        )
        section.headline[model_id] = {
            "register range (context share of style)": fmt_estimate(
                m.get("register_range"), percent=True
            ),
            "register adherence (tau-b)": fmt_estimate(m.get("adherence"), digits=2),
        }
    return section
