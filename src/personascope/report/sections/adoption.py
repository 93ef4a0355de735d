"""Report section for the adoption study: does a model take the personality it is asked for?

Built only from the stored finding ``summary`` (:mod:`personascope.studies.adoption`).
Every score is shown next to the validity verdict of its model, wording and domain
(option mass, item sensitivity, acquiescence, persona sensitivity, reliability), and the
order and wording controls sit beside the scores they qualify. Persona texts and model
ids go through the escaping blocks and :func:`~personascope.report.figures.safe_hover`.
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import median
from typing import Any

from personascope.findings import EstimateRecord
from personascope.findings.adoption import (
    AdoptionFindings,
    ConditionFindings,
    DomainAgreement,
    ModelAdoption,
    TargetPersona,
)
from personascope.report.blocks import (
    Markup,
    Section,
    details,
    fmt,
    fmt_estimate,
    heading,
    note,
    paragraph,
    quote_list,
    table,
)
from personascope.report.figures import PALETTE, figure_div, safe_hover

NOTE_KIND = {"valid": "info", "weak": "warning", "invalid": "invalid"}
AGREEMENT = ("Spearman [95% CI]", "slope [95% CI]", "hit rate [95% CI]", "discrimination [95% CI]")


def _agreement(row: DomainAgreement) -> list[EstimateRecord]:
    """A domain's agreement statistics, in the order of :data:`AGREEMENT`."""
    return [row.spearman, row.slope, row.hit_rate, row.discrimination]


def _estimate(entry: EstimateRecord | None) -> str:
    return fmt_estimate(None if entry is None else entry.estimate, 2)


def _usable(condition: ConditionFindings) -> list[str]:
    """Domains of a condition whose verdict is not invalid."""
    return [d for d, v in condition.validity.domains.items() if v.verdict != "invalid"]


def _values(estimates: Iterable[EstimateRecord]) -> list[float]:
    """The non-missing values of ``estimates``."""
    return [e.value for e in estimates if e.value is not None]


def _first_invalid(condition: ConditionFindings) -> tuple[str, str]:
    for d, v in condition.validity.domains.items():
        if v.verdict == "invalid":
            return d, v.reasons[0]
    return "-", "-"


def headline(model_id: str, model: ModelAdoption) -> str:
    """One sentence on whether ``model`` adopts the requested traits, validity first.

    Under the first wording (the one every persona is given): when every wording is
    invalid, or every domain of the first, says so and why; otherwise the median
    Spearman correlation and slope of measured on target over the domains that are not
    invalid, the movement ratio of the high/low profiles and the number of domains whose
    slope lies below 1.
    """
    conditions = model.conditions
    first = next(iter(conditions))
    condition = conditions[first]
    n_domains = len(condition.validity.domains)
    if not any(_usable(c) for c in conditions.values()):
        domain, reason = _first_invalid(condition)
        scope = f"all {len(conditions)} wordings" if len(conditions) > 1 else f"'{first}'"
        n_invalid = n_domains - len(_usable(condition))
        return (
            f"{model_id} shows no measurable personality: its self-report is invalid under "
            f"{scope} ({n_invalid} of {n_domains} domains under '{first}'; e.g. {domain}: "
            f"{reason}), so its target-vs-measured numbers are answer habits, not adoption."
        )
    usable = _usable(condition)
    if not usable:
        domain, reason = _first_invalid(condition)
        others = [w for w, c in conditions.items() if _usable(c)]
        return (
            f"{model_id}: the self-report is invalid in every domain under '{first}' (e.g. "
            f"{domain}: {reason}) but not under {', '.join(others)}; see the tables below."
        )
    rhos = _values(condition.domains[d].spearman for d in usable)
    slopes = _values(condition.domains[d].slope for d in usable)
    text = f"{model_id} under '{first}' ({condition.validity.verdict}): "
    if rhos:
        text += (
            f"measured traits follow the targets with a median Spearman correlation of "
            f"{median(rhos):.2f} over {len(rhos)} of {n_domains} domains "
            f"(range {min(rhos):.2f} to {max(rhos):.2f})"
        )
    else:
        text += (
            "no Spearman correlation could be computed (too few personas per domain, or "
            "the measured scores did not vary)"
        )
    if slopes:
        text += f", median slope {median(slopes):.2f}"
    pull = condition.default_pull
    ratio = pull.movement_ratio
    if ratio and ratio.value is not None:
        text += (
            f"; the high/low profiles move {_estimate(ratio)} of the way from the default "
            "profile to their targets"
        )
    below = [d for d in usable if pull.slope_below_1.get(d)]
    text += f"; default pull (slope CI below 1) in {len(below)} of {len(usable)} usable domains"
    withheld = sorted(set(condition.validity.domains) - set(usable))
    if withheld:
        text += f"; {', '.join(withheld)} invalid and not counted"
    return text + "."


