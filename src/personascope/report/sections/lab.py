"""Report section for the collapse lab: dose-response curves of persona collapse under DPO.

Built only from the ``lab`` study's stored findings (``personascope.lab.run``); every
string from the store goes through the escaping blocks, model output included.
"""

from __future__ import annotations

import math

from personascope.findings.lab import CurvePoint, DoseResponse, LabFindings
from personascope.report.blocks import (
    Markup,
    Section,
    details,
    fmt,
    fmt_ci,
    fmt_estimate,
    heading,
    note,
    paragraph,
    quote_list,
    table,
)
from personascope.report.figures import PALETTE, figure_div

HEADLINE = ("first_name_entropy", "age_sd", "distinct_2")
COLUMNS = 3


def _cell(point: CurvePoint) -> str:
    return fmt_ci(point.value, point.low, point.high)


def _figure(curves: dict[str, DoseResponse]) -> Markup:
    from plotly.subplots import make_subplots

    keys = [k for k, c in curves.items() if any(p.value is not None for p in c.points)]
    rows = math.ceil(len(keys) / COLUMNS)
    figure = make_subplots(
        rows=rows,
        cols=COLUMNS,
        subplot_titles=[curves[k].label for k in keys],
        horizontal_spacing=0.08,
        vertical_spacing=0.12,
    )
    for i, key in enumerate(keys):
        curve = curves[key]
        points = [p for p in curve.points if p.value is not None]
        steps = [p.step for p in points]
        values = [p.value for p in points]
        upper = [(p.high - p.value) if p.high is not None else 0 for p in points]
        lower = [(p.value - p.low) if p.low is not None else 0 for p in points]
        row, col = i // COLUMNS + 1, i % COLUMNS + 1
        figure.add_scatter(
            x=steps,
            y=values,
            mode="lines+markers",
            error_y={"type": "data", "array": upper, "arrayminus": lower, "visible": True},
            line={"color": PALETTE[0]},
            name=curve.label,
            showlegend=False,
            row=row,
            col=col,
        )
        if curve.reference is not None:
            figure.add_hline(
                y=curve.reference,
                line={"dash": "dash", "color": PALETTE[1]},
                row=row,
                col=col,
            )
    figure.update_xaxes(title_text="DPO steps")
    return figure_div(figure, height=260 * rows + 80)


def render(findings: LabFindings) -> Section:
    checkpoints = findings.checkpoints
    data, training, evaluation = findings.data, findings.training, findings.evaluation
    section = Section(
        "lab",
        "Lab: does preference tuning itself narrow the personas?",
        intro=(
            f"{findings.base_model} was DPO-tuned with a rank-{training.lora_r} "
            f"LoRA on {data.n_pairs} preference pairs made from its own samples "
            f"({data.samples_per_frame} per frame, seeds {data.sample_seeds}, "
            f"on the frames {', '.join(data.train_frames)}). Reward: "
            f"{findings.reward.name} ({findings.reward.description}); pairing: "
            f"{findings.pairing.name}. Learning rate "
            f"{training.learning_rate} (constant), beta {training.beta}, batch "
            f"{training.batch_size}, training seed {training.seed}; checkpoints "
            f"at steps {training.schedule}. Every checkpoint wrote "
            f"{evaluation.samples_per_frame} profiles on each held-out frame "
            f"({', '.join(evaluation.frames)}; never used in training) with the "
            f"same seeds {evaluation.seeds}. Intervals: 95% delete-a-group jackknife "
            "over personas; dashed lines: a random draw of US adults of the same size "
            "(SSA data) or their age SD."
        ),
    )
    if not checkpoints:
        section.blocks.append(paragraph("No lab results are stored."))
        return section
    curves = findings.curves
    section.blocks.append(_figure(curves))
    rows = [
        [c.model_id, c.step, *(_cell(curve.points[i]) for curve in curves.values())]
        for i, c in enumerate(checkpoints)
    ]
    rows.append(["US adults, same n", "-", *(fmt(curve.reference) for curve in curves.values())])
    section.blocks.append(
        table(
            ["model", "step", *(curve.label for curve in curves.values())],
            rows,
            caption="Dose-response: each metric at each checkpoint, value [95% interval]",
        )
    )
    confound = data.length_confound
    chosen, rejected = confound.chosen_words, confound.rejected_words
    chosen_words = None if chosen is None else chosen.value
    rejected_words = None if rejected is None else rejected.value
    shorter = (chosen_words or 0) < 0.8 * (rejected_words or 0)
    section.blocks.append(
        note(
            f"Length confound of the training pairs: Spearman correlation of reward and "
            f"length {fmt_estimate(confound.reward_length_spearman)} over "
            f"{confound.n_samples} samples; chosen texts "
            f"{fmt(chosen_words, 1)} words, rejected {fmt(rejected_words, 1)} "
            "(means over pairs). Use --pairing length-matched to train on pairs of equal "
            "length.",
            "warning" if shorter else "info",
        )
    )
    section.blocks.append(
        details(
            "Training log (DPO loss and implicit reward margins per step)",
            table(
                ["step", "loss", "reward margin", "reward accuracy"],
                [
                    [e.get("step"), e.get("loss"), e.get("rewards/margins"),
                     e.get("rewards/accuracies")]
                    for e in training.log
                ],
            ),
        )
    )  # fmt: skip
    section.blocks.append(heading("Examples (first three profiles of each checkpoint)"))
    for c in checkpoints:
        section.blocks.append(details(f"{c.model_id} (step {c.step})", quote_list(c.examples)))
    section.blocks.append(
        note(
            "Each checkpoint is a model id: compare a matched pair with "
            f"`personascope audit --model {checkpoints[0].model_id} --model "
            f"{checkpoints[-1].model_id}` (adoption and stability need self-reports, "
            "which models of this size answer by habit; check their validity notes). "
            + findings.terms
        )
    )
    for i in (0, len(checkpoints) - 1):
        section.headline[checkpoints[i].model_id] = {
            f"lab: {curves[k].label}": _cell(curves[k].points[i]) for k in HEADLINE if k in curves
        }
    return section
