"""Report section for the collapse study."""

from __future__ import annotations

from typing import Any

from personascope.report.blocks import Section, table


def render(findings: dict[str, Any]) -> Section:
    summary = findings.get("summary", {})
    models = summary.get("models", {})
    rows = [
        [model_id, m["kind"], m["count"], m["mean_length_words"], m["distinct_2"]]
        for model_id, m in models.items()
    ]
    section = Section(
        "collapse",
        "Collapse: how varied are the personas each model writes?",
        intro=(
            f"{summary.get('n_requested', 0)} personas per model from the naive prompt "
            "(describe a person), sampled at temperature 1 with one seed each."
        ),
        blocks=[table(["model", "kind", "personas", "mean words", "distinct-2"], rows)],
    )
    for model_id, m in models.items():
        section.headline[model_id] = {"distinct-2 of personas": f"{m['distinct_2']:.3f}"}
    return section
