"""The collapse lab: preference-tune the embedded base model here and measure, at several
tuning strengths, how much narrower the personas it writes become (see docs/lab.md).

``run.run_lab`` runs every stage; ``config.LabConfig`` holds the settings; rewards are in
``rewards``, pairs in ``pairs``, DPO training in ``train``, measurements in ``evaluate`` and
``attributes``. Tuned checkpoints become ``lab/<name>`` model ids: ``checkpoints`` is their
registry, ``backend`` runs them.
"""
