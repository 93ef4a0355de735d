"""The ``personascope`` command line.

Errors that are the user's to fix (a bad model id, a missing file, a server that refuses)
print one line, ``error: ...``, and exit 1; usage errors exit 2; an interrupted run exits
130 after saying how much is stored and that the same command resumes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from personascope import __version__
from personascope.audit import DEFAULT_RUNS, RunSession, run_audit, write_summary
from personascope.defaults import DEFAULT_ALIGNED_MODEL
from personascope.errors import PersonascopeError
from personascope.models.base import (
    SamplerSettings,
)
from personascope.models.providers import resolve
from personascope.runner import Executor
from personascope.sample import write_samples
from personascope.studies import REGISTRY

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Measure and fix persona mode collapse in language models.",
)
err = Console(stderr=True)
out = Console()


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


@app.command()
def studies() -> None:
    """List the registered studies, and which the default audit runs."""
    table = Table("study", "in the default audit", "question")
    for name, entry in REGISTRY.items():
        table.add_row(name, "yes" if entry.battery else "no", entry.title)
    out.print(table)


# --- sample -----------------------------------------------------------------------------


ExecutorName = Annotated[
    str, typer.Option("--executor", help="Where batches run: local (this process) or ray.")
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster to join (host:port, ray://host:10001 or auto); "
        "default: a local cluster for this run."
    ),
]
RayWorkers = Annotated[
    int | None, typer.Option(min=1, help="Ray workers, each holding one model (default: per CPU).")
]
BaseURL = Annotated[
    str | None,
    typer.Option(help="Server URL for openai-api/; several replicas: comma-separated."),
]


def _executor(name: str, ray_address: str | None, ray_workers: int | None) -> Executor:
    from personascope.executors import make_executor

    return make_executor(name, address=ray_address, workers=ray_workers)


ModelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--model-option",
        "-O",
        help="Backend option KEY=VALUE (repeatable), e.g. concurrency=8,2 for openai-api "
        "servers or tensor_parallel_size=4 for vllm/.",
    ),
]


def _model_options(
    base_url: str | None, kind: str | None, extra: list[str] | None = None
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in extra or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PersonascopeError(f"--model-option {item!r} is not KEY=VALUE")
        options[key.strip()] = value.strip()
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
    base_url: BaseURL = None,
    model_option: ModelOption = None,
    executor: ExecutorName = "local",
    ray_address: RayAddress = None,
    ray_workers: RayWorkers = None,
    kind: Annotated[str | None, typer.Option(help="base or chat, for unknown files.")] = None,
    run_dir: Annotated[Path, typer.Option(help="Run folder holding the result store.")] = (
        DEFAULT_RUNS / "sample"
    ),
) -> None:
    """Write N seeded samples from MODEL as JSONL (one object per sample)."""
    spec = resolve(model, **_model_options(base_url, kind, model_option))
    try:
        sampler = SamplerSettings(temperature, top_p, top_k, min_p, max_tokens, tuple(stop or ()))
    except ValueError as exc:
        raise PersonascopeError(str(exc)) from exc
    runs_on = _executor(executor, ray_address, ray_workers)
    with RunSession(run_dir, _command_line(), executor=runs_on) as session:
        written = write_samples(session.runner, spec, prompt, n, seed, sampler, out_file, raw)
    err.print(f"wrote {written} samples to {out_file}")


# --- generate ---------------------------------------------------------------------------


@app.command()
def generate(
    strategy: Annotated[
        str,
        typer.Option(
            help="naive, sampling, verbalized, layered, diasynth, marginals or simulator."
        ),
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id.")] = DEFAULT_ALIGNED_MODEL,
    n: Annotated[int, typer.Option("-n", min=1, help="Number of (unique) personas.")] = 100,
    output: Annotated[Path, typer.Option("--output", "-o", help=".jsonl or .parquet")] = Path(
        "personas.jsonl"
    ),
    config: Annotated[Path | None, typer.Option(help="Strategy settings (YAML).")] = None,
    out_dir: Annotated[Path, typer.Option(help="Run folder holding the result store.")] = (
        DEFAULT_RUNS / "generate"
    ),
    seed: int = 0,
    dedup: Annotated[float, typer.Option(help="Near-duplicate threshold; 0: none.")] = 0.8,
    fidelity: Annotated[bool, typer.Option(help="Score attributes back from the texts.")] = False,
    base_url: BaseURL = None,
    model_option: ModelOption = None,
    executor: ExecutorName = "local",
    ray_address: RayAddress = None,
    ray_workers: RayWorkers = None,
    kind: Annotated[str | None, typer.Option(help="base or chat, for unknown files.")] = None,
) -> None:
    """Generate N personas with a strategy; rerun the same command to resume."""
    from personascope.personas.pipeline import check_generate_args, run_generate
    from personascope.personas.strategies import load_strategy

    spec = resolve(model, **_model_options(base_url, kind, model_option))
    check_generate_args(output, dedup or None)
    chosen = load_strategy(strategy, config)  # a bad config fails before a run starts
    runs_on = _executor(executor, ray_address, ray_workers)
    with RunSession(out_dir, _command_line(), executor=runs_on) as session:
        summary = run_generate(
            session.runner, spec, chosen, n, output, config, seed, dedup or None, fidelity
        )
    err.print(summary["message"])


# --- audit ------------------------------------------------------------------------------


@app.command()
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
        model_options=_model_options(base_url, None, model_option),
        executor=_executor(executor, ray_address, ray_workers),
    )
    out.print(f"report: {result.report_path}")
    out.print(f"summary: {result.out_dir / 'summary.json'}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by audit.")],
) -> None:
    """Rebuild report.html in RUN_DIR from its store, without loading any model."""
    from personascope.report.document import write_report

    out.print(f"report: {write_report(run_dir)[0]}")


# --- diversity --------------------------------------------------------------------------


@app.command()
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


@app.command()
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


# --- lab --------------------------------------------------------------------------------


@app.command()
def lab(
    quick: Annotated[bool, typer.Option(help="A small lab (< 8 min on 2 cores).")] = False,
    reward: Annotated[str, typer.Option(help="typicality or polish.")] = "typicality",
    pairing: Annotated[str, typer.Option(help="extremes or length-matched.")] = "extremes",
    length_tolerance: Annotated[
        int | None, typer.Option(help="Words a length-matched pair may differ by.")
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Samples per training frame.")] = None,
    eval_samples: Annotated[int | None, typer.Option(help="Samples per held-out frame.")] = None,
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
        steps=steps,
        every=every,
        learning_rate=learning_rate,
        beta=beta,
        tag=name,
        threads=threads,
        seed=seed,
    )
    with RunSession(out_dir, _command_line()) as session:
        findings = run_lab(session.runner, session.store, out_dir, config)
    summary_file = write_summary(out_dir, {"studies": {"lab": findings}})
    out.print(lab_table(findings))
    out.print(f"report: {write_report(out_dir)[0]}")
    out.print(f"summary: {summary_file}")


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
