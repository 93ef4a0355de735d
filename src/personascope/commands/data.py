"""``personascope diversity`` and ``personascope score``: metrics of files, no model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from personascope.audit import DEFAULT_RUNS
from personascope.commands.options import (
    out,
)


def diversity(
    personas: Annotated[Path, typer.Argument(help="JSONL file, one persona per line.")],
    field: Annotated[str, typer.Option(help="Field holding the text.")] = "description",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON, not tables.")] = False,
    against: Annotated[
        str | None,
        typer.Option(
            help="Reference JSONL (compared at matched n and length), or 'human': the human "
            "Big-Five norms for the --traits vectors."
        ),
    ] = None,
    traits: Annotated[
        str | None, typer.Option(help="Field of Big-Five trait vectors (O, C, E, A, N; 1-5).")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Field naming each text's input: per- vs across-input.")
    ] = None,
    tokenization: Annotated[
        str, typer.Option(help="words, whitespace or a llamacpp/ model id.")
    ] = "words",
    semantic: Annotated[bool, typer.Option(help="Embedding metrics.")] = True,
    syntax: Annotated[bool, typer.Option(help="Part-of-speech metrics.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the jackknife groups and subsets.")] = 0,
    run_dir: Annotated[Path, typer.Option(help="Run folder whose store caches embeddings.")] = (
        DEFAULT_RUNS / "diversity"
    ),
) -> None:
    """Every diversity metric of a persona file, each with its 95% interval and n."""
    from personascope.api import diversity_file
    from personascope.metrics.tables import report_tables

    report = diversity_file(
        personas, field=field, against=against, traits=traits, by=by,
        tokenization=tokenization, semantic=semantic, syntactic=syntax, seed=seed,
        run_dir=run_dir,
    )  # fmt: skip
    if json_out:
        print(json.dumps(report, indent=2))
    else:
        for table in report_tables(report):
            out.print(table)


# --- score ------------------------------------------------------------------------------


def score(
    answers: Annotated[Path, typer.Argument(help="Wide CSV/TSV: one row per respondent.")],
    inventory: Annotated[
        str, typer.Option(help="ipip50, mini_ipip, ipip_neo_120 or an inventory .json file.")
    ] = "ipip50",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score a table of answers (one column per item id; 0 or empty = missing)."""
    from personascope.console import score_table
    from personascope.instruments.answers import read_answer_table, summarize
    from personascope.instruments.inventory import load_inventory

    inv = load_inventory(inventory)
    raw, ignored = read_answer_table(answers, inv)
    summary = {"file": str(answers), "ignored_columns": ignored, **summarize(inv, raw)}
    if as_json:
        print(json.dumps(summary))
        return
    out.print(f"{inv.name} ({inv.id}, {inv.content_hash[:19]}): {summary['n_respondents']} rows")
    out.print(score_table(summary))
