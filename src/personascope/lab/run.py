"""The lab's stages, in order, each cached so that running again resumes:

1. **convert**: the base GGUF to a transformers safetensors folder, once per machine
   (:mod:`personascope.models.hf_convert`);
2. **sample**: K seeded completions per training frame from the base model (llama.cpp,
   through the runner: stored in the run folder's store);
3. **score**: the reward of every distinct usable sample, preference pairs and their length
   confound (``pairs.jsonl`` in the run folder);
4. **train**: DPO + LoRA, checkpoints on the schedule (``train/<pairs+settings hash>/``,
   resumed from the last complete checkpoint);
5. **register**: each checkpoint becomes ``lab/<tag>-<step>``, its adapter written as a
   GGUF LoRA file for llama.cpp (:mod:`personascope.lab.checkpoints`);
6. **evaluate**: every checkpoint on the held-out frames with the same seeds, and each
   completion scored under the base model (through the runner);
7. **analyse**: attribute, text and typicality metrics per checkpoint and the dose-response
   curves, stored as the ``lab`` study's findings.

Timings (wall clock and CPU time) and the process's peak resident memory are recorded per
stage, with the machine's load average, because the machine may be shared.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from personascope.findings import FINDINGS_KEY, DetailedRecord, from_json, to_json
from personascope.findings.lab import (
    Attributes,
    CheckpointMetrics,
    CurvePoint,
    DoseResponse,
    Evaluation,
    JackknifeRecord,
    LabCheckpoint,
    LabFindings,
    LengthConfound,
    Pairing,
    Stage,
    Training,
    TrainingData,
)
from personascope.findings.lab import Reward as RewardRecord
from personascope.findings.scaffold import Panel
from personascope.findings.stability import Sampler
from personascope.lab import evaluate as ev
from personascope.lab.attributes import mean_summary
from personascope.lab.backend import lora_gguf
from personascope.lab.checkpoints import Checkpoint, register
from personascope.lab.config import LabConfig, digest
from personascope.lab.frames import Frame, get_frames
from personascope.lab.pairs import (
    Pair,
    collect_samples,
    length_confound,
    make_pairs,
    require_pairs,
    sampler,
    sampling_requests,
)
from personascope.lab.rewards import Reward, get_reward, score
from personascope.metrics.estimate import Jackknife
from personascope.models.base import GenerationRequest, GenerationResult
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.outputs import atomic_output
from personascope.runner import InProcessExecutor, Runner
from personascope.store import Store

STUDY = "lab"
GEMMA_TERMS = (
    "Adapters trained from Gemma are derivatives of it: Gemma's terms of use "
    "(ai.google.dev/gemma/terms) apply to them and to every lab/ model id built on them."
)

# (key, label, path to the estimate in a checkpoint's metrics, path to the reference value)
CURVES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...] | None], ...] = (
    ("first_name_entropy", "first-name entropy (bits)",
     ("attributes", "first_names", "entropy_bits"),
     ("attributes", "first_names", "reference", "entropy_bits", "mean")),
    ("first_name_repeats", "share of personas sharing a first name",
     ("attributes", "first_names", "repeat_share"),
     ("attributes", "first_names", "reference", "repeat_share", "mean")),
    ("age_sd", "SD of stated ages (years)", ("attributes", "ages", "sd"),
     ("attributes", "ages", "reference", "sd")),
    ("occupations_distinct", "distinct occupations per persona",
     ("attributes", "occupations", "unique_share"), None),
    ("adjective_entropy", "personality-adjective entropy (bits)",
     ("attributes", "adjectives", "entropy_bits"), None),
    ("polish", "polish of the stated personality", ("attributes", "polish"), None),
    ("distinct_2", "distinct-2 at matched length", ("text", "metrics", "distinct_2"), None),
    ("mean_cosine_distance", "mean cosine distance at matched length",
     ("text", "metrics", "mean_cosine_distance"), None),
    ("base_logprob", "log-prob per token under the base model", ("typicality",), None),
    ("words", "words per profile", ("attributes", "words"), None),
)  # fmt: skip


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    """Wall-clock seconds and peak memory after each stage."""

    def __init__(self) -> None:
        self.records: dict[str, Stage] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        load = os.getloadavg()[0]
        yield
        self.records[name] = Stage(
            seconds=round(time.perf_counter() - started, 2),
            # CPU time of all this process's threads: on a busy machine, closer than the
            # wall clock to what the stage takes on a quiet one
            cpu_seconds=round(time.process_time() - cpu, 2),
            peak_rss_mb=round(_peak_rss_mb(), 1),
            load_average_1min_at_start=round(load, 2),
        )


def _release(runner: Runner) -> None:
    """Free the models an in-process runner holds (they reload on demand)."""
    if isinstance(runner.executor, InProcessExecutor):
        runner.executor.close()


def _get(data: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` below ``data`` (attributes of findings, keys of the JSON they
    keep, such as a panel's metrics); ``None`` where a step is missing."""
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else getattr(data, key, None)
    return data


