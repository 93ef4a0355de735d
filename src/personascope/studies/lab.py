"""The collapse lab as a study of the audit (``personascope audit --studies lab``).

It runs :func:`personascope.lab.run.run_lab` with the audit's runner and store, so the lab's
dose-response section appears in the same report; its training checkpoints go under
``<run folder>/lab``. The lab always tunes the embedded base model: the audit's ``--model``
list does not change it. ``personascope lab`` runs the same thing with more options. Not in
the default battery (it trains a model).
"""

from __future__ import annotations

from typing import Any

from personascope.studies.base import StudyContext


class LabStudy:
    name = "lab"

    def run(self, ctx: StudyContext) -> dict[str, Any]:
        from personascope.lab.config import LabConfig
        from personascope.lab.run import run_lab

        config = LabConfig.preset(ctx.quick, seed=ctx.seed, **ctx.config.get("lab", {}))
        return run_lab(ctx.runner, ctx.store, ctx.out_dir / "lab", config, ctx.runner.progress)
