"""Options and helpers several commands share: where batches run, how a model id is
resolved (server URL, backend options, kind), the consoles, the command line recorded."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from personascope.errors import PersonascopeError
from personascope.runner import Executor

err = Console(stderr=True)
out = Console()


def command_line() -> str:
    return " ".join(["personascope", *sys.argv[1:]])


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


def executor_for(name: str, ray_address: str | None, ray_workers: int | None) -> Executor:
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


def model_options(
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
