"""Report section for the collapse lab: dose-response curves of persona collapse under DPO.

Built only from the ``lab`` study's stored findings (``personascope.lab.run``); every
string from the store goes through the escaping blocks, model output included.
"""

from __future__ import annotations

import math
from typing import Any

from personascope.findings.lab import LabFindings
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


def _cell(point: dict[str, Any]) -> str:
    return fmt_ci(point.get("value"), point.get("low"), point.get("high"))


def _figure(curves: dict[str, Any]) -> Markup:
    from plotly.subplots import make_subplots

    keys = [k for k, c in curves.items() if any(p["value"] is not None for p in c["points"])]
    rows = math.ceil(len(keys) / COLUMNS)
    figure = make_subplots(
        rows=rows,
        cols=COLUMNS,
        subplot_titles=[curves[k]["label"] for k in keys],
        horizontal_spacing=0.08,
        vertical_spacing=0.12,
    )
    for i, key in enumerate(keys):
        curve = curves[key]
        points = [p for p in curve["points"] if p["value"] is not None]
        steps = [p["step"] for p in points]
        values = [p["value"] for p in points]
        upper = [(p["high"] - p["value"]) if p["high"] is not None else 0 for p in points]
        lower = [(p["value"] - p["low"]) if p["low"] is not None else 0 for p in points]
        row, col = i // COLUMNS + 1, i % COLUMNS + 1
        figure.add_scatter(
            x=steps,
            y=values,
            mode="lines+markers",
            error_y={"type": "data", "array": upper, "arrayminus": lower, "visible": True},
            line={"color": PALETTE[0]},
            name=curve["label"],
            showlegend=False,
            row=row,
            col=col,
        )
        if isinstance(curve.get("reference"), int | float):
            figure.add_hline(
                y=curve["reference"],
                line={"dash": "dash", "color": PALETTE[1]},
                row=row,
                col=col,
            )
    figure.update_xaxes(title_text="DPO steps")
    return figure_div(figure, height=260 * rows + 80)


def render(findings: LabFindings) -> Section:
    lab = findings.data
    checkpoints = lab.get("checkpoints", [])
    data, training = lab.get("data", {}), lab.get("training", {})
    evaluation = lab.get("evaluation", {})
    reward = lab.get("reward", {})
    section = Section(
        "lab",
        "Lab: does preference tuning itself narrow the personas?",
        intro=(
            f"{lab.get('base_model')} was DPO-tuned with a rank-{training.get('lora_r')} "
            f"LoRA on {data.get('n_pairs')} preference pairs made from its own samples "
            f"({data.get('samples_per_frame')} per frame, seeds {data.get('sample_seeds')}, "
            f"on the frames {', '.join(data.get('train_frames', []))}). Reward: "
            f"{reward.get('name')} ({reward.get('description')}); pairing: "
            f"{lab.get('pairing', {}).get('name')}. Learning rate "
            f"{training.get('learning_rate')} (constant), beta {training.get('beta')}, batch "
            f"{training.get('batch_size')}, training seed {training.get('seed')}; checkpoints "
            f"at steps {training.get('schedule')}. Every checkpoint wrote "
            f"{evaluation.get('samples_per_frame')} profiles on each held-out frame "
            f"({', '.join(evaluation.get('frames', []))}; never used in training) with the "
            f"same seeds {evaluation.get('seeds')}. Intervals: 95% delete-a-group jackknife "
            "over personas; dashed lines: a random draw of US adults of the same size "
            "(SSA data) or their age SD."
        ),
    )
    if not checkpoints:
        section.blocks.append(paragraph("No lab results are stored."))
        return section
    curves = lab.get("curves", {})
    section.blocks.append(_figure(curves))
    keys = list(curves)
    rows = [
        [c["model_id"], c["step"], *(_cell(curves[k]["points"][i]) for k in keys)]
        for i, c in enumerate(checkpoints)
    ]
    rows.append(["US adults, same n", "-", *(fmt(curves[k].get("reference")) for k in keys)])
    section.blocks.append(
        table(
            ["model", "step", *(curves[k]["label"] for k in keys)],
            rows,
            caption="Dose-response: each metric at each checkpoint, value [95% interval]",
        )
    )
    confound = data.get("length_confound", {})
    rho = confound.get("reward_length_spearman", {})
    chosen, rejected = confound.get("chosen_words", {}), confound.get("rejected_words", {})
    shorter = (chosen.get("value") or 0) < 0.8 * (rejected.get("value") or 0)
    section.blocks.append(
        note(
            f"Length confound of the training pairs: Spearman correlation of reward and "
            f"length {fmt_estimate(rho)} over "
            f"{confound.get('n_samples')} samples; chosen texts "
            f"{fmt(chosen.get('value'), 1)} words, rejected {fmt(rejected.get('value'), 1)} "
            "(means over pairs). Use --pairing length-matched to train on pairs of equal "
            "length.",
            "warning" if shorter else "info",
        )
    )
    log = training.get("log", [])
    section.blocks.append(
        details(
            "Training log (DPO loss and implicit reward margins per step)",
            table(
                ["step", "loss", "reward margin", "reward accuracy"],
                [
                    [e.get("step"), e.get("loss"), e.get("rewards/margins"),
                     e.get("rewards/accuracies")]
                    for e in log
                ],
            ),
        )
    )  # fmt: skip
    section.blocks.append(heading("Examples (first three profiles of each checkpoint)"))
    for c in checkpoints:
        section.blocks.append(
            details(f"{c['model_id']} (step {c['step']})", quote_list(c.get("examples", [])))
        )
    section.blocks.append(
        note(
            "Each checkpoint is a model id: compare a matched pair with "
            f"`personascope audit --model {checkpoints[0]['model_id']} --model "
            f"{checkpoints[-1]['model_id']}` (adoption and stability need self-reports, "
            "which models of this size answer by habit; check their validity notes). "
            + str(lab.get("terms", ""))
        )
    )
    for c in (checkpoints[0], checkpoints[-1]):
        section.headline[c["model_id"]] = {
            f"lab: {curves[k]['label']}": _cell(curves[k]["points"][checkpoints.index(c)])
            for k in HEADLINE
            if k in curves
        }
    return section