def _domains(model: ModelAdoption) -> list[str]:
    """The domains of the model's first wording."""
    return list(next(iter(model.conditions.values())).validity.domains)


def _default_table(model_id: str, model: ModelAdoption) -> Markup:
    domains = _domains(model)
    rows = []
    for wording, c in model.conditions.items():
        profile = c.default_profile
        t_scores, derived = profile.t_scores, profile.derived_type
        rows.append(
            [
                wording,
                profile.verdict,
                *(fmt(profile.scores.get(d), 2) for d in domains),
                ", ".join(f"{d} {fmt(t, 1)}" for d, t in t_scores.items()) if t_scores else "-",
                f"{derived.type} (derived)" if derived and derived.type else "-",
                profile.interpretation or profile.verdict_summary,
            ]
        )
    return table(
        ["wording", "verdict", *domains, "T-scores", "type", "interpretation"],
        rows,
        caption=f"{model_id}: default profile (no persona), domain scores on the 1-5 scale, "
        "per wording (differences between rows are the wording effect)",
    )


def _agreement_table(model_id: str, condition: ConditionFindings) -> Markup:
    rows = [
        [
            d,
            row.validity.verdict,
            row.n_personas,
            *(_estimate(e) for e in _agreement(row)),
            condition.default_pull.slope_below_1.get(d),
        ]
        for d, row in condition.domains.items()
    ]
    return table(
        ["domain", "verdict", "personas", *AGREEMENT, "slope below 1"],
        rows,
        caption=f"{model_id}, {condition.provenance.condition_label}: target vs measured "
        f"({condition.validity.summary})",
    )


def _validity_table(model_id: str, wording: str, condition: ConditionFindings) -> Markup:
    rows = [
        [
            d,
            v.verdict,
            fmt(v.option_mass, 2),
            f"{fmt(v.item_spread, 2)} ({fmt(v.item_spread_ratio, 2)}x human)",
            fmt(v.acquiescence, 2),
            fmt(v.reverse_key_r, 2),
            fmt(v.persona_sd_ratio, 2),
            fmt(v.alpha, 2),
            fmt(v.omega, 2),
            "; ".join(v.reasons),
        ]
        for d, v in condition.validity.domains.items()
    ]
    reference = next(iter(condition.validity.domains.values())).reference
    return table(
        [
            "domain",
            "verdict",
            "option mass",
            "item sensitivity (SD between items)",
            "acquiescence",
            "reverse-key r",
            "persona SD / human SD",
            "alpha",
            "omega",
            "reasons",
        ],
        rows,
        caption=f"{model_id}, {wording}: validity diagnostics (reference: {reference})",
    )


def _pull_paragraph(model_id: str, wording: str, condition: ConditionFindings) -> Markup | None:
    pull = condition.default_pull
    if pull.movement_ratio is None:
        return None
    return paragraph(
        f"{model_id}, {wording} ({condition.validity.verdict}): movement ratio "
        f"{_estimate(pull.movement_ratio)} over {pull.movement_basis or 'the personas'} "
        f"(1 = the personas move as far from the default as asked, 0 = they stay at the "
        f"default); mean distance of measured profiles "
        f"to the default {fmt(pull.mean_distance_to_default, 2)} vs "
        f"{fmt(pull.mean_target_distance_to_default, 2)} for their targets."
    )


def _controls(model_id: str, model: ModelAdoption, domains: list[str]) -> list[Markup]:
    controls = model.controls
    rows = [
        [f"reversed options ({wording})", entry.validity]
        + [fmt(entry.default_profile_shift.get(d), 2) for d in domains]
        for wording, entry in controls.reversed_options.items()
    ]
    order = controls.item_order
    if order:
        rows += [
            [f"item order, seed {seed} (listed context)", "-"]
            + [fmt(shift.get(d), 2) for d in domains]
            for seed, shift in order.shift.items()
        ]
    blocks = [
        table(
            ["control", "verdict of the control run", *(f"{d} shift" for d in domains)],
            rows,
            caption=f"{model_id}: order effects on the default profile (scores under the "
            "control minus scores without it)",
        )
    ]
    inline = controls.inline_placement
    if inline:
        blocks.append(
            table(
                ["domain", "verdict", "personas", "Spearman [95% CI]", "slope [95% CI]"],
                [
                    [
                        d,
                        row.validity.verdict,
                        row.n_personas,
                        _estimate(row.spearman),
                        _estimate(row.slope),
                    ]
                    for d, row in inline.domains.items()
                ],
                caption=f"{model_id}: persona inline in the user message instead of the system "
                "message (default and ladder extremes)",
            )
        )
    return blocks


