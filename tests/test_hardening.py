"""Hostile and broken input (issue 19): every command that reads a user file answers with
one ``error:`` line and exit 1, never a traceback; outputs are never written through a
planted symlink; model text cannot become markup or hide itself in the report.

Each item runs the real command in a subprocess on the bad input. No model is loaded:
stores are planted through :class:`Store`, and the commands fail before a model would run.
"""

from __future__ import annotations

import html
import json
import os
import re
import time

import numpy as np
import pytest

from personascope.errors import PersonascopeError
from personascope.findings import FINDINGS_KEY
from personascope.store import ResultRow, Store
from personascope.testing.clitools import one_error_line, run_cli
from planted_scaffold import MODEL_NAME, run_planted_scaffold

DEEP = "[" * 200_000 + "]" * 200_000
PERSONA = {"id": "p1", "description": "A retired sailor who repairs clocks."}
MODEL = "llamacpp/smollm2-135m-instruct"


def failed(done) -> str:
    """The single error line of a command that must fail with exit 1."""
    assert done.returncode == 1, (done.returncode, done.stderr)
    return one_error_line(done.stderr)


def ipip_header() -> str:
    from personascope.instruments.inventory import load_inventory

    return ",".join(load_inventory("mini_ipip").item_ids)


# --- 1. deeply nested JSON ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["diversity", "audit", "score"])
def test_deeply_nested_json_is_a_one_line_error(tmp_path, command):
    deep = tmp_path / ("deep.json" if command == "score" else "deep.jsonl")
    deep.write_text(DEEP + "\n")
    args = {
        "diversity": ["diversity", str(deep), "--no-semantic", "--no-syntax"],
        "audit": ["audit", "--personas", str(deep), "--out", str(tmp_path / "run")],
        "score": ["score", str(tmp_path / "a.csv"), "--inventory", str(deep)],
    }[command]
    line = failed(run_cli(*args))
    assert str(deep) in line and "nested too deeply" in line


def test_nesting_just_under_the_limit_still_reads(tmp_path):
    from personascope.personas.io import read_personas
    from personascope.safejson import MAX_DEPTH

    # the record is 1 level, attributes 2: a value nested to MAX_DEPTH in all is accepted
    record = {**PERSONA, "extra": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert read_personas(path)[0].description == PERSONA["description"]
    record["extra"] = [record["extra"]]
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(PersonascopeError, match="nested too deeply"):
        read_personas(path)


# --- 2. digits that str.isdigit accepts and int rejects ------------------------------------


@pytest.mark.parametrize("cell", ["²", "٣", "3" * 5000])
def test_an_answer_that_is_not_an_ascii_number_is_a_one_line_error(tmp_path, cell):
    table = tmp_path / "answers.csv"
    n_items = len(ipip_header().split(","))
    table.write_text(ipip_header() + "\n" + ",".join([cell] * n_items) + "\n", encoding="utf-8")
    line = failed(run_cli("score", str(table), "--inventory", "mini_ipip"))
    assert f"{table}:2:" in line and "is not an answer 1-5" in line


# --- 3. a config that is not UTF-8 ----------------------------------------------------------


@pytest.mark.parametrize("command", ["audit", "generate"])
def test_a_config_that_is_not_utf8_is_a_one_line_error(tmp_path, command):
    config = tmp_path / "settings.yaml"
    config.write_bytes(b"seed: 1\n# caf\xe9\n")  # Latin-1
    args = ["--config", str(config)]
    if command == "generate":
        args += ["--strategy", "naive", "--out-dir", str(tmp_path / "run")]
    line = failed(run_cli(command, *args))
    assert str(config) in line and "not UTF-8" in line and "byte 13" in line


def config_args(command: str, config, folder) -> list[str]:
    """``audit`` or ``generate`` with ``config``; a config that is accepted ends, before
    any model runs, in an error that is not about the file (an unknown fake model, an
    unknown executor)."""
    if command == "audit":
        return ["audit", "--config", str(config), "-m", "fake/unregistered", "--out", str(folder)]
    args = ["--strategy", "naive", "--config", str(config), "--out-dir", str(folder)]
    return ["generate", *args, "--executor", "none"]


@pytest.mark.parametrize("command", ["audit", "generate"])
@pytest.mark.parametrize(("content", "kind"), [("[]", "list"), ("5", "int"), ("[[1]]", "list")])
def test_a_config_that_is_not_a_mapping_is_a_one_line_error(tmp_path, command, content, kind):
    config = tmp_path / "settings.yaml"
    config.write_text(content + "\n")
    line = failed(run_cli(*config_args(command, config, tmp_path / "run"), cwd=tmp_path))
    assert line == f"error: {config}: expected a mapping of settings, got {kind}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["audit", "generate"])
@pytest.mark.parametrize("content", ["", "# only a comment\n"])
def test_an_empty_config_means_all_defaults(tmp_path, command, content):
    config = tmp_path / "settings.yaml"
    config.write_text(content)
    line = failed(run_cli(*config_args(command, config, tmp_path / "run"), cwd=tmp_path))
    assert str(config) not in line
    assert ("unknown fake model" if command == "audit" else "unknown executor") in line


# --- 4. an output folder that is a file -----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["sample", MODEL, "-p", "x", "--run-dir", "{file}"],
        ["audit", "--studies", "collapse", "--out", "{file}"],
        ["generate", "--strategy", "naive", "-n", "1", "--out-dir", "{file}"],
    ],
    ids=["sample", "audit", "generate"],
)
def test_an_output_folder_that_is_a_file_is_a_one_line_error(tmp_path, args):
    planted = tmp_path / "taken"
    planted.write_text("someone's file\n")
    line = failed(run_cli(*(a.format(file=planted) for a in args), cwd=tmp_path))
    assert f"the run folder {planted} exists and is not a folder" in line
    assert planted.read_text() == "someone's file\n"


