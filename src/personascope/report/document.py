"""Assemble the report: verdict table, one section per study, provenance.

The document is one HTML file with its CSS and plotly.js inline: it opens offline and
fetches nothing. Everything is rebuilt from the run store, without loading a model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from personascope.claims import ClaimRow, evaluate
from personascope.defaults import DEFAULT_ALIGNED_MODEL, DEFAULT_BASE_MODEL
from personascope.errors import PersonascopeError
from personascope.findings import FINDINGS_KEY, Findings
from personascope.outputs import write_text_atomic
from personascope.report.blocks import Section, fmt, table, visible
from personascope.report.claims import claims_table
from personascope.report.figures import plotly_js
from personascope.report.sections import order, renderer
from personascope.store import STORE_FILENAME, Store
from personascope.studies import findings_type

CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1.5rem; color: #1d2430; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #dde3ea; padding-bottom: .3rem;
     margin-top: 2.5rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem;
        display: block; max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #d5dbe3; padding: .3rem .55rem; text-align: left;
         vertical-align: top; }
th { background: #f1f4f8; } caption { text-align: left; font-weight: 600; padding: .3rem 0; }
.note { padding: .6rem .9rem; border-left: 4px solid #3b6fb6; background: #f3f7fc;
        margin: .8rem 0; }
.note.warning { border-color: #d9822b; background: #fdf6ee; }
.note.invalid { border-color: #b8474f; background: #fbeff0; }
td.status.supported { background: #e6f4ea; } td.status.contradicted { background: #fbeff0; }
td.status.inconclusive { background: #fdf6ee; } td.status.unmeasurable, td.status.notrun {
  color: #5b6675; }
.figure { margin: 1rem 0; } .muted { color: #5b6675; font-size: .85rem; }
pre { white-space: pre-wrap; margin: 0; font-size: .82rem; }
ul.quotes li { margin-bottom: .5rem; } details { margin: .6rem 0; }
"""

# Nothing may be fetched: scripts and styles are inline, images data: URLs.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:"
)

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>personascope audit</title><style>{{ css }}</style>
<script>{{ plotly }}</script></head>
<body>
<h1>personascope audit</h1>
<div class="muted">Built {{ built }} from {{ store_path }}.</div>
{% for text in family_notes %}<div class="note warning">{{ text }}</div>{% endfor %}
<h2 id="claims">Claims</h2>
<p class="muted">Which of the field's claims hold for these models (docs/claims.md): supported
or contradicted when the 95% interval lies on one side of the claim's threshold,
inconclusive when it spans it, not measurable when the measurement is missing or invalid.</p>
{{ claims }}
<h2>Verdict</h2>
{{ verdict }}
{% for section in sections %}
<section id="{{ section.study }}"><h2>{{ section.title }}</h2>
{% if section.intro %}<p>{{ section.intro }}</p>{% endif %}
{% for block in section.blocks %}{{ block }}{% endfor %}
</section>
{% endfor %}
<h2>Provenance</h2>
{% for block in provenance %}{{ block }}{% endfor %}
</body></html>
"""

FAMILY_NOTE = (
    "The default pair, {base} (base) and {aligned} (aligned), are different model families "
    "(Gemma 3 and SmolLM2): differences between them mix the effect of preference tuning with "
    "everything else that differs between the families, so they show correlation, not cause. "
    "For a matched pair, audit base and tuned checkpoints of one family, e.g. "
    "`personascope audit --model hf/allenai/OLMo-2-0425-1B --model hf/allenai/OLMo-2-0425-1B-DPO`, "
    "or use `personascope lab` to preference-tune the base model here."
)


def stored_findings(store: Store) -> dict[str, Findings]:
    """Each study's typed findings in the store, in report order (control characters of
    model text made visible, :func:`~personascope.report.blocks.visible`)."""
    stored = {study: visible(data) for (study, name), data in store.findings().items()
              if name == FINDINGS_KEY}  # fmt: skip
    return {study: findings_type(study).from_json(stored[study]) for study in order(set(stored))}


def _sections(findings: dict[str, Findings]) -> list[Section]:
    return [renderer(study)(data) for study, data in findings.items()]


def _verdict_cells(sections: list[Section]) -> dict[str, dict[str, str]]:
    """Model id -> verdict column -> cell text, gathered from the sections' headlines."""
    cells: dict[str, dict[str, str]] = {}
    for section in sections:
        for model_id, headline in section.headline.items():
            row = cells.setdefault(model_id, {})
            row.update({k: v for k, v in headline.items() if k not in row and v is not None})
    return cells


