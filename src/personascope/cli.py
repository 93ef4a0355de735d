"""The ``personascope`` command line.

Errors that are the user's to fix (a bad model id, a missing file, a server that refuses)
print one line, ``error: ...``, and exit 1; usage errors exit 2; an interrupted run exits
130 after saying how much is stored and that the same command resumes it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from personascope import __version__
from personascope.commands import audit, catalog, data, lab, run
from personascope.errors import PersonascopeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Measure and fix persona mode collapse in language models.",
)
out = Console()


def one_line(text: str) -> str:
    """Collapse a message to one line (errors from libraries can span several)."""
    return " ".join(text.split())


def _version(value: bool) -> None:
    if value:
        out.print(f"personascope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Measure and fix persona mode collapse in language models."""


for command in (
    catalog.models, catalog.studies, run.sample, run.generate, audit.audit, audit.report,
    data.diversity, data.score, lab.lab,
):  # fmt: skip
    app.command()(command)


# --- entry point ------------------------------------------------------------------------


def main() -> None:
    """Console entry point: one-line errors, resumable interrupts."""
    try:
        # typer turns Ctrl-C into exit code 130 (RunSession has said what is stored)
        code = app(standalone_mode=False)
    except PersonascopeError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except typer.exceptions.TyperException as exc:  # usage errors from typer's click
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