def test_sample_refuses_an_output_file_that_is_a_folder_before_running(tmp_path):
    folder = tmp_path / "out.jsonl"
    folder.mkdir()
    started = time.monotonic()
    line = failed(
        run_cli("sample", MODEL, "-p", "x", "-o", str(folder), "--run-dir", str(tmp_path / "r"))
    )
    assert f"cannot write {folder}: it is a folder" in line
    assert not (tmp_path / "r").exists()  # no run was started
    assert time.monotonic() - started < 60


# --- 5. a store damaged while or before it is read ------------------------------------------


def planted_store(folder, n: int = 400) -> None:
    """A run folder whose store holds ``n`` results and one run."""
    with Store(folder) as store:
        run_id = store.start_run("personascope sample", {})
        rows = [
            ResultRow(f"h{i:05d}", "generate", "m@1", {"i": i}, {"text": "x" * 200}, run_id, 0.1)
            for i in range(n)
        ]
        store.put_results(rows)
        store.finish_run(run_id, "finished", {})


@pytest.mark.parametrize("command", ["report", "sample"])
def test_a_truncated_store_is_a_one_line_error(tmp_path, command):
    run = tmp_path / "run"
    planted_store(run)
    store_file = run / "store.duckdb"
    os.truncate(store_file, store_file.stat().st_size // 2)
    if command == "report":
        done = run_cli("report", str(run))
    else:
        done = run_cli("sample", MODEL, "-p", "x", "--run-dir", str(run), cwd=tmp_path)
    line = failed(done)
    assert str(store_file) in line


def test_a_store_damaged_after_it_opened_fails_in_its_queries(tmp_path):
    import duckdb

    planted_store(tmp_path, n=2000)
    store_file = tmp_path / "store.duckdb"
    with Store(tmp_path, read_only=True) as store:
        os.truncate(store_file, store_file.stat().st_size // 2)
        with pytest.raises(PersonascopeError, match=r"the run store .* failed") as caught:
            store.get_results([f"h{i:05d}" for i in range(2000)])
    assert isinstance(caught.value.__cause__, duckdb.Error)
    assert str(store_file) in str(caught.value)


# --- 6. the store file instead of the run folder --------------------------------------------


def test_report_on_the_store_file_names_the_folder(tmp_path):
    run = tmp_path / "run"
    planted_store(run, n=1)
    line = failed(run_cli("report", str(run / "store.duckdb")))
    assert f"{run / 'store.duckdb'} is a file: give the run folder" in line
    assert f"(the folder that holds it: {run})" in line


# --- 7. non-finite sampler values -----------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--temperature", "nan"), ("--temperature", "inf"), ("--top-p", "nan"), ("--min-p", "nan")],
)
def test_non_finite_sampler_values_are_rejected(tmp_path, option, value):
    line = failed(
        run_cli("sample", MODEL, "-p", "x", option, value, "--run-dir", str(tmp_path / "r"))
    )
    assert option.removeprefix("--").replace("-", "_") in line and "finite" in line
    assert not (tmp_path / "r").exists()


def test_a_non_finite_sampler_value_in_a_strategy_config_is_a_config_error(tmp_path):
    config = tmp_path / "verbalized.yaml"
    config.write_text("sampler:\n  temperature: .inf\n")
    args = ["--strategy", "verbalized", "--config", str(config), "--executor", "none"]
    line = failed(run_cli("generate", *args, cwd=tmp_path))
    assert f"{config}: sampler.temperature" in line


# --- 8. a study section's values are checked before the run starts ---------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("commitment: {temperature: .nan}", "commitment setting temperature must be a finite"),
        ("stability: {temperature: -1}", "stability setting temperature: temperature must be >= 0"),
        ("register: {temperature: 0.5, max_tokens: 0}", "register setting max_tokens: max_tokens"),
        ("pressure: {reply_tokens: 0}", "pressure setting reply_tokens: max_tokens must be >= 1"),
        ("domains: {threshold: .inf}", "domains setting threshold must be a finite number"),
    ],
)
def test_a_bad_sampler_value_in_a_study_section_fails_before_the_run(tmp_path, section, message):
    config = tmp_path / "audit.yaml"
    config.write_text(section + "\n")
    run = tmp_path / "run"
    args = ["--config", str(config), "-m", "fake/echo", "--quick", "--out", str(run)]
    line = failed(run_cli("audit", *args, cwd=tmp_path))
    assert message in line
    assert not run.exists()  # no run folder, no store


