"""Study contexts on the real embedded models, for tests that run a study end to end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from personascope.models.providers import resolve
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies.base import StudyContext

EMBEDDED_PAIR = ("llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct")


def embedded_context(
    folder: Path,
    config: dict[str, Any],
    models: Sequence[str] = EMBEDDED_PAIR,
    **options: Any,
) -> StudyContext:
    """Embedded models (both by default), a new store in ``folder`` and ``config`` (study
    settings); ``options`` set the other :class:`StudyContext` fields (``seed``,
    ``quick``). The caller closes ``ctx.store``."""
    store = Store(folder)
    return StudyContext(
        runner=Runner(store, "test", progress=False),
        store=store,
        models=[resolve(model_id) for model_id in models],
        out_dir=folder,
        run_id="test",
        config=config,
        **options,
    )
