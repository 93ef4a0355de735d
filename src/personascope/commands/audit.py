"""``personascope audit`` and ``personascope report``: the study battery and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from personascope.audit import DEFAULT_RUNS, run_audit
from personascope.commands.options import (
    BaseURL,
    ExecutorName,
    ModelOption,
    RayAddress,
    RayWorkers,
    executor_for,
    model_options,
    out,
)


def audit(
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model id (repeatable). Default: the embedded pair."),
    ] = None,
    studies: Annotated[
        str | None,
        typer.Option(help="Comma-separated studies (default: the battery; personascope studies)."),
    ] = None,
    quick: Annotated[bool, typer.Option(help="A small, fast battery.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = DEFAULT_RUNS / "audit",
    seed: Annotated[int | None, typer.Option(help="Base seed (default 0).")] = None,
    base_url: BaseURL = None,
    model_option: ModelOption = None,
    executor: ExecutorName = "local",
    ray_address: RayAddress = None,
    ray_workers: RayWorkers = None,
    personas: Annotated[
        Path | None,
        typer.Option(help="Persona file (JSONL/Parquet) replacing the default personas."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="audit.yaml: models, studies, seed and per-study settings."),
    ] = None,
) -> None:
    """Run the audit battery; write report.html and summary.json into the run folder."""
    result = run_audit(
        model,
        studies,
        out=out_dir,
        quick=quick,
        config=config,
        seed=seed,
        personas=personas,
        model_options=model_options(base_url, None, model_option),
        executor=executor_for(executor, ray_address, ray_workers),
    )
    out.print(f"report: {result.report_path}")
    out.print(f"summary: {result.out_dir / 'summary.json'}")


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by audit.")],
) -> None:
    """Rebuild report.html in RUN_DIR from its store, without loading any model."""
    from personascope.report.document import write_report

    out.print(f"report: {write_report(run_dir)[0]}")
