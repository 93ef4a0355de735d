"""Report section for the collapse study (:class:`~personascope.findings.collapse.CollapseFindings`)
built from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from personascope.findings import to_json
from personascope.findings.collapse import (
    Categorical,
    CollapseFindings,
    ModelCollapse,
    PersonaPoints,
    Readable,
    TextTraits,
)
from personascope.findings.scaffold import Panel
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
from personascope.report.figures import PALETTE, figure_div, safe_hover, safe_labels

TEXT_METRICS = (
    ("distinct_2", "distinct-2"),
    ("ead_2", "EAD-2"),
    ("compression_ratio", "compression ratio (lower = more varied)"),
    ("self_bleu", "self-BLEU (lower = more varied)"),
    ("rouge_l_homogenization", "ROUGE-L homogenization (lower = more varied)"),
    ("pos_compression_ratio", "POS compression ratio"),
    ("mean_cosine_distance", "mean cosine distance"),
    ("vendi_q1", "Vendi score (q=1)"),
    ("largest_cluster_share", "largest near-duplicate cluster share"),
    ("distinct_classes", "distinct classes (NoveltyBench, embedding)"),
)


def _metric(panel: Panel, name: str) -> dict[str, Any] | None:
    metrics = panel.metrics
    if name in metrics and "value" in metrics[name]:
        return metrics[name]
    for group in metrics.values():  # grouped entries, e.g. {"vendi": {"vendi_q1": ...}}
        if isinstance(group, dict) and name in group and isinstance(group[name], dict):
            return group[name]
    return None


def _attribute_table(models: dict[str, ModelCollapse]) -> Markup:
    rows = []
    for model_id, m in models.items():
        names, ages, genders = m.names, m.ages, m.genders
        occupations, adjectives = m.occupations, m.adjectives
        rows.append(
            [
                model_id,
                f"{names.n} read; reach {fmt_estimate(names.reach)}; "
                f"shared by {fmt_estimate(names.repeat_share)}"
                if names.measured
                else names.reason,
                f"mean {fmt_estimate(ages.mean)}; SD {fmt_estimate(ages.sd)} "
                f"(people: {fmt(ages.reference.sd if ages.reference else None, 1)})"
                if ages.measured
                else ages.reason,
                (
                    ", ".join(f"{t.value} {t.share:.0%}" for t in genders.top or [])
                    or genders.reason
                    or "-"
                )
                + _unreadable(genders.raw),
                f"{fmt_estimate(occupations.distinct_share)} distinct; "
                f"SOC major groups: reach {fmt_estimate(occupations.reach)}; top: "
                + ", ".join(t.value for t in (occupations.top or [])[:3])
                + _unreadable(occupations.raw)
                if occupations.measured
                else occupations.reason,
                "top: "
                + ", ".join(t.value for t in (adjectives.top or [])[:5])
                + f"; desirable pole {fmt(adjectives.desirable_share, 2)}"
                if adjectives.measured
                else adjectives.reason,
            ]
        )
    return table(
        ["model", "first names", "ages (years)", "genders", "occupations", "adjectives"],
        rows,
        caption="Attributes read from the personas (95% jackknife intervals over personas)",
    )


def _unreadable(raw: Readable) -> str:
    """ "; n unreadable (share)" for an attribute read onto a vocabulary, else ""."""
    if not raw.stated:
        return ""
    return f"; {raw.unreadable} unreadable ({raw.unreadable_share:.0%})"


def _self_report(m: ModelCollapse) -> str:
    """The self-report verdict, with trait reach and the same-n human coverage."""
    report = m.self_report
    text = report.validity.verdict
    base = report.coverage_baseline
    if report.trait_reach is not None and base is not None:
        low, high = base.range_95
        text += (
            f"; trait reach {fmt_estimate(report.trait_reach.estimate)} "
            f"(coverage {fmt(base.coverage, 3)}; "
            f"{base.n} people: {fmt(base.mean, 3)} [{fmt(low, 3)}, {fmt(high, 3)}])"
        )
    return text


def _index_figure(models: dict[str, ModelCollapse]) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (model_id, m) in enumerate(models.items()):
        components = m.collapse.components or {}
        figure.add_bar(
            name=model_id,
            x=list(components),
            y=list(components.values()),
            marker_color=PALETTE[i % len(PALETTE)],
        )
    figure.add_hline(y=1.0, line_dash="dot", annotation_text="as varied as the reference")
    figure.update_layout(
        title="Reach of each attribute (1 = as varied as n random US adults)",
        yaxis_title="reach ratio",
        barmode="group",
    )
    return figure_div(figure)


def _age_figure(models: dict[str, ModelCollapse]) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (model_id, m) in enumerate(models.items()):
        ages = m.ages
        if ages.measured:
            figure.add_histogram(
                x=ages.values,
                name=model_id,
                histnorm="probability density",
                xbins={"start": 0, "end": 110, "size": 5},
                opacity=0.6,
                marker_color=PALETTE[i % len(PALETTE)],
            )
    reference = next(iter(models.values())).ages.reference_density
    if reference:
        figure.add_scatter(
            x=reference.age, y=reference.density, name="US adults (SSA)", mode="lines"
        )
    figure.update_layout(
        title="Stated ages", xaxis_title="age", yaxis_title="density", barmode="overlay"
    )
    return figure_div(figure)


def _top_figure(
    models: dict[str, ModelCollapse], attribute: Callable[[ModelCollapse], Categorical], title: str
) -> Markup:
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(models), subplot_titles=safe_labels(models))
    for j, m in enumerate(models.values()):
        top = (attribute(m).top or [])[:8][::-1]
        if not top:
            figure.add_annotation(
                text="none stated",
                showarrow=False,
                xref=f"x{j + 1 if j else ''} domain",
                yref=f"y{j + 1 if j else ''} domain",
                x=0.5,
                y=0.5,
            )
            figure.update_xaxes(visible=False, row=1, col=j + 1)
            figure.update_yaxes(visible=False, row=1, col=j + 1)
            continue
        figure.add_bar(
            x=[t.share for t in top],
            y=safe_labels(t.value for t in top),
            orientation="h",
            marker_color=PALETTE[j % len(PALETTE)],
            showlegend=False,
            row=1,
            col=j + 1,
        )
    figure.update_layout(title=title)
    figure.update_xaxes(title_text="share of personas", tickformat=".0%")
    return figure_div(figure, height=320)


def _text_table(findings: CollapseFindings) -> Markup:
    matched = findings.matched_text
    panels = (
        matched.panels
        if matched.compared and matched.panels is not None
        else {k: v.text for k, v in findings.models.items()}
    )
    models = list(panels)
    rows = [
        [label, *(fmt_estimate(_metric(panels[m], name)) for m in models)]
        for name, label in TEXT_METRICS
        if any(_metric(panels[m], name) for m in models)
    ]
    caption = "Text diversity"
    if matched.compared and matched.matching is not None:
        record = matched.matching
        caption += (
            f" at matched n = {record.n} and length = {record.truncated_to_words} words "
            f"(seed {record.seed})"
        )
    return table(["metric", *models], rows, caption=caption)


def _trait_figure(
    findings: CollapseFindings, personas: dict[str, PersonaPoints]
) -> tuple[Markup, list]:
    """Self-report T-scores over the human cloud, in the human principal-component plane."""
    import plotly.graph_objects as go

    human = np.asarray(findings.human_reference.t_scores, dtype=float)
    mean = human.mean(axis=0)
    _, _, vt = np.linalg.svd(human - mean, full_matrices=False)
    axes = vt[:2].T
    coords = (human - mean) @ axes
    figure = go.Figure()
    figure.add_scatter(
        x=coords[:, 0],
        y=coords[:, 1],
        mode="markers",
        name=f"people (n={len(human)})",
        marker={"color": "#b9c2cc", "size": 4, "opacity": 0.5},
        hoverinfo="skip",
    )
    notes = []
    for i, (model_id, m) in enumerate(findings.models.items()):
        validity = m.self_report.validity
        if validity.verdict not in ("valid", "weak"):
            kind = "invalid" if validity.verdict == "invalid" else "warning"
            notes.append(note(f"{model_id}: self-report not shown — {validity.summary}", kind))
            continue
        t = np.asarray(personas[model_id].self_report_t, dtype=float)
        keep = np.all(np.isfinite(t), axis=1)
        xy = (t[keep] - mean) @ axes
        texts = [x for x, k in zip(personas[model_id].texts, keep, strict=True) if k]
        figure.add_scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            name=f"{model_id} ({validity.verdict})",
            marker={"color": PALETTE[i % len(PALETTE)], "size": 9},
            hovertext=safe_hover(texts),
            hoverinfo="text",
        )
    loadings = ", ".join(
        f"PC{k + 1}: " + " ".join(f"{d}{axes[j, k]:+.2f}" for j, d in enumerate(findings.domains))
        for k in range(2)
    )
    figure.update_layout(
        title="Self-report Big Five (T-scores) in the plane of the human principal components",
        xaxis_title="PC1",
        yaxis_title="PC2",
    )
    return figure_div(figure, height=460), [paragraph(f"Loadings: {loadings}."), *notes]


def _text_trait_figure(findings: CollapseFindings, personas: dict[str, PersonaPoints]) -> Markup:
    """Box plots per domain of the anchor projection's traits, z-scored over all models'
    personas."""
    import plotly.graph_objects as go

    domains = findings.domains
    pooled = np.vstack([np.asarray(p.anchor, dtype=float) for p in personas.values()])
    mu, sd = np.nanmean(pooled, axis=0), np.nanstd(pooled, axis=0)
    sd[sd == 0] = 1.0
    figure = go.Figure()
    for i, (model_id, points) in enumerate(personas.items()):
        z = (np.asarray(points.anchor, dtype=float) - mu) / sd
        xs, ys, hover = [], [], []
        for j, domain in enumerate(domains):
            for p, value in enumerate(z[:, j]):
                if np.isfinite(value):
                    xs.append(domain)
                    ys.append(float(value))
                    hover.append(points.texts[p])
        figure.add_box(
            x=xs,
            y=ys,
            name=model_id,
            boxpoints="all",
            jitter=0.4,
            marker_color=PALETTE[i % len(PALETTE)],
            hovertext=safe_hover(hover),
            hoverinfo="text",
        )
    figure.update_layout(
        title="Text-based traits (anchor projection), z-scored over all personas",
        yaxis_title="z",
        boxmode="group",
    )
    return figure_div(figure)


def _text_trait_table(
    models: dict[str, ModelCollapse], measure: Callable[[ModelCollapse], TextTraits]
) -> Markup:
    rows = []
    for model_id, m in models.items():
        for domain, d in measure(m).domains.items():
            sd = fmt(d.sd) if d.verdict != "invalid" else "not shown (invalid)"
            rows.append([model_id, domain, d.n, sd, d.verdict, d.reason])
    method = measure(next(iter(models.values()))).method
    return table(["model", "domain", "n", "SD", "verdict", "reason"], rows, caption=method)


def render(findings: CollapseFindings) -> Section:
    personas, provenance, models = findings.personas, findings.provenance, findings.models
    section = Section(
        "collapse",
        "Collapse: how varied are the personas each model writes?",
        intro=(
            f"{findings.n_requested} personas per model from the naive prompt, every "
            "model asked for the same fields (name, age, gender, occupation, three adjectives, a "
            "description), sampled at temperature 1 with one seed each."
        ),
    )
    if not models:
        section.blocks.append(note("No collapse findings are stored.", "warning"))
        return section
    index_rows = [
        [
            model_id,
            fmt_estimate(m.collapse.index) if m.collapse.measured else "not measured",
            ", ".join(f"{k} {v:.2f}" for k, v in (m.collapse.components or {}).items()),
            _self_report(m),
        ]
        for model_id, m in models.items()
    ]
    section.blocks += [
        paragraph(
            "The collapse index is 1 minus the geometric mean of each attribute's reach — how "
            "much of a reference population's variety the personas cover at the same n (first "
            "names, ages and occupations' SOC major groups: distinct values over those expected "
            "among n random US adults or jobs; genders, read onto female / male / non-binary / "
            "other: entropy over the reference entropy; self-report traits: coverage of the "
            "human trait space over the coverage of n random people, only when the self-report "
            "measurement is valid). Copies of a few personas reach no more than those few. "
            "0 = as varied as the reference; 1 = a single persona. See docs/collapse.md."
        ),
        table(
            ["model", "collapse index [95% CI]", "reach by attribute", "self-report"], index_rows
        ),
        _index_figure(models),
        heading("Attributes"),
        _attribute_table(models),
        _age_figure(models),
        _top_figure(models, lambda m: m.names, "Most frequent first names"),
        _top_figure(models, lambda m: m.occupations, "Most frequent occupations"),
        _top_figure(models, lambda m: m.adjectives, "Most frequent personality adjectives"),
        heading("Text diversity"),
        _text_table(findings),
        heading("Generation"),
        table(
            ["model", "mean per-token entropy (nats)", "mean log-prob", "tokens", "stop / length"],
            [
                [
                    model_id,
                    fmt_estimate(m.generation.token_entropy),
                    fmt_estimate(m.generation.token_logprob),
                    fmt(m.generation.mean_tokens, 1),
                    f"{m.generation.finish_reasons.stop} / {m.generation.finish_reasons.length}",
                ]
                for model_id, m in models.items()
            ],
        ),
        heading("Big-Five trait space"),
    ]
    if personas:
        figure, notes = _trait_figure(findings, personas)
        section.blocks += [figure, *notes]
        section.blocks.append(_text_trait_table(models, lambda m: m.lexicon_traits))
        section.blocks.append(_text_trait_table(models, lambda m: m.anchor_traits))
        section.blocks.append(_text_trait_figure(findings, personas))
    for model_id, points in personas.items():
        section.blocks.append(details(f"Example personas: {model_id}", quote_list(points.texts)))
    if provenance is not None:
        section.blocks.append(
            details(
                "Collapse study provenance",
                table(
                    ["setting", "value"],
                    [[k, str(v)] for k, v in to_json(provenance).items()],
                ),
            )
        )
    for model_id, m in models.items():
        section.headline[model_id] = {
            "collapse index": fmt_estimate(m.collapse.index)
            if m.collapse.measured
            else "not measured",
            "self-report validity": m.self_report.validity.verdict,
        }
    return section