# --- 9. markup in model ids and strategy names reaches Plotly escaped ------------------------

MARKUP_MODEL = '<a href="https://example.com/x">m</a>'
MARKUP_STRATEGY = "<b>bold</b>"


@pytest.fixture(scope="module")
def planted_findings(tmp_path_factory) -> dict:
    """The planted scaffold run's findings (tests/planted_scaffold.py)."""
    return run_planted_scaffold(tmp_path_factory.mktemp("scaffold-planted"))


def with_markup(findings: dict) -> dict:
    """The findings with markup as the model id (and judge), a strategy name and the
    diversity metric's name, keys and values alike (the metric also inside the axis
    title)."""
    text = json.dumps(findings)
    for plain, markup in (
        (f"fake/{MODEL_NAME}", MARKUP_MODEL),
        ("naive", MARKUP_STRATEGY),
        ("distinct_2", "<i>metric</i>"),
    ):
        text = text.replace(json.dumps(plain)[1:-1], json.dumps(markup)[1:-1])
    return json.loads(text)


def figure_data(page: str) -> list[dict]:
    """The data and layout of every Plotly figure in a report page."""
    decoder = json.JSONDecoder()
    figures = []
    for call in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", page):
        data, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, re.compile(r",\s*").match(page, end).end())
        figures.append({"data": data, "layout": layout})
    return figures


def test_markup_in_labels_reaches_plotly_escaped(tmp_path, planted_findings):
    with Store(tmp_path) as store:
        store.put_finding("scaffold", FINDINGS_KEY, with_markup(planted_findings))
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    figures = figure_data(page)
    assert len(figures) == 1
    trace = figures[0]["data"][0]
    assert html.escape(MARKUP_STRATEGY) in trace["text"]
    layout = figures[0]["layout"]
    assert "&lt;i&gt;metric&lt;/i&gt;" in layout["xaxis"]["title"]["text"]
    # nothing in the document body carries the markup raw (tables escape too; the head
    # holds plotly.js itself)
    body = page.split("</head>", 1)[1]
    assert "<b>bold" not in body and "<i>metric" not in body
    assert MARKUP_MODEL not in body  # (the report's own links, e.g. the claims table's, stay)


def test_every_label_field_is_escaped_once():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from personascope.report.figures import escape_labels, safe_hover, safe_labels

    figure = make_subplots(rows=1, cols=2, subplot_titles=safe_labels(["<b>a</b>", "b & c"]))
    figure.add_trace(
        go.Bar(
            x=[1.0, 2.0],
            y=safe_labels(["<i>x</i>", "y"]),
            name="<b>n</b>",
            legendgroup="<b>g</b>",
            text=["<sup>t</sup>", "u"],
            hovertext=safe_hover(["<b>h</b> one two"]),
            orientation="h",
        ),
        row=1,
        col=1,
    )
    figure.add_scatter(x=np.array(["<b>c</b>", "d"]), y=np.array([1.0, 2.0]), row=1, col=2)
    figure.update_layout(title="<a href='x'>t</a>")
    figure.update_xaxes(title_text="<b>axis</b>")
    escape_labels(figure)
    trace = figure.data[0]
    assert trace.name == "&lt;b&gt;n&lt;/b&gt;"
    assert trace.legendgroup == "&lt;b&gt;g&lt;/b&gt;"
    assert list(trace.text) == ["&lt;sup&gt;t&lt;/sup&gt;", "u"]
    assert list(trace.y) == ["&lt;i&gt;x&lt;/i&gt;", "y"]
    assert list(trace.x) == [1.0, 2.0]  # numbers untouched
    assert list(trace.hovertext) == ["&lt;b&gt;h&lt;/b&gt; one two"]  # escaped once, by safe_hover
    assert list(figure.data[1].x) == ["&lt;b&gt;c&lt;/b&gt;", "d"]  # numpy category values
    assert list(figure.data[1].y) == [1.0, 2.0]
    assert [a.text for a in figure.layout.annotations] == ["&lt;b&gt;a&lt;/b&gt;", "b &amp; c"]
    assert figure.layout.title.text == "&lt;a href=&#39;x&#39;&gt;t&lt;/a&gt;"
    assert figure.layout.xaxis.title.text == "&lt;b&gt;axis&lt;/b&gt;"