def curves(checkpoints: list[LabCheckpoint]) -> dict[str, DoseResponse]:
    """The dose-response curves: value and interval of each metric at each step."""
    out = {}
    for key, label, path, ref_path in CURVES:
        points = []
        for c in checkpoints:
            estimate = to_json(_get(c.metrics, path)) or {}
            points.append(
                CurvePoint(c.step, estimate.get("value"), estimate.get("low"), estimate.get("high"))
            )
        reference = _get(checkpoints[0].metrics, ref_path) if ref_path else None
        out[key] = DoseResponse(label, points, reference)
    return out


@dataclass
class PairData:
    """What the score stage made of the base model's samples."""

    reward: Reward
    counts: dict[str, int]
    pairs: list[Pair]
    confound: LengthConfound
    rows: list[dict[str, str]]


def _pair_data(
    config: LabConfig,
    frames: tuple[Frame, ...],
    requests: list[GenerationRequest],
    generations: list[GenerationResult],
    jackknife: Jackknife,
) -> PairData:
    frame_of = {f.template.text: f.name for f in frames}
    samples, counts = collect_samples(requests, generations, frame_of, config.dedup_threshold)
    reward = get_reward(config.reward)
    rewards = score(reward, samples)
    pairs = make_pairs(samples, rewards, config.pairing, config.length_tolerance)
    require_pairs(pairs, counts, len(frames), config.min_pairs, config.pairing)
    prompts = {f.name: f.template.text for f in frames}
    rows = [
        {"prompt": prompts[p.chosen.frame], "chosen": p.chosen.text, "rejected": p.rejected.text}
        for p in pairs
    ]
    confound = from_json(LengthConfound, length_confound(samples, rewards, pairs, jackknife))
    return PairData(reward, counts, pairs, confound, rows)


def _evaluate(
    runner: Runner,
    registered: dict[int, Checkpoint],
    requests: list[GenerationRequest],
    base_spec: ModelSpec,
    options: dict[str, Any],
) -> tuple[dict[int, list[GenerationResult]], dict[int, list[float]]]:
    """Each checkpoint's completions of the held-out requests, and the per-token
    log-probability of each completion under the base model."""
    outputs: dict[int, list[GenerationResult]] = {}
    for step, checkpoint in registered.items():
        spec = resolve(checkpoint.model_id, **options)
        outputs[step] = runner.generate(spec, requests, label=f"lab: {checkpoint.model_id}")
        _release(runner)
    typicality: dict[int, list[float]] = {}
    for step, gens in outputs.items():
        choices = ev.base_scoring_requests(requests, gens)
        scored = runner.score(base_spec, choices, label=f"lab: step {step} under the base")
        typicality[step] = ev.base_logprobs(gens, scored)
    _release(runner)
    return outputs, typicality


def _checkpoint_record(
    checkpoint: Checkpoint,
    gens: list[GenerationResult],
    text: dict[str, Any],
    typicality: list[float],
    jackknife: Jackknife,
    seed: int,
) -> LabCheckpoint:
    attributes = ev.attribute_findings([r.text for r in gens], jackknife, seed)
    typical = mean_summary(typicality, jackknife, "log-prob per token under the base")
    return LabCheckpoint(
        step=checkpoint.step,
        model_id=checkpoint.model_id,
        model_key=checkpoint.results_key,
        finish_reasons={
            reason: sum(r.finish_reason == reason for r in gens) for reason in ("stop", "length")
        },
        examples=[r.text for r in gens[:3]],
        metrics=CheckpointMetrics(
            attributes=from_json(Attributes, attributes, "attributes"),
            text=from_json(Panel, text, "text"),
            typicality=from_json(DetailedRecord, typical, "typicality"),
        ),
    )


