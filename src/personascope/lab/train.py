"""DPO with LoRA on the CPU (TRL 1.16 + peft), checkpoints on a schedule, resumable.

Direct Preference Optimization (Rafailov et al. 2023) fits the policy pi to pairs
(x, y_w, y_l) by minimising

    L = -log sigma( beta * [ log pi(y_w|x)/pi_ref(y_w|x) - log pi(y_l|x)/pi_ref(y_l|x) ] ),

here with a LoRA adapter (Hu et al. 2022) on the attention projections of the base model;
the reference pi_ref is the same model with the adapter disabled. TRL's defaults that are
wrong on a CPU are overridden (see :mod:`personascope.lab.config`).

Checkpoints. The adapter before training (B = 0, so exactly the base model) is saved as
``step-0``; the trainer saves ``checkpoint-<step>`` (adapter, optimizer, scheduler, RNG
state, trainer state; the trainer state is written last) at every step of the schedule and
every ``save_every`` steps. A run that finds checkpoints resumes from the last complete one
(an incomplete one, from a process killed while saving, is deleted first); the data order and
RNG state are restored, so a resumed run continues where the interrupted one stopped.
The first Ctrl-C stops training after the current step and saves it; a second one stops at
once.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personascope.errors import LabError
from personascope.lab.config import LabConfig
from personascope.models.gguf_lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from personascope.progress import Tracker, track

TRAINER_FILES = ("trainer_state.json", ADAPTER_WEIGHTS, ADAPTER_CONFIG, "optimizer.pt")
# the trainer also saves the tokenizer and a model card with every checkpoint: not needed
_DROPPED = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "README.md")
LOGGED = (
    "loss",
    "grad_norm",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/accuracies",
    "rewards/margins",
    "logps/chosen",
    "logps/rejected",
)


@dataclass
class TrainResult:
    adapters: dict[int, Path]
    log: list[dict[str, float]]
    resumed_from: int | None = None
    seconds_per_step: float | None = None
    steps_run: int = 0


def checkpoint_step(path: Path) -> int | None:
    """The step of a complete trainer checkpoint folder, else ``None``."""
    prefix, _, step = path.name.partition("-")
    if prefix != "checkpoint" or not step.isdigit():
        return None
    if not all((path / name).is_file() for name in TRAINER_FILES):
        return None
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return int(step) if state.get("global_step") == int(step) else None


def last_checkpoint(out_dir: Path) -> tuple[int, Path] | None:
    """The latest complete checkpoint; incomplete checkpoint folders are deleted."""
    complete: list[tuple[int, Path]] = []
    for path in out_dir.glob("checkpoint-*"):
        step = checkpoint_step(path)
        if step is None:
            shutil.rmtree(path, ignore_errors=True)
        else:
            complete.append((step, path))
    return max(complete) if complete else None


def adapter_folders(out_dir: Path, schedule: Sequence[int]) -> dict[int, Path]:
    """The saved adapter of every schedule step (``step-0`` for the untrained adapter)."""
    folders = {s: out_dir / (f"checkpoint-{s}" if s else "step-0") for s in schedule}
    return {s: p for s, p in folders.items() if (p / ADAPTER_WEIGHTS).is_file()}


class _Stop:
    """The first SIGINT asks training to stop after the current step (and save it)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)  # a second Ctrl-C stops at once

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, self._previous)


def _callback(
    config: LabConfig, out_dir: Path, stop: _Stop, bar: Tracker, timings: list[float]
) -> Any:
    from transformers import TrainerCallback

    keep = set(config.schedule)

    class LabCallback(TrainerCallback):
        started = 0.0

        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            timings.append(time.perf_counter() - self.started)
            step = state.global_step
            if step in keep or step % config.save_every == 0 or stop.requested:
                control.should_save = True
            if stop.requested:
                control.should_training_stop = True
            bar.advance(1)

        def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            folder = out_dir / f"checkpoint-{state.global_step}"
            for name in _DROPPED:
                (folder / name).unlink(missing_ok=True)

    return LabCallback()