# --- 10. outputs are replaced, never written through a symlink -------------------------------


def test_report_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    run = tmp_path / "run"
    planted_store(run, n=1)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run / "report.html").symlink_to(victim)
    done = run_cli("report", str(run))
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious\n"
    report = run / "report.html"
    assert not report.is_symlink() and report.read_text().startswith("<!DOCTYPE html>")
    assert report.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_atomic_writer_replaces_a_link_and_refuses_a_folder(tmp_path):
    from personascope.outputs import write_text_atomic

    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    link = tmp_path / "summary.json"
    link.symlink_to(victim)
    write_text_atomic(link, '{"new": 1}')
    assert victim.read_text() == "{}" and json.loads(link.read_text()) == {"new": 1}
    with pytest.raises(PersonascopeError, match="it is a folder"):
        write_text_atomic(tmp_path, "x")


# --- also: stale runs, silent servers, the model list, invisible characters -----------------


def test_a_killed_run_is_marked_interrupted_when_the_store_is_next_opened(tmp_path):
    with Store(tmp_path) as store:
        killed = store.start_run("personascope audit", {})  # never finished: killed
    with Store(tmp_path, read_only=True) as store:
        assert [r["status"] for r in store.runs()] == ["running"]  # reading changes nothing
    with Store(tmp_path) as store:
        current = store.start_run("personascope audit", {})
        status = {r["run_id"]: r["status"] for r in store.runs()}
    assert status == {killed: "interrupted", current: "running"}


def test_a_server_that_accepts_but_never_answers_fails_on_the_first_timeout(tmp_path):
    from personascope.testing.servers import silent_port

    with silent_port() as port:
        started = time.monotonic()
        done = run_cli(
            "sample",
            "openai-api/x",
            "-p",
            "x",
            "-n",
            "1",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "-O",
            "timeout=1",
            "--run-dir",
            str(tmp_path / "r"),
            "-o",
            str(tmp_path / "s.jsonl"),
        )
        elapsed = time.monotonic() - started
    line = failed(done)
    assert "timed out after 1 s on the first request" in line and "-O timeout=SECONDS" in line
    assert elapsed < 30  # not max_retries + 1 = 5 timeouts


def test_models_lists_full_ids_when_piped_and_as_json(tmp_path):
    lab_home = tmp_path / "lab"
    lab_home.mkdir()
    name = "gemma3-270m-dpo-a-rather-long-checkpoint-name-step-0040"
    entry = {
        "name": name,
        "base": "gemma3-270m",
        "base_sha256": "0" * 64,
        "adapter_dir": str(tmp_path / "gone"),
        "adapter_sha256": "1" * 64,
        "step": 40,
        "tag": "typicality",
    }
    (lab_home / "registry.json").write_text(json.dumps({"checkpoints": {name: entry}}))
    env = {"PERSONASCOPE_LAB_HOME": str(lab_home)}
    piped = run_cli("models", "--no-check", env=env)
    assert piped.returncode == 0, piped.stderr
    ids = [line.split("\t")[0] for line in piped.stdout.splitlines()]
    assert {"llamacpp/smollm2-135m-instruct", f"lab/{name}", "vllm/..."} <= set(ids)
    listed = run_cli("models", "--no-check", "--json", env=env)
    rows = {row["model_id"]: row for row in json.loads(listed.stdout)}
    assert rows[f"lab/{name}"]["installed"].startswith("no: lab/")  # its adapter is gone
    assert rows["llamacpp/gemma3-270m"]["kind"] == "base"


def test_control_and_bidi_characters_from_model_text_are_shown_escaped(tmp_path, planted_findings):
    hidden = "evil\x00text \u202eesrever\u202c end"
    findings = with_markup(planted_findings)
    findings["table"]["model_id"] = hidden
    with Store(tmp_path) as store:
        store.put_finding("scaffold", FINDINGS_KEY, findings)
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in page and "\u202e" not in page and "\u202c" not in page
    assert r"evil\x00text \u202eesrever\u202c end" in page
