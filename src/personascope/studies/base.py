"""What a study is and what it is given.

A study plans requests, hands them to the runner (never to a model), and analyses the
results into *findings*: JSON-able tables and figure data, written to the store so that a
report can be rebuilt without a model. Multi-stage studies (generate personas, then
administer an inventory with each persona as prefix) plan each stage from the stored
results of the previous one; because every stage is a deterministic function of stored
results, re-running a study after an interruption executes only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from personascope.models.base import ModelKind
from personascope.models.catalog import ModelSpec
from personascope.runner import Runner
from personascope.store import Store


@dataclass
class StudyContext:
    runner: Runner
    store: Store
    models: list[ModelSpec]
    out_dir: Path
    run_id: str
    seed: int = 0
    quick: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    def kind(self, spec: ModelSpec) -> ModelKind:
        """Whether a model is a base (completion) or chat model, loading it if needed."""
        return spec.kind or self.runner.model_info(spec).kind


class Study(Protocol):
    name: str

    def run(self, ctx: StudyContext) -> dict[str, Any]:
        """Plan, execute through ``ctx.runner``, analyse; return the findings."""
        ...
