"""Report section for the domains study: does tuning move diversity differently in code
and in creative writing?

Built only from the stored findings; model text goes through the escaping blocks.
"""

from __future__ import annotations

from typing import Any

from personascope.findings.domains import DomainsFindings
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
from personascope.report.figures import PALETTE, figure_div

DOMAINS = ("code", "creative")
LABELS = {
    "ead": "lexical (EAD)",
    "cosine": "semantic (cosine)",
    "syntactic": "syntactic (POS / AST n-grams)",
    "entropy": "token entropy (nats)",
    "distinct_classes": "distinct classes",
}


def _change_figure(models: dict[str, Any]) -> Markup:
    import plotly.graph_objects as go

    figure = go.Figure()
    tuned = [(m_id, m["change"]) for m_id, m in models.items() if "versus" in m.get("change", {})]
    for i, domain in enumerate(DOMAINS):
        xs, ys, lows, highs = [], [], [], []
        for model_id, change in tuned:
            for measure, label in LABELS.items():
                e = change[domain].get(measure) or {}
                if e.get("value") is None:
                    continue
                xs.append(f"{label}<br>{model_id}" if len(tuned) > 1 else label)
                ys.append(e["value"])
                lows.append(e["value"] - (e["low"] if e.get("low") is not None else e["value"]))
                highs.append((e["high"] if e.get("high") is not None else e["value"]) - e["value"])
        figure.add_bar(
            x=xs, y=ys, name=domain, marker={"color": PALETTE[i]},
            error_y={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows},
        )  # fmt: skip
    figure.update_layout(
        barmode="group",
        title="Tuned minus base, paired by prompt (95% interval): the claim predicts "
        "code below 0 and creative above 0",
        yaxis_title="change",
    )
    return figure_div(figure, height=380)


def _measure_rows(models: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for model_id, m in models.items():
        for domain in DOMAINS:
            measures = m["domains"][domain]["measures"]
            rows.append([model_id, domain, *(fmt_estimate(measures.get(k)) for k in LABELS)])
    return rows


def _change_rows(models: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for model_id, m in models.items():
        change = m.get("change") or {}
        if "versus" not in change:
            continue
        for domain in DOMAINS:
            rows.append(
                [f"{model_id} minus {change['versus']}", domain,
                 *(fmt_estimate(change[domain].get(k)) for k in LABELS)]
            )  # fmt: skip
        rows.append(["", "sign", *(change["sign"].get(k, "-") for k in LABELS)])
    return rows


def render(findings: DomainsFindings) -> Section:
    design, models = findings.design, findings.models
    measure = design.get("headline", "ead")
    section = Section(
        "domains",
        "Domains: does tuning cut diversity in code but not in creative writing?",
        intro=(
            f"{len(findings.prompts.get('code', []))} code and "
            f"{len(findings.prompts.get('creative', []))} creative prompts, "
            f"{design.get('samples')} seeded samples each, {design.get('max_tokens')} tokens "
            "at most. Per prompt, the diversity of its samples: lexical (EAD over orders "
            "1-4), semantic (mean pairwise cosine distance, "
            f"{findings.embedder}), syntactic (part-of-speech n-grams for prose, Python "
            "AST node-type n-grams for code), mean next-token entropy, and NoveltyBench's "
            "distinct classes (code: equal normalised AST; prose: cosine >= "
            f"{design.get('threshold')}). Values are means over prompts; a tuned model's "
            "change is paired by prompt against its base. Intervals: jackknife over "
            f"prompts, 95%. The claims table reads the {LABELS.get(measure, measure)} change."
        ),
    )
    if not models:
        section.blocks.append(paragraph("No domains results are stored."))
        return section
    for model_id, m in models.items():
        change = m.get("change") or {}
        if change.get("caveat"):
            section.blocks.append(note(f"{model_id}: {change['caveat']}.", "warning"))
        unparseable = m["domains"]["code"].get("unparseable") or {}
        if unparseable.get("count"):
            section.blocks.append(
                note(
                    f"{model_id}: {unparseable['count']} of {unparseable['of']} code samples "
                    f"do not parse as Python ({unparseable['handling']}).",
                    "warning",
                )
            )
    if any("versus" in (m.get("change") or {}) for m in models.values()):
        section.blocks.append(_change_figure(models))
        section.blocks.append(
            table(
                ["pair", "domain", *LABELS.values()],
                _change_rows(models),
                caption="Change, tuned minus base, paired by prompt [95% interval]",
            )
        )
    else:
        section.blocks.append(
            paragraph("No base/tuned pair ran: the change per domain is not measured.")
        )
    section.blocks.append(heading("Per-input diversity by domain"))
    section.blocks.append(
        table(
            ["model", "domain", *LABELS.values()],
            _measure_rows(models),
            caption="Mean over prompts [95% interval]",
        )
    )
    for model_id, m in models.items():
        for domain in DOMAINS:
            section.blocks.append(
                details(
                    f"Examples: {model_id}, {domain} (first prompt)",
                    quote_list(m["domains"][domain].get("examples", []), 10),
                )
            )
        change = m.get("change") or {}
        section.headline[model_id] = {
            f"{LABELS.get(measure, measure)}: code / creative": " / ".join(
                fmt(((m["domains"][d]["measures"].get(measure)) or {}).get("value"))
                for d in DOMAINS
            ),
            "change code / creative (tuned minus base)": " / ".join(
                fmt_estimate((change.get(d) or {}).get("headline")) for d in DOMAINS
            )
            if "versus" in change
            else "-",
        }
    return section