def _verdict(cells: dict[str, dict[str, str]]) -> Markup:
    columns: list[str] = []
    for row in cells.values():
        columns += [c for c in row if c not in columns]
    rows = [[model_id, *(row.get(c, "-") for c in columns)] for model_id, row in cells.items()]
    return table(["model", *columns], rows)


def _provenance(store: Store) -> list[Markup]:
    model_rows = []
    for key, info in visible(store.models()).items():
        model_rows.append(
            [
                info.get("model_id"),
                info.get("kind"),
                key.rpartition("@")[2][:16] or "-",
                f"{info.get('backend')} {info.get('backend_version')}",
                " > ".join(info.get("sampler_order") or []),
                json.dumps(
                    {
                        k: v
                        for k, v in (info.get("extra") or {}).items()
                        if k not in ("chat_template",)
                    }
                ),
            ]
        )
    run_rows = []
    for run in visible(store.runs()):
        info = run["info"]
        versions = info.get("versions", {})
        run_rows.append(
            [
                run["run_id"],
                run["command"],
                run["status"],
                fmt(info.get("elapsed_s")),
                ", ".join(f"{k} {v:.0f} s" for k, v in (info.get("study_seconds") or {}).items())
                or "-",
                info.get("executed"),
                info.get("cached"),
                ", ".join(f"{k} {v}" for k, v in versions.items()),
            ]
        )
    return [
        table(
            ["model", "kind", "file sha256 (start)", "backend", "sampler order", "settings"],
            model_rows,
            caption="Models",
        ),
        table(
            [
                "run",
                "command",
                "status",
                "seconds",
                "per study",
                "executed",
                "from store",
                "versions",
            ],
            run_rows,
            caption="Runs recorded in this folder",
        ),
    ]


@dataclass
class Report:
    """A built report: the document, the verdict table (model id -> column -> cell) and
    the claims table's rows, the last two as data for ``summary.json``."""

    html: str
    verdict: dict[str, dict[str, str]]
    claims: list[ClaimRow]


def model_kinds(store: Store) -> dict[str, str]:
    """Model id -> ``base`` or ``chat``, as each model said when it was loaded."""
    return {info["model_id"]: info.get("kind", "") for info in store.models().values()}


def build_html(store: Store) -> Report:
    """The report document built from the store alone."""
    findings = stored_findings(store)
    claim_rows = evaluate(findings, model_kinds(store))
    sections = _sections(findings)
    cells = _verdict_cells(sections)
    model_ids = {info.get("model_id") for info in store.models().values()}
    family_notes = []
    if {DEFAULT_BASE_MODEL, DEFAULT_ALIGNED_MODEL} <= model_ids:
        family_notes.append(
            FAMILY_NOTE.format(base=DEFAULT_BASE_MODEL, aligned=DEFAULT_ALIGNED_MODEL)
        )
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    html = env.from_string(TEMPLATE).render(
        csp=CSP,
        css=Markup(CSS),
        plotly=Markup(plotly_js()),
        built=time.strftime("%Y-%m-%d %H:%M:%S"),
        store_path=str(store.path),
        family_notes=family_notes,
        claims=claims_table(claim_rows),
        verdict=_verdict(cells),
        sections=sections,
        provenance=_provenance(store),
    )
    return Report(html, cells, claim_rows)


def write_report(run_dir: Path) -> tuple[Path, Report]:
    """Rebuild ``report.html`` in ``run_dir`` from its store (no model is loaded); return
    its path and the built report (its verdict and claims are what ``summary.json`` gives
    scripts)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        hint = ""
        if run_dir.name == STORE_FILENAME:
            hint = f" (the folder that holds it: {run_dir.parent})"
        raise PersonascopeError(f"{run_dir} is a file: give the run folder{hint}")
    with Store(run_dir, read_only=True) as store:
        report = build_html(store)
    return write_text_atomic(run_dir / "report.html", report.html), report
