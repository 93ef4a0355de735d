"""``personascope sample`` and ``personascope generate``: text and personas from a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from personascope.audit import DEFAULT_RUNS, RunSession
from personascope.commands.options import (
    BaseURL,
    ExecutorName,
    ModelOption,
    RayAddress,
    RayWorkers,
    command_line,
    err,
    executor_for,
    model_options,
)
from personascope.defaults import DEFAULT_ALIGNED_MODEL
from personascope.errors import PersonascopeError
from personascope.models.base import SamplerSettings
from personascope.models.providers import resolve
from personascope.outputs import output_file
from personascope.sample import write_samples


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
    spec = resolve(model, **model_options(base_url, kind, model_option))
    try:
        sampler = SamplerSettings(temperature, top_p, top_k, min_p, max_tokens, tuple(stop or ()))
    except ValueError as exc:
        raise PersonascopeError(str(exc)) from exc
    output_file(out_file)  # a bad output path fails before the run folder is made
    runs_on = executor_for(executor, ray_address, ray_workers)
    with RunSession(run_dir, command_line(), executor=runs_on) as session:
        written = write_samples(session.runner, spec, prompt, n, seed, sampler, out_file, raw)
    err.print(f"wrote {written} samples to {out_file}")


# --- generate ---------------------------------------------------------------------------


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

    spec = resolve(model, **model_options(base_url, kind, model_option))
    check_generate_args(output, dedup or None)
    chosen = load_strategy(strategy, config)  # a bad config fails before a run starts
    runs_on = executor_for(executor, ray_address, ray_workers)
    with RunSession(out_dir, command_line(), executor=runs_on) as session:
        summary = run_generate(
            session.runner, spec, chosen, n, output, config, seed, dedup or None, fidelity
        )
    err.print(summary["message"])
