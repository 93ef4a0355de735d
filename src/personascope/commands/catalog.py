"""``personascope models`` and ``personascope studies``: what can be run."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from personascope.commands.options import (
    out,
)
from personascope.studies import REGISTRY


def models(
    check: Annotated[bool, typer.Option(help="Load each model to check it works.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the embedded models, lab checkpoints and providers, and whether each is installed
    and loadable (full ids, tab-separated, when the output is not a terminal)."""
    from personascope.catalogue import catalogue

    rows = catalogue(check)
    if as_json:
        print(json.dumps([row.record() for row in rows], indent=2))
    elif not out.is_terminal:
        for row in rows:
            print("\t".join(row.record().values()))
    else:
        table = Table("model id", "kind", "installed", "loadable", "about")
        table.columns[0].overflow = "fold"  # a model id is never cut short
        for row in rows:
            table.add_row(*row.record().values())
        out.print(table)


def studies() -> None:
    """List the registered studies, and which the default audit runs."""
    table = Table("study", "in the default audit", "question")
    for name, entry in REGISTRY.items():
        table.add_row(name, "yes" if entry.battery else "no", entry.title)
    out.print(table)
