"""The audit end to end: a tiny real audit of the embedded pair, its summary, the report
rebuilt from the store, and the HTML opened in headless Chromium with networking off."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from browser import chromium, visit
from escaping import assert_only_escaped, poisoned
from personascope.testing.clitools import one_error_line, run_cli

XSS = "<script>alert(1)</script>"
PERSONAS = [
    {"description": f"A night-shift nurse in Leeds who writes {XSS} in her diary."},
    {"description": "A retired welder from Ohio who restores motorbikes and distrusts banks."},
    {"description": "A nineteen-year-old chess streamer, sarcastic, anxious before exams."},
]
# Every study of the default battery, at the smallest size that still measures something.
TINY = {
    "quick": True,
    "collapse": {"n_personas": 6},
    "adoption": {"wordings": ["accuracy"], "ladder_levels": [1, 9], "n_boot": 100},
    "stability": {"paraphrases": 2, "seeds": 2, "max_tokens": 12, "n_draws": 500},
    "commitment": {"conversations": 2, "turns": 2, "continuations": 2, "answer_tokens": 12},
    "scaffold": {"strategies": ["naive", "layered"], "token_budget": 160, "max_targets": 1},
}


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    personas = root / "personas.jsonl"
    personas.write_text("".join(json.dumps(p) + "\n" for p in PERSONAS), encoding="utf-8")
    config = root / "audit.yaml"
    config.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    out = root / "run"
    done = run_cli(
        "audit", "--config", str(config), "--personas", str(personas), "--out", str(out),
        timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"report: {out / 'report.html'}" in done.stdout
    assert f"summary: {out / 'summary.json'}" in done.stdout
    return out


def test_summary_holds_every_study_and_model(audit_dir):
    summary = json.loads((audit_dir / "summary.json").read_text())
    assert set(summary["studies"]) == {
        "collapse",
        "adoption",
        "stability",
        "commitment",
        "scaffold",
    }
    assert set(summary["models"]) == {"llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct"}
    assert all(seconds > 0 for seconds in summary["study_seconds"].values())
    collapse = summary["studies"]["collapse"]
    for model_id in summary["models"]:
        index = collapse[model_id]["collapse_index"]
        if index is not None and index["low"] is not None:  # None: not measured, too few
            assert index["low"] <= index["value"] <= index["high"]


def test_report_rebuilds_from_the_store_alone(audit_dir, tmp_path):
    first = (audit_dir / "report.html").read_text()
    rebuilt = run_cli("report", str(audit_dir))
    assert rebuilt.returncode == 0, rebuilt.stderr
    second = (audit_dir / "report.html").read_text()
    built = re.compile(r"Built [^<]* from")
    assert built.sub("", first) == built.sub("", second)


def test_report_of_a_folder_without_a_store_is_one_error_line(tmp_path):
    done = run_cli("report", str(tmp_path / "nothing"))
    assert done.returncode == 1
    assert "nothing" in one_error_line(done.stderr)


def test_verdict_table_has_a_row_per_model(audit_dir):
    html = (audit_dir / "report.html").read_text()
    verdict = html.split("<h2>Verdict</h2>", 1)[1].split("</table>", 1)[0]
    for model_id in ("llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct"):
        assert f"<td>{model_id}</td>" in verdict
    for column in ("collapse index", "persona share of variance", "adoption"):
        assert column in verdict, column


def test_untrusted_text_is_escaped_in_the_html(audit_dir):
    html = (audit_dir / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html


@pytest.mark.skipif(chromium() is None, reason="Debian chromium is not installed")
def test_report_renders_offline_in_a_real_browser(audit_dir):
    page = visit(audit_dir / "report.html", audit_dir / "report.png")
    assert page.fetched == [], page.fetched
    errors = [line for line in page.console if "error" in line.lower()]
    assert errors == [], errors
    figures = page.dom.split('<div class="figure">')[1:]
    assert len(figures) >= 8
    # a figure plotly drew holds its SVG layers; one that failed to draw holds none
    assert all('class="main-svg"' in figure for figure in figures)
    assert "alert(1)" in page.dom  # shown as text ...
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page.dom, flags=re.S)
    assert not any("alert(1)" in body for body in scripts)  # ... and never as a script
    assert (audit_dir / "report.png").stat().st_size > 20_000


# --- escaping: planted markup in every stored name, text and model id ------------------


@pytest.mark.parametrize("study", ["collapse", "adoption", "stability", "commitment", "scaffold"])
def test_planted_markup_in_stored_findings_is_escaped(audit_dir, study):
    from personascope.report.sections import render_json
    from personascope.store import Store

    with Store(audit_dir, read_only=True) as store:
        stored = store.findings(study)[(study, "findings")]
        model_ids = [m["model_id"] for m in store.models().values() if m.get("model_id")]
    assert stored and model_ids
    section = render_json(study, poisoned(stored, model_ids))
    html = "".join(str(b) for b in section.blocks)
    assert_only_escaped(html)
