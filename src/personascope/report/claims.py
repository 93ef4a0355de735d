"""The claims table at the top of the report (:mod:`personascope.claims`)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from personascope.claims import ClaimRow
from personascope.report.blocks import fmt_estimate

STATUS_CLASS = {
    "supported": "supported",
    "contradicted": "contradicted",
    "inconclusive": "inconclusive",
    "not measurable": "unmeasurable",
    "not run": "notrun",
}


def _evidence(row: ClaimRow) -> Markup:
    parts = [
        Markup("{} [{} {} {} = {}]").format(
            fmt_estimate(e),
            e["path"],
            "<" if e["side"] == "below" else ">",
            e["threshold"],
            f"{e['threshold_value']:g}",
        )
        for e in row.estimates
    ]
    return Markup("<br>").join(parts) if parts else Markup("-")


def claims_table(rows: Sequence[ClaimRow]) -> Markup:
    """One row per claim and model (or pair): status, estimate vs threshold, reason."""
    body = [
        Markup(
            '<tr><td>{}</td><td>{}</td><td class="status {}">{}</td><td>{}</td><td>{}</td>'
            '<td>{}</td><td><a href="#{}">{}</a></td></tr>'
        ).format(
            row.number,
            row.claim,
            STATUS_CLASS[row.status],
            row.status,
            row.models,
            _evidence(row),
            "; ".join(t for t in (row.reason, row.caveat) if t) or "-",
            row.study,
            row.study,
        )
        for row in rows
    ]
    head = Markup(
        "<tr><th>#</th><th>claim</th><th>status</th><th>models</th>"
        "<th>estimate [95% CI] vs threshold</th><th>reason, caveat</th><th>study</th></tr>"
    )
    return Markup('<table class="claims">{}{}</table>').format(head, Markup("").join(body))
