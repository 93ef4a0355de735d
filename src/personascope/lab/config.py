"""Settings of a lab run, with the default and ``--quick`` presets.

Every setting that changes a result is recorded in the findings and in the registered
checkpoints. The training settings override TRL 1.16's DPO defaults that are wrong for a
CPU (``bf16`` True, ``gradient_checkpointing`` True, learning rate 1e-6): float32, no
checkpointing, and a learning rate (2e-4, constant) that moves a 270M model with a rank-8
LoRA in tens of steps.

``names_only`` ends every completion (training samples and evaluations) at the end of the
Name line instead of the blank line after the profile: a few tokens per sample instead of
about 40, so a lab about first names alone runs in a fraction of the time (the other
attributes are then not measured).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from personascope.errors import LabError
from personascope.lab.frames import HELDOUT, TRAIN, get_frames
from personascope.lab.pairs import PAIRINGS
from personascope.lab.rewards import get_reward
from personascope.models.catalog import EMBEDDED


@dataclass(frozen=True)
class LabConfig:
    base: str = "gemma3-270m"
    reward: str = "typicality"
    pairing: str = "extremes"
    length_tolerance: int = 2
    train_frames: tuple[str, ...] = TRAIN
    heldout_frames: tuple[str, ...] = HELDOUT
    samples_per_frame: int = 16
    eval_samples_per_frame: int = 32
    temperature: float = 1.0
    max_tokens: int = 64
    names_only: bool = False
    dedup_threshold: float = 0.9
    min_pairs: int = 4
    steps: int = 48
    every: int = 16
    save_every: int = 8
    learning_rate: float = 2e-4
    beta: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    batch_size: int = 2
    max_length: int = 160
    seed: int = 0
    threads: int | None = None
    tag: str | None = None
    quick: bool = False

    def __post_init__(self) -> None:
        if self.base not in EMBEDDED or EMBEDDED[self.base].kind != "base":
            bases = [n for n, e in EMBEDDED.items() if e.kind == "base"]
            raise LabError(f"the lab tunes an embedded base model ({', '.join(bases)}), "
                           f"not {self.base!r}")  # fmt: skip
        get_reward(self.reward)
        if self.pairing not in PAIRINGS:
            raise LabError(f"unknown pairing {self.pairing!r}; known: {', '.join(PAIRINGS)}")
        get_frames(self.train_frames + self.heldout_frames)
        if set(self.train_frames) & set(self.heldout_frames):
            raise LabError("a frame cannot be both a training and a held-out frame")
        for name in ("samples_per_frame", "eval_samples_per_frame", "steps", "every",
                     "save_every", "batch_size", "max_tokens", "lora_r", "min_pairs"):  # fmt: skip
            if getattr(self, name) < 1:
                raise LabError(f"{name.replace('_', '-')} must be at least 1")
        if not isinstance(self.names_only, bool):
            raise LabError(f"names-only must be true or false, not {self.names_only!r}")
        if self.eval_samples_per_frame < 2:
            raise LabError("eval-samples must be at least 2")
        if self.steps % self.every:
            raise LabError(f"--steps {self.steps} is not a multiple of --every {self.every}")

    @classmethod
    def preset(cls, quick: bool = False, **overrides: Any) -> LabConfig:
        """The default lab, or the quick one (fewer frames, samples and steps)."""
        base: dict[str, Any] = {}
        if quick:
            base = {
                "train_frames": TRAIN[:4],
                "samples_per_frame": 12,
                "eval_samples_per_frame": 16,
                "steps": 16,
                "every": 8,
                "quick": True,
            }
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})

    @property
    def schedule(self) -> tuple[int, ...]:
        """Training steps at which checkpoints are kept and evaluated (0 = the base)."""
        return tuple(range(0, self.steps + 1, self.every))

    @property
    def name_tag(self) -> str:
        """The prefix of the checkpoint names, e.g. ``gemma3-270m-dpo`` (default run)."""
        if self.tag:
            return self.tag
        parts = [self.base]
        if self.reward != "typicality":
            parts.append(self.reward)
        if self.pairing != "extremes":
            parts.append(self.pairing)
        if self.names_only:
            parts.append("names")
        parts.append("dpo")
        if self.quick:
            parts.append("quick")
        return "-".join(parts)

    def checkpoint_name(self, step: int) -> str:
        return f"{self.name_tag}-{step}"

    def training_settings(self) -> dict[str, Any]:
        """What determines the trained weights (besides the pairs)."""
        keys = ("base", "steps", "learning_rate", "beta", "lora_r", "lora_alpha",
                "lora_targets", "batch_size", "max_length", "seed")  # fmt: skip
        return {k: getattr(self, k) for k in keys}

    def record(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = list(self.schedule)
        return data


def digest(data: Any) -> str:
    """SHA-256 of canonical JSON (names the training folder of a pairs + settings pair)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