@contextlib.contextmanager
def _unhashed_dataset_transforms() -> Iterator[None]:
    """Skip datasets' fingerprinting of each ``Dataset.map`` while the trainer is built.

    TRL tokenizes the pairs with ``map(..., fn_kwargs={"processing_class": tokenizer})``, and
    datasets names every map's output by pickling all its arguments: for Gemma's 262k-token
    tokenizer, 2.2 million pickler calls (the quick lab's training stage fell from 64.5 s
    to 55.8 s here without them; under cProfile, 39 s of the trainer's 57 s set-up). The
    pairs live in memory (``Dataset.from_list``), where no fingerprint names a cache file, so a
    random fingerprint (what datasets itself uses for an argument it cannot hash) changes
    nothing else; the trained weights are the same bit for bit.
    """
    from unittest import mock

    from datasets import arrow_dataset, fingerprint

    def random_fingerprint(*_: Any) -> str:
        return fingerprint.generate_random_fingerprint()

    with (
        mock.patch.object(fingerprint, "update_fingerprint", random_fingerprint),
        mock.patch.object(arrow_dataset, "update_fingerprint", random_fingerprint),
    ):
        yield


def _trainer(model_dir: Path, rows: list[dict[str, str]], out_dir: Path, config: LabConfig):  # type: ignore[no-untyped-def]
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import DPOConfig, DPOTrainer

    from personascope.models.hf_convert import quiet_transformers

    datasets.disable_progress_bars()
    args = DPOConfig(
        output_dir=str(out_dir),
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=1,
        learning_rate=config.learning_rate,
        lr_scheduler_type="constant",
        warmup_steps=0,
        beta=config.beta,
        max_length=config.max_length,
        # TRL 1.16 defaults that are wrong on a CPU
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        # checkpoints: our callback decides when; everything needed to resume is kept
        save_strategy="no",
        save_only_model=False,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=config.seed,
    )
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(config.lora_targets),
        task_type="CAUSAL_LM",
    )
    with quiet_transformers(), _unhashed_dataset_transforms():
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        trainer = DPOTrainer(
            model=model,
            args=args,
            train_dataset=datasets.Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=lora,
        )
    trainer.remove_callback(PrinterCallback)
    return trainer


def train(
    model_dir: Path,
    rows: list[dict[str, str]],
    out_dir: Path,
    config: LabConfig,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train (or resume, or find already trained) the adapters of ``config.schedule``.

    ``rows`` are ``{"prompt", "chosen", "rejected"}`` texts; ``out_dir`` should be specific
    to the rows and the training settings (resuming mixes nothing else in). Extra
    ``callbacks`` are transformers ``TrainerCallback`` objects.
    """
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    found = last_checkpoint(out_dir)
    done = adapter_folders(out_dir, config.schedule)
    if found is not None and found[0] >= config.steps and len(done) == len(config.schedule):
        return TrainResult(done, _log(found[1]))
    if config.threads:
        torch.set_num_threads(config.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = _trainer(model_dir, rows, out_dir, config)
        if not (out_dir / "step-0" / ADAPTER_WEIGHTS).is_file():
            trainer.model.save_pretrained(out_dir / "step-0")
        stop = _Stop()
        timings: list[float] = []
        start = found[0] if found else 0
        with (
            track("train (DPO steps)", config.steps, start, progress) as bar,
            stop.installed(),
        ):
            trainer.add_callback(_callback(config, out_dir, stop, bar, timings))
            for callback in callbacks:
                trainer.add_callback(callback)
            try:
                trainer.train(resume_from_checkpoint=str(found[1]) if found else None)
            except Exception as exc:  # loading a damaged checkpoint fails in many ways
                if found is None:
                    raise
                raise LabError(
                    f"cannot resume training from {found[1]}: {' '.join(str(exc).split())}; "
                    "delete that folder to resume from an earlier checkpoint"
                ) from exc
    if stop.requested:
        step = trainer.state.global_step
        print(
            f"training stopped after step {step}; its checkpoint is in {out_dir}: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        raise KeyboardInterrupt(f"training stopped after step {step}")
    result = TrainResult(
        adapter_folders(out_dir, config.schedule),
        _log(out_dir / f"checkpoint-{config.steps}"),
        resumed_from=found[0] if found else None,
        seconds_per_step=sum(timings) / len(timings) if timings else None,
        steps_run=len(timings),
    )
    missing = set(config.schedule) - set(result.adapters)
    if missing:
        raise LabError(f"training ended without the checkpoints of steps {sorted(missing)}")
    return result


def _log(checkpoint: Path) -> list[dict[str, float]]:
    """The per-step training log (loss, DPO rewards and margins) of a checkpoint."""
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    rows = []
    for entry in state.get("log_history", []):
        if "loss" in entry:
            rows.append({"step": entry["step"], **{k: entry[k] for k in LOGGED if k in entry}})
    return rows
