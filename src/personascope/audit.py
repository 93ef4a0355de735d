"""Running studies from Python: the audit, one study, and reopening a finished run.

``run_audit`` is what ``personascope audit`` does, as a function::

    import personascope as ps
    result = ps.run_audit(["llamacpp/smollm2-135m-instruct"], studies=["adoption"], quick=True)
    result.frame("adoption")        # tidy DataFrame: model, study, measure, value, low, high, n
    result.report_path              # the self-contained HTML report

``load_run(path)`` gives the same :class:`AuditResult` for a run folder written earlier
(from its store alone, no model loaded). :class:`RunSession` holds the store, the run
record and the runner of one command; every command that runs a model opens one.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from personascope import __version__
from personascope.audit_config import load_audit_config, validate_sections
from personascope.claims import ClaimRow
from personascope.defaults import DEFAULT_ALIGNED_MODEL, DEFAULT_BASE_MODEL
from personascope.errors import PersonascopeError
from personascope.findings import Findings
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.outputs import output_dir, write_text_atomic
from personascope.runner import Executor, Runner
from personascope.store import Store
from personascope.studies import get_study, parse_studies
from personascope.studies.base import StudyContext, run_study

DEFAULT_RUNS = Path("personascope-runs")
CLAIM_COLUMNS = ("number", "claim", "study", "status", "models", "measure", "value", "low",
                 "high", "side", "threshold", "reason", "caveat")  # fmt: skip
FRAME_COLUMNS = ("model", "study", "measure", "value", "low", "high", "n", "method")

_VERSIONED = (
    "personascope",
    "llama-cpp-python",
    "numpy",
    "duckdb",
    "torch",
    "transformers",
    "sentence-transformers",
    "spacy",
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class RunSession:
    """A store, a run record and a runner for one command; closes them in order."""

    def __init__(
        self,
        out_dir: Path,
        command: str,
        progress: bool = True,
        executor: Executor | None = None,
    ) -> None:
        self.out_dir = output_dir(out_dir, "run folder")
        self.store = Store(out_dir)
        self.run_id = self.store.start_run(command, {"versions": package_versions()})
        self.runner = Runner(self.store, self.run_id, executor=executor, progress=progress)
        self.started = time.time()
        self.study_seconds: dict[str, float] = {}

    def close(self, status: str) -> None:
        info = {
            "versions": package_versions(),
            "elapsed_s": round(time.time() - self.started, 3),
            "executed": self.runner.executed,
            "cached": self.runner.cached,
            "study_seconds": self.study_seconds,
        }
        try:
            self.store.finish_run(self.run_id, status, info)
        finally:
            self.runner.executor.close()
            self.store.close()

    def __enter__(self) -> RunSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted")
            print(
                f"interrupted: finished batches are stored in {self.out_dir}; "
                "run the same command again to resume",
                file=sys.stderr,
            )
        else:
            self.close("failed")


@dataclass
class AuditResult:
    """A finished audit: typed findings per study, ``summary.json``'s content, the report."""

    out_dir: Path
    findings: dict[str, Findings]
    summary: dict[str, Any]
    report_path: Path | None
    claim_rows: list[ClaimRow]

    def frame(self, study: str | None = None) -> pd.DataFrame:
        """Every estimate as a tidy DataFrame (one row per model and measure): columns
        model, study, measure, value, low, high, n, method; one study or all of them."""
        if study is not None and study not in self.findings:
            raise PersonascopeError(
                f"no findings for study {study!r} in {self.out_dir}; "
                f"stored: {', '.join(self.findings) or 'none'}"
            )
        names = [study] if study is not None else list(self.findings)
        rows = [
            (model, name, measure, e.get("value"), e.get("low"), e.get("high"), e.get("n"),
             e.get("method"))
            for name in names
            for model, measure, e in self.findings[name].estimate_rows()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

    def claims(self) -> pd.DataFrame:
        """The claims table (docs/claims.md), one row per claim, model (or pair) and
        measure: number, claim, study, status, models, measure, value, low, high, side,
        threshold, reason, caveat."""
        rows = []
        for row in self.claim_rows:
            head = (row.number, row.claim, row.study, row.status, row.models)
            tail = (row.reason, row.caveat)
            rows += [
                (*head, e["path"], e["value"], e["low"], e["high"], e["side"],
                 e["threshold_value"], *tail)
                for e in row.estimates
            ] or [(*head, None, None, None, None, None, None, *tail)]  # fmt: skip
        return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def _command_line() -> str:
    return " ".join(["personascope", *sys.argv[1:]]) if sys.argv[1:] else "personascope (python)"


def run_audit(
    models: Sequence[str] | None = None,
    studies: Sequence[str] | str | None = None,
    out: Path | str = DEFAULT_RUNS / "audit",
    quick: bool = False,
    config: Path | str | None = None,
    seed: int | None = None,
    personas: Path | str | None = None,
    model_options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> AuditResult:
    """Run the audit battery (or ``studies``) on ``models`` (default: the embedded pair)
    and write ``report.html`` and ``summary.json`` into ``out``. ``config`` is an
    ``audit.yaml``; ``settings`` maps a study to settings over the file's section
    (arguments given here win over the file). Every setting is validated before any
    model runs; running again resumes from the store."""
    from personascope.personas.io import read_personas
    from personascope.report.document import write_report

    file = load_audit_config(Path(config) if config is not None else None)
    wanted = studies if isinstance(studies, str) else ",".join(studies or ())
    names = parse_studies(wanted or ",".join(file.options.studies or []))
    quick = quick or bool(file.options.quick)
    seed = seed if seed is not None else (file.options.seed or 0)
    sections = {name: {**file.sections.get(name, {}), **(settings or {}).get(name, {})}
                for name in {*file.sections, *(settings or {})}}  # fmt: skip
    checked = validate_sections(sections, quick)
    if personas is not None:  # a malformed file, or one a study cannot use, fails here
        people = read_personas(Path(personas))
        for name in names:
            get_study(name).check_personas(people, str(personas))
    model_ids = list(models or file.options.models or [DEFAULT_BASE_MODEL, DEFAULT_ALIGNED_MODEL])
    specs: list[ModelSpec] = [resolve(m, **dict(model_options or {})) for m in model_ids]
    out_dir = Path(out)
    found: dict[str, Findings] = {}
    with RunSession(out_dir, _command_line(), progress, executor) as session:
        ctx = StudyContext(
            runner=session.runner,
            store=session.store,
            models=specs,
            out_dir=out_dir,
            run_id=session.run_id,
            seed=seed,
            quick=quick,
            # the sections as given: a study may ask whether a setting was set explicitly
            config={**sections, **({"personas_file": str(personas)} if personas else {})},
        )
        for name in names:
            started = time.time()
            study = get_study(name)
            found[name] = run_study(ctx, study, checked.get(name) or study.settings({}, quick))
            session.study_seconds[name] = round(time.time() - started, 1)
        timings = dict(session.study_seconds)
    report_file, report = write_report(out_dir)
    summary = {
        "models": {s.model_id: {"key": s.key} for s in specs},
        "seed": seed,
        "quick": quick,
        "study_seconds": timings,
        "claims": [asdict(row) for row in report.claims],
        "verdict": report.verdict,
        "studies": {name: f.headline() for name, f in found.items()},
    }
    write_summary(out_dir, summary)
    return AuditResult(out_dir, found, summary, report_file, report.claims)


def write_summary(out_dir: Path, summary: Mapping[str, Any]) -> Path:
    """``summary.json`` of a run folder (with the personascope version first)."""
    data = {"personascope": __version__, **summary}
    return write_text_atomic(out_dir / "summary.json", json.dumps(data, indent=2))


def load_run(path: Path | str) -> AuditResult:
    """The :class:`AuditResult` of a run folder written earlier, from its store alone."""
    from personascope.claims import evaluate
    from personascope.report.document import model_kinds, stored_findings

    out_dir = Path(path)
    if not (out_dir / "store.duckdb").is_file():
        raise PersonascopeError(f"{out_dir} is not a run folder (no store.duckdb in it)")
    with Store(out_dir, read_only=True) as store:
        found = stored_findings(store)
        claim_rows = evaluate(found, model_kinds(store))
    summary_file = out_dir / "summary.json"
    summary = json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.is_file() else {}
    report = out_dir / "report.html"
    return AuditResult(out_dir, found, summary, report if report.is_file() else None, claim_rows)
