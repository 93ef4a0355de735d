"""The ``personascope`` command line.

Errors that are the user's to fix (a bad model id, a missing file, a server that refuses)
print one line, ``error: ...``, and exit 1; usage errors exit 2; an interrupted run exits
130 after saying how much is stored and that the same command resumes it.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from personascope import __version__
from personascope.errors import PersonascopeError
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    GenerationResult,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import (
    DEFAULT_ALIGNED_MODEL,
    DEFAULT_BASE_MODEL,
    EMBEDDED,
    ModelSpec,
    resolve,
)
from personascope.runner import Runner
from personascope.store import Store

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Measure and fix persona mode collapse in language models.",
)
err = Console(stderr=True)
out = Console()

DEFAULT_RUNS = Path("personascope-runs")

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

    def __init__(self, out_dir: Path, command: str, progress: bool = True) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(out_dir)
        self.run_id = self.store.start_run(command, {"versions": package_versions()})
        self.runner = Runner(self.store, self.run_id, progress=progress)
        self.started = time.time()

    def close(self, status: str) -> None:
        info = {
            "versions": package_versions(),
            "elapsed_s": round(time.time() - self.started, 3),
            "executed": self.runner.executed,
            "cached": self.runner.cached,
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
        else:
            self.close("failed")


def one_line(text: str) -> str:
    """Collapse a message to one line (errors from libraries can span several)."""
    return " ".join(text.split())


def _command_line() -> str:
    return " ".join(["personascope", *sys.argv[1:]])


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


# --- models -----------------------------------------------------------------------------


@app.command()
def models(
    check: Annotated[bool, typer.Option(help="Load each model to check it works.")] = True,
) -> None:
    """List the embedded model catalogue and whether each model is installed and loadable."""
    from personascope.models.providers import load_model

    table = Table("model id", "kind", "installed", "loadable", "about")
    for name, entry in EMBEDDED.items():
        for provider in ("llamacpp", "hf"):
            model_id = f"{provider}/{name}"
            installed, loadable = "no", "-"
            try:
                spec = resolve(model_id)
                installed = "yes"
                if check and provider == "llamacpp":
                    model = load_model(spec)
                    model.close()
                    loadable = "yes"
                elif provider == "hf":
                    loadable = "not checked (slow)"
            except PersonascopeError as exc:
                loadable = "no" if installed == "yes" else "-"
                installed = installed if installed == "yes" else f"no: {exc}"
            table.add_row(model_id, entry.kind, installed, loadable, entry.description)
    out.print(table)
    out.print(
        "Also: llamacpp/<file.gguf>, hf/<hub id or dir>, "
        "openai-api/<name> --base-url URL, openai/<model>."
    )


# --- sample -----------------------------------------------------------------------------


def _model_options(base_url: str | None, kind: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if base_url:
        options["base_url"] = base_url
    if kind:
        if kind not in ("base", "chat"):
            raise PersonascopeError(f"--kind must be 'base' or 'chat', not {kind!r}")
        options["kind"] = kind
    return options


@app.command()
def sample(
    model: Annotated[str, typer.Argument(help="Model id, e.g. llamacpp/smollm2-135m-instruct")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The prompt text.")],
    n: Annotated[int, typer.Option("-n", min=1, help="Number of samples.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the first sample; then seed+1, ...")] = 0,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="JSONL output file.")] = Path(
        "samples.jsonl"
    ),
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float = 0.0,
    max_tokens: int = 128,
    stop: Annotated[list[str] | None, typer.Option(help="Stop string (repeatable).")] = None,
    raw: Annotated[
        bool, typer.Option(help="Send the prompt as raw text even to a chat model.")
    ] = False,
    base_url: Annotated[str | None, typer.Option(help="Server URL for openai-api/.")] = None,
    kind: Annotated[str | None, typer.Option(help="base or chat, for unknown files.")] = None,
    run_dir: Annotated[Path, typer.Option(help="Run folder holding the result store.")] = (
        DEFAULT_RUNS / "sample"
    ),
) -> None:
    """Write N seeded samples from MODEL as JSONL (one object per sample)."""
    spec = resolve(model, **_model_options(base_url, kind))
    try:
        sampler = SamplerSettings(temperature, top_p, top_k, min_p, max_tokens, tuple(stop or ()))
    except ValueError as exc:
        raise PersonascopeError(str(exc)) from exc
    with RunSession(run_dir, _command_line()) as session:
        model_kind = spec.kind or session.runner.model_info(spec).kind
        chat = model_kind == "chat" and not raw
        the_prompt = ChatPrompt((Message("user", prompt),)) if chat else TextPrompt(prompt)
        requests = [GenerationRequest(the_prompt, sampler, seed + i) for i in range(n)]
        results = session.runner.run(spec, requests, label=f"sampling {model}")
        info = session.store.models().get(spec.key, {})
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as handle:
        for request, result in zip(requests, results):
            assert isinstance(result, GenerationResult)
            row = {
                "model_id": spec.model_id,
                "model_key": spec.key,
                "prompt": prompt,
                "chat": chat,
                "seed": request.seed,
                "sampler": {
                    "temperature": temperature,
                    "top_p": top_p,
                    "top_k": top_k,
                    "min_p": min_p,
                    "max_tokens": max_tokens,
                    "stop": list(stop or ()),
                    "order": info.get("sampler_order"),
                },
                "text": result.text,
                "finish_reason": result.finish_reason,
                "n_tokens": len(result.token_ids),
                "mean_logprob": result.mean_logprob,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    err.print(f"wrote {len(results)} samples to {out_file}")


# --- audit ------------------------------------------------------------------------------


@app.command()
def audit(
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model id (repeatable). Default: the embedded pair."),
    ] = None,
    studies: Annotated[
        str | None, typer.Option(help="Comma-separated studies (default: the full battery).")
    ] = None,
    quick: Annotated[bool, typer.Option(help="A small, fast battery.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = DEFAULT_RUNS / "audit",
    seed: int = 0,
    base_url: Annotated[str | None, typer.Option(help="Server URL for openai-api/.")] = None,
) -> None:
    """Run the audit battery and write summary.json into the run folder."""
    from personascope.studies import get_study, parse_studies
    from personascope.studies.base import StudyContext

    names = parse_studies(studies)
    model_ids = model or [DEFAULT_BASE_MODEL, DEFAULT_ALIGNED_MODEL]
    specs: list[ModelSpec] = [resolve(m, **_model_options(base_url, None)) for m in model_ids]
    with RunSession(out_dir, _command_line()) as session:
        ctx = StudyContext(
            runner=session.runner,
            store=session.store,
            models=specs,
            out_dir=out_dir,
            run_id=session.run_id,
            seed=seed,
            quick=quick,
        )
        findings = {name: get_study(name).run(ctx) for name in names}
    summary = {
        "personascope": __version__,
        "models": {s.model_id: {"key": s.key} for s in specs},
        "studies": findings,
    }
    summary_file = out_dir / "summary.json"
    summary_file.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    out.print(f"summary: {summary_file}")
    out.print(f"personas: {out_dir / 'personas.jsonl'}")


# --- entry point ------------------------------------------------------------------------


def main() -> None:
    """Console entry point: one-line errors, resumable interrupts."""
    try:
        app(standalone_mode=False)
    except PersonascopeError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(
            "interrupted: finished batches are stored; run the same command again to resume",
            file=sys.stderr,
        )
        sys.exit(130)
    except typer.exceptions.TyperException as exc:  # usage errors from typer's click
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
