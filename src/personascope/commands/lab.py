"""``personascope lab``: preference-tune the embedded base model and measure it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from personascope.audit import DEFAULT_RUNS, RunSession, write_summary
from personascope.commands.options import (
    command_line,
    out,
)


def lab(
    quick: Annotated[bool, typer.Option(help="A small lab (< 8 min on 2 cores).")] = False,
    reward: Annotated[str, typer.Option(help="typicality or polish.")] = "typicality",
    pairing: Annotated[str, typer.Option(help="extremes or length-matched.")] = "extremes",
    length_tolerance: Annotated[
        int | None, typer.Option(help="Words a length-matched pair may differ by.")
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Samples per training frame.")] = None,
    eval_samples: Annotated[int | None, typer.Option(help="Samples per held-out frame.")] = None,
    names_only: Annotated[
        bool, typer.Option(help="End each sample with the Name line: a fast first-names lab.")
    ] = False,
    steps: Annotated[int | None, typer.Option(help="DPO steps.")] = None,
    every: Annotated[int | None, typer.Option(help="Checkpoint every N steps.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="LoRA learning rate.")] = None,
    beta: Annotated[float | None, typer.Option(help="DPO beta.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Checkpoint name prefix (default e.g. gemma3-270m-dpo).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all).")] = None,
    seed: int = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = DEFAULT_RUNS / "lab",
) -> None:
    """Preference-tune the embedded base model (DPO + LoRA) and measure how its personas
    narrow at each checkpoint; rerun the same command to resume."""
    from personascope.console import lab_table
    from personascope.lab.config import LabConfig
    from personascope.lab.run import run_lab
    from personascope.report.document import write_report

    config = LabConfig.preset(
        quick,
        reward=reward,
        pairing=pairing,
        length_tolerance=length_tolerance,
        samples_per_frame=samples,
        eval_samples_per_frame=eval_samples,
        names_only=names_only,
        steps=steps,
        every=every,
        learning_rate=learning_rate,
        beta=beta,
        tag=name,
        threads=threads,
        seed=seed,
    )
    with RunSession(out_dir, command_line()) as session:
        findings = run_lab(session.runner, session.store, out_dir, config)
    summary_file = write_summary(out_dir, {"studies": {"lab": findings.to_json()}})
    out.print(lab_table(findings))
    out.print(f"report: {write_report(out_dir)[0]}")
    out.print(f"summary: {summary_file}")
