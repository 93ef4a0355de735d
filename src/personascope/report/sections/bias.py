"""Report section for the bias study: identity-congruent reading of numeric evidence.

Validity first: a model whose control task (the neutral topic, no persona) is not above
chance gets its numbers greyed, beside the reason, and no gap in the verdict table.
Persona texts, instructions and topics are data a user may write: all go through the
escaping blocks.
"""

from __future__ import annotations

from typing import Any

from personascope.findings.bias import BiasFindings
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

NOTE_KIND = {"valid": "info", "weak": "warning", "invalid": "invalid"}


def _valid(m: dict[str, Any]) -> bool:
    return m["validity"]["verdict"] != "invalid"


def _summary_row(model_id: str, m: dict[str, Any]) -> list[Any]:
    return [
        model_id,
        m["validity"]["verdict"],
        fmt_estimate(m["control_accuracy"]),
        fmt_estimate(m["congruence_gap"]),
        fmt_estimate(m["congruence_ratio"], 2, percent=True),
        fmt_estimate(m["debiased_gap"]),
        m["option_mass"],
        m["order_sensitivity"],
    ]


SUMMARY_COLUMNS = [
    "model",
    "verdict",
    "control accuracy (no persona)",
    "congruence gap",
    "more likely correct when congruent",
    "gap under debiasing",
    "option mass",
    "order sensitivity",
]


def _condition_rows(model_id: str, m: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, c in m["conditions"].items():
        reduction = m["reduction"].get(name)
        rows.append(
            [
                model_id,
                name,
                fmt_estimate(c["congruent"]),
                fmt_estimate(c["incongruent"]),
                fmt_estimate(c["gap"]),
                fmt_estimate(reduction) if reduction else "-",
            ]
        )
    return rows


def _accuracy_rows(model_id: str, m: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for condition, c in m["conditions"].items():
        for persona, topics in c["accuracy"].items():
            for topic, entry in topics.items():
                rows.append(
                    [
                        model_id,
                        condition,
                        persona,
                        topic,
                        fmt_estimate(entry["all"]),
                        fmt_estimate(entry.get("congruent")),
                        fmt_estimate(entry.get("incongruent")),
                    ]
                )
    return rows


def _figure(models: dict[str, Any]) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (model_id, m) in enumerate(models.items()):
        names = list(m["conditions"])
        gaps = [m["conditions"][c]["gap"] for c in names]
        figure.add_bar(
            x=names,
            y=[g["value"] for g in gaps],
            error_y=error_bars(gaps),
            name=model_id + ("" if _valid(m) else " (invalid)"),
            marker={"color": PALETTE[i % len(PALETTE)], "opacity": 1.0 if _valid(m) else 0.3},
        )
    figure.update_layout(
        title="congruence gap by instruction (95% interval over items)",
        yaxis_title="accuracy(congruent) - accuracy(incongruent)",
        barmode="group",
    )
    return figure_div(figure, height=380)


def _stimuli(findings: BiasFindings) -> Markup:
    stimuli = findings.stimuli
    personas = [f"{p['id']}: {p['text'] or '(no persona)'}" for p in stimuli["personas"]]
    debias = [f"{d['id']}: {d['text']}" for d in stimuli["debias"]]
    topics = [
        f"{t['id']} ({'political' if t['political'] else 'control'}): {t['setting']}"
        for t in stimuli["topics"]
    ]
    items = [
        f"item {it['index']}: treated {it['counts'][0]}, untreated {it['counts'][1]} "
        f"(good, bad); correct: {it['correct']}, largest cell says: {it['naive']}"
        for it in stimuli["items"]
    ]
    return details(
        f"Stimuli ({stimuli['source']}): topics, personas, debiasing instructions, items",
        quote_list(topics, 20)
        + quote_list(personas, 20)
        + quote_list(debias, 20)
        + quote_list(items, 100),
    )


def render(findings: BiasFindings) -> Section:
    design, models = findings.design, findings.models
    section = Section(
        "bias",
        "Bias: does a persona make the model read evidence in its identity's favour?",
        intro=(
            "Kahan et al.'s (2017) covariance-detection task under assigned identities, as in "
            "Dash et al. (2025, arXiv 2506.20020): a 2x2 table of counts whose largest cell "
            "points to the wrong conclusion; the right one compares the two groups' rates. "
            f"{design.get('items')} items per topic (conclusion, row and column order "
            "balanced), a political topic and a neutral control topic with the same numbers, "
            "asked with no persona and under each identity, with no instruction and under each "
            "debiasing instruction; both option orders. Accuracy = probability of the correct "
            "conclusion (normalised over the two options, mean of both orders; chance 0.5). "
            "Congruence gap = accuracy(congruent) - accuracy(incongruent), averaged over the "
            "identities; ratio = accuracy(congruent) / accuracy(incongruent) - 1. Validity "
            "first: the gap is reported only when the control topic without persona is answered "
            f"above chance by its interval. Intervals: {findings.interval_method}."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No bias results are stored."))
        return section
    for model_id, m in models.items():
        section.blocks.append(
            note(f"{model_id}: {m['validity']['summary']}", NOTE_KIND[m["validity"]["verdict"]])
        )
    valid = {k: v for k, v in models.items() if _valid(v)}
    invalid = {k: v for k, v in models.items() if not _valid(v)}
    section.blocks.append(_figure(models))
    if valid:
        section.blocks.append(
            table(
                SUMMARY_COLUMNS,
                [_summary_row(k, m) for k, m in valid.items()],
                caption="Congruence gap [95% interval]; above 0: the identity's side is read "
                "more accurately",
            )
        )
    if invalid:
        section.blocks.append(
            muted(
                table(
                    SUMMARY_COLUMNS,
                    [_summary_row(k, m) for k, m in invalid.items()],
                    caption="Withheld: these models cannot do the control task, so their "
                    "gaps are not a measurement (shown for the record)",
                )
            )
        )
    for group, wrap in ((valid, lambda x: x), (invalid, muted)):
        if not group:
            continue
        rows = [row for k, m in group.items() for row in _condition_rows(k, m)]
        section.blocks.append(
            wrap(
                table(
                    ["model", "instruction", "acc. congruent", "acc. incongruent", "gap",
                     "gap reduction"],
                    rows,
                    caption="By debiasing instruction; reduction = gap(none) - gap(instruction)",
                )
            )
        )  # fmt: skip
        acc = [row for k, m in group.items() for row in _accuracy_rows(k, m)]
        section.blocks.append(
            details(
                "Accuracy by persona x congruence" + ("" if group is valid else " (withheld)"),
                wrap(
                    table(
                        ["model", "instruction", "persona", "topic", "all", "congruent",
                         "incongruent"],
                        acc,
                    )
                ),
            )
        )  # fmt: skip
    section.blocks.append(heading("Design"))
    section.blocks.append(_stimuli(findings))
    for model_id, m in models.items():
        section.headline[model_id] = {
            "congruence gap": fmt_estimate(m["congruence_gap"])
            if _valid(m)
            else f"withheld: {m['validity']['verdict']}",
            "bias validity": m["validity"]["verdict"],
        }
    return section