def run_lab(
    runner: Runner, store: Store, out_dir: Path, config: LabConfig, progress: bool = True
) -> LabFindings:
    """Run (or resume) the lab; store and return its findings."""
    from personascope.cachefiles import is_complete
    from personascope.lab.train import train
    from personascope.metrics.embedding import Embedder
    from personascope.models.hf_convert import converted_folder, folder_for

    out_dir.mkdir(parents=True, exist_ok=True)
    stages = Stages()
    jackknife = Jackknife(seed=config.seed)
    options = {"n_threads": config.threads} if config.threads else {}
    base_spec = resolve(f"llamacpp/{config.base}", **options)
    train_frames = get_frames(config.train_frames)
    heldout = get_frames(config.heldout_frames)
    settings = sampler(config.temperature, config.max_tokens, config.names_only)

    with stages.stage("convert"):
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        hf_spec = resolve(f"hf/{config.base}")
        if progress and not is_complete(folder_for(hf_spec)):
            print(
                f"converting {config.base} to safetensors (once per machine, 1-2 minutes)",
                file=sys.stderr,
                flush=True,
            )
        model_dir = converted_folder(hf_spec)

    with stages.stage("sample"):
        requests = sampling_requests(train_frames, config.samples_per_frame, config.seed, settings)
        results = runner.generate(base_spec, requests, label="lab: base-model samples")
        _release(runner)

    with stages.stage("score"):
        data = _pair_data(config, train_frames, requests, results, jackknife)
        pairs_file = out_dir / "pairs.jsonl"
        with atomic_output(pairs_file) as tmp, tmp.open("w", encoding="utf-8") as handle:
            for pair in data.pairs:
                handle.write(json.dumps(pair.record(), ensure_ascii=False) + "\n")

    with stages.stage("train"):
        train_dir = out_dir / "train" / digest([data.rows, config.training_settings()])[:16]
        trained = train(model_dir, data.rows, train_dir, config, progress)

    with stages.stage("register"):
        record = {
            "reward": config.reward,
            "pairing": config.pairing,
            "n_pairs": len(data.pairs),
            "pairs_sha256": digest(data.rows),
            "run_dir": str(out_dir.resolve()),
            "run_id": runner.run_id,
            **config.training_settings(),
        }
        registered = {
            step: register(
                config.checkpoint_name(step), config.base, folder, step, config.name_tag, record
            )
            for step, folder in sorted(trained.adapters.items())
        }
        for checkpoint in registered.values():
            lora_gguf(checkpoint)

    eval_requests = sampling_requests(heldout, config.eval_samples_per_frame, config.seed, settings)
    with stages.stage("evaluate"):
        outputs, typicality = _evaluate(runner, registered, eval_requests, base_spec, options)

    with stages.stage("analyse"):
        texts = ev.matched_text_metrics(
            {s: [r.text for r in g] for s, g in outputs.items()}, jackknife, Embedder(store)
        )
        checkpoints = [
            _checkpoint_record(c, outputs[s], texts[s], typicality[s], jackknife, config.seed)
            for s, c in registered.items()
        ]

    findings = LabFindings(
        tag=config.name_tag,
        base_model=base_spec.model_id,
        base_key=base_spec.key,
        reward=RewardRecord(data.reward.name, data.reward.description),
        pairing=Pairing(config.pairing, config.length_tolerance),
        data=TrainingData(
            train_frames=[f.template.id for f in train_frames],
            heldout_frames=[f.template.id for f in heldout],
            samples_per_frame=config.samples_per_frame,
            sample_seeds=[config.seed, config.seed + config.samples_per_frame - 1],
            sampler=Sampler(**{**asdict(settings), "stop": list(settings.stop)}),
            counts=data.counts,
            n_pairs=len(data.pairs),
            length_confound=data.confound,
        ),
        training=Training(
            **config.training_settings(),
            schedule=list(config.schedule),
            lr_scheduler="constant",
            lora_dropout=0.0,
            reference="the base model (adapter disabled)",
            loss="DPO sigmoid (Rafailov et al. 2023)",
            dir=str(train_dir),
            resumed_from_step=trained.resumed_from,
            steps_run_now=trained.steps_run,
            seconds_per_step=trained.seconds_per_step,
            log=trained.log,
        ),
        evaluation=Evaluation(
            frames=[f.template.id for f in heldout],
            samples_per_frame=config.eval_samples_per_frame,
            seeds=[config.seed, config.seed + config.eval_samples_per_frame - 1],
            same_requests_for_every_checkpoint=True,
            jackknife=JackknifeRecord(jackknife.groups, jackknife.seed),
        ),
        checkpoints=checkpoints,
        curves=curves(checkpoints),
        stages=stages.records,
        config=config.record(),
        terms=GEMMA_TERMS,
    )
    store.put_finding(STUDY, FINDINGS_KEY, findings.to_json(), runner.run_id)
    return findings
