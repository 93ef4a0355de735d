"""The collapse lab as a study of the audit (``personascope audit --studies lab``).

It runs :func:`personascope.lab.run.run_lab` with the audit's runner and store, so the lab's
dose-response section appears in the same report; its training checkpoints go under
``<run folder>/lab``. The lab always tunes the embedded base model: the audit's ``--model``
list does not change it. ``personascope lab`` runs the same thing with more options. Not in
the default battery (it trains a model). Its settings are
:class:`~personascope.lab.config.LabConfig`'s fields (the seed is the audit's).
"""

from __future__ import annotations

from dataclasses import replace

from personascope.findings.lab import LabFindings
from personascope.lab.config import LabConfig
from personascope.studies.base import Study, StudyContext


class LabStudy(Study[LabConfig, LabFindings]):
    name = "lab"
    Settings = LabConfig
    quick = LabConfig.preset(quick=True)

    def run(self, ctx: StudyContext, settings: LabConfig) -> LabFindings:
        from personascope.lab.run import run_lab

        config = replace(settings, seed=ctx.seed)
        return run_lab(ctx.runner, ctx.store, ctx.out_dir / "lab", config, ctx.runner.progress)
