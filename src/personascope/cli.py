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
from personascope.runner import Executor, Runner
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

    def __init__(
        self, out_dir: Path, command: str, progress: bool = True, executor: Executor | None = None
    ) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
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
        str | None, typer.Option(help="Comma-separated studies (default: the full battery).")
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
    from personascope.audit_config import load_audit_config
    from personascope.personas.io import read_personas
    from personascope.studies import get_study, parse_studies
    from personascope.studies.base import StudyContext

    settings = load_audit_config(config)
    names = parse_studies(studies or ",".join(settings.studies or []))
    if personas is not None:
        read_personas(personas)  # a malformed file fails before any model runs
    model_ids = model or settings.models or [DEFAULT_BASE_MODEL, DEFAULT_ALIGNED_MODEL]
    quick = quick or bool(settings.quick)
    seed = seed if seed is not None else (settings.seed or 0)
    study_config: dict[str, Any] = dict(settings.study_settings())
    if personas is not None:
        study_config["personas_file"] = str(personas)
    options = _model_options(base_url, None, model_option)
    specs: list[ModelSpec] = [resolve(m, **options) for m in model_ids]
    runs_on = _executor(executor, ray_address, ray_workers)
    findings: dict[str, Any] = {}
    with RunSession(out_dir, _command_line(), executor=runs_on) as session:
        ctx = StudyContext(
            runner=session.runner,
            store=session.store,
            models=specs,
            out_dir=out_dir,
            run_id=session.run_id,
            seed=seed,
            quick=quick,
            config=study_config,
        )
        for name in names:
            started = time.time()
            findings[name] = get_study(name).run(ctx)
            session.study_seconds[name] = round(time.time() - started, 1)
        timings = dict(session.study_seconds)
    from personascope.report.document import write_report

    report_file, cells = write_report(out_dir)
    summary = {
        "personascope": __version__,
        "models": {s.model_id: {"key": s.key} for s in specs},
        "seed": seed,
        "quick": quick,
        "study_seconds": timings,
        "verdict": cells,
        "studies": findings,
    }
    summary_file = out_dir / "summary.json"
    summary_file.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    out.print(f"report: {report_file}")
    out.print(f"summary: {summary_file}")


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
    from personascope.metrics.embedding import Embedder
    from personascope.metrics.estimate import Jackknife
    from personascope.metrics.panel import (
        HUMAN_REFERENCE_N,
        PanelSettings,
        TraitReference,
        diversity_report,
    )
    from personascope.metrics.tables import report_tables
    from personascope.metrics.trait_reach import human_baseline

    settings = PanelSettings(
        tokenization=tokenization,
        syntactic=syntax,
        semantic=semantic,
        jackknife=Jackknife(seed=seed),
    )
    human = None
    if against == "human":
        from personascope.instruments.norms import load_norms, sample_reference

        vectors = sample_reference(HUMAN_REFERENCE_N, seed)  # error if no norms ship
        norms = load_norms("ipip50")
        assert norms is not None
        human = TraitReference(
            vectors,
            list(norms.domains),
            f"human IPIP-50 norms ({norms.n} respondents): a sample of {HUMAN_REFERENCE_N}",
            human_baseline(norms, vectors, seed),
        )
    store = Store(run_dir) if semantic else None
    try:
        report = diversity_report(
            personas,
            field=field,
            against=None if against is None or human is not None else Path(against),
            traits=traits,
            trait_reference=human,
            by=by,
            settings=settings,
            embedder=Embedder(store) if semantic else None,
        )
    finally:
        if store is not None:
            store.close()
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
    from personascope.instruments.answers import read_answer_table, summarize
    from personascope.instruments.inventory import load_inventory

    inv = load_inventory(inventory)
    raw, ignored = read_answer_table(answers, inv)
    summary = {"file": str(answers), "ignored_columns": ignored, **summarize(inv, raw)}
    if as_json:
        out.print_json(json.dumps(summary))
        return

    def fmt(value: float | None, spec: str = ".2f") -> str:
        return "-" if value is None else format(value, spec)

    table = Table("domain", "n", "mean", "sd", "alpha [95% CI]", "omega [95% CI]", "mean T")
    for code, d in summary["domains"].items():
        a, o = d["alpha"], d["omega"]
        table.add_row(
            code,
            str(d["n"]),
            fmt(d["mean"]),
            fmt(d["sd"]),
            f"{fmt(a['value'], '.3f')} [{fmt(a.get('low'), '.3f')}, {fmt(a.get('high'), '.3f')}]",
            f"{fmt(o['value'], '.3f')} [{fmt(o.get('low'), '.3f')}, {fmt(o.get('high'), '.3f')}]",
            fmt(d.get("mean_t"), ".1f"),
        )
    out.print(f"{inv.name} ({inv.id}, {inv.content_hash[:19]}): {summary['n_respondents']} rows")
    out.print(table)


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
    summary_file = out_dir / "summary.json"
    summary = {"personascope": __version__, "studies": {"lab": findings}}
    summary_file.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    table = Table("model id", "step", "first-name entropy", "age SD", "distinct-2")
    for checkpoint in findings["checkpoints"]:
        metrics = checkpoint["metrics"]
        cells = [
            metrics["attributes"]["first_names"].get("entropy_bits"),
            metrics["attributes"]["ages"].get("sd"),
            metrics["text"]["metrics"].get("distinct_2"),
        ]
        table.add_row(
            checkpoint["model_id"],
            str(checkpoint["step"]),
            *("-" if c is None or c.get("value") is None else f"{c['value']:.3f}" for c in cells),
        )
    out.print(table)
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