def _scatter(
    model_id: str, condition: ConditionFindings, personas: dict[str, TargetPersona], wording: str
) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    scores = condition.scores
    for i, (d, v) in enumerate(condition.validity.domains.items()):
        names = [n for n in scores if n in personas and d in personas[n].targets]
        if not names:
            continue
        figure.add_scatter(
            x=[personas[n].targets[d] for n in names],
            y=[scores[n][d] for n in names],
            mode="markers",
            name=f"{d} ({v.verdict})",
            marker={"color": PALETTE[i % len(PALETTE)]},
            hovertext=safe_hover([f"{n}: {personas[n].text or ''}" for n in names]),
            hoverinfo="text",
        )
    figure.add_scatter(
        x=[1, 5], y=[1, 5], mode="lines", name="measured = target", line={"dash": "dot"}
    )
    figure.update_layout(
        title=f"{model_id}, {wording}: measured vs target domain score",
        xaxis_title="target (1-5)",
        yaxis_title="measured (1-5)",
    )
    return figure_div(figure)


def _provenance(findings: AdoptionFindings, model: ModelAdoption) -> Markup:
    rows: list[list[Any]] = [
        ["model key", model.model_key],
        ["model kind", model.kind],
        ["wall time (s)", model.elapsed_s],
    ]
    for wording, c in model.conditions.items():
        p = c.provenance
        rows += [
            [f"{wording}: condition", p.condition_label],
            [f"{wording}: personas", p.n_personas],
            [f"{wording}: prompt template", p.prompt_template],
        ]
    inventory, markers, boot = findings.inventory, findings.markers, findings.bootstrap
    rows += [
        ["inventory", f"{inventory.name} ({inventory.content_hash})"],
        ["inventory citation", inventory.citation],
        ["markers", f"{markers.id} ({markers.content_hash})"],
        ["markers citation", markers.citation],
        ["persona instruction", findings.persona_instruction],
        ["bootstrap", f"{boot.n_boot} replicates over {boot.unit}s, seed {boot.seed}"],
    ]
    return table(["setting", "value"], rows)


def render(findings: AdoptionFindings) -> Section:
    design, models, personas = findings.design, findings.models, findings.personas
    section = Section(
        "adoption",
        "Adoption: does the model take the personality it is asked for?",
        intro=(
            f"The {findings.inventory.name} is given with no "
            f"persona (the default profile) and with {len(personas) - 1} target personas "
            "described by trait-adjective markers at levels 1-9 (Serapio-García et al. 2023; "
            f"level L targets 1 + (L - 1)/2), under the wordings "
            f"{', '.join(design.get('wordings', []))}. Answers are read from the option "
            "log-probabilities; per domain the measured score is compared with the target "
            "(Spearman, slope, hit rate, discrimination, with percentile-bootstrap 95% "
            "intervals over personas). Every score carries the validity verdict of its model, "
            "wording and domain: an invalid verdict means the answers are a habit, not a trait."
        ),
    )
    if not models:
        section.blocks.append(note("No adoption findings are stored.", "warning"))
        return section
    for model_id, model in models.items():
        first = next(iter(model.conditions.values()))
        section.blocks.append(note(headline(model_id, model), NOTE_KIND[first.validity.verdict]))
    for model_id, model in models.items():
        section.blocks += [heading(model_id), _default_table(model_id, model)]
        for wording, condition in model.conditions.items():
            section.blocks.append(_agreement_table(model_id, condition))
            pull = _pull_paragraph(model_id, wording, condition)
            if pull is not None:
                section.blocks.append(pull)
            section.blocks.append(_validity_table(model_id, wording, condition))
        first_wording, first = next(iter(model.conditions.items()))
        section.blocks.append(_scatter(model_id, first, personas, first_wording))
        section.blocks += _controls(model_id, model, _domains(model))
        section.blocks.append(details(f"Provenance: {model_id}", _provenance(findings, model)))
    section.blocks.append(
        details(
            "Target personas",
            quote_list(
                [f"{name}: {p.text or '(no persona)'}" for name, p in personas.items()], 200
            ),
        )
    )
    for model_id, model in models.items():
        first = next(iter(model.conditions.values()))
        rhos = _values(first.domains[d].spearman for d in _usable(first))
        if rhos:
            cell = f"{median(rhos):.2f} over {len(rhos)} domains"
        else:
            cell = "not measurable" if _usable(first) else "withheld: invalid self-report"
        section.headline[model_id] = {
            "adoption (median Spearman, usable domains)": cell,
            "default pull (movement ratio)": _estimate(first.default_pull.movement_ratio)
            if rhos
            else cell,
            "adoption self-report": f"{first.validity.verdict} "
            f"({first.provenance.condition_label})",
        }
    return section
