"""The transformers backend against a plain transformers loop, on the adoption workload.

A random-weight Llama of a real shape (``--shape 1b``: Llama-3.2-1B's, ``8b``:
Llama-3.1-8B's; speed does not depend on the weights' values) with the embedded chat
model's tokenizer (SmolLM2) scores the adoption study's Likert plan: ``--personas`` x
``--items`` IPIP-NEO-120 items (the administration's own prompts, about 100 tokens, the
persona as system message), five options by log-probability. Three paths, one after
another on the same device and dtype:

  (a) a plain transformers loop: the rendered prompts in plan order, left-padded batches
      of ``--batch``, logits of the last position only, log-softmax, the five options;
  (b) ``hf/<folder>`` through the runner (store, cache, batching as a user gets it), the
      model saved with ``save_pretrained`` to a temporary folder; with shared-prefix
      reuse (default) and
  (c) the same without it (``share_prefix=false``).

It prints prompts/s of each, the ratios b/a and c/a, and how far the paths' option
log-probabilities are apart (largest absolute difference; share of items whose most
probable option agrees). ``--tiny`` runs a two-layer toy shape on a small plan in seconds
(the test suite runs it); ``--layers`` cuts a shape's depth for CPU measurements.

Run: ``python benchmarks/bench_gpu.py --shape 1b [--device cuda] [--batch 64]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from personascope.instruments.administration import Condition, item_prompt
from personascope.instruments.inventory import load_inventory
from personascope.models.base import ChatPrompt, ChoiceRequest, ChoiceResult
from personascope.models.providers import resolve
from personascope.runner import InProcessExecutor, Runner
from personascope.store import Store

SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    ),
    "1b": dict(  # Llama-3.2-1B
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=64,
        tie_word_embeddings=True,
        rope_theta=500000.0,
    ),
    "8b": dict(  # Llama-3.1-8B
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        tie_word_embeddings=False,
        rope_theta=500000.0,
    ),
}
OPTIONS = ("1", "2", "3", "4", "5")
JOBS = ("nurse", "welder", "poet", "banker", "farmer", "pilot", "chef", "teacher", "judge")
TRAITS = ("calm", "anxious", "tidy", "chaotic", "warm", "blunt", "curious", "cautious")


def personas(n: int) -> list[str]:
    """``n`` short persona descriptions (about 20 tokens each)."""
    return [
        f"You are a {22 + (7 * p) % 60}-year-old {JOBS[p % len(JOBS)]}, "
        f"{TRAITS[p % len(TRAITS)]} and {TRAITS[(p // len(TRAITS) + 3) % len(TRAITS)]}."
        for p in range(n)
    ]


def plan(n_personas: int, n_items: int) -> list[ChoiceRequest]:
    """The adoption study's choice requests: persona-major, items in inventory order."""
    inventory = load_inventory("ipip_neo_120")
    condition = Condition()
    return [
        ChoiceRequest(
            item_prompt(inventory, i % len(inventory.items), p, "chat", condition), OPTIONS
        )
        for p in personas(n_personas)
        for i in range(n_items)
    ]


def smollm2_tokenizer(path: str | None) -> Any:
    """SmolLM2's tokenizer: from ``path``, else from the embedded model's converted folder."""
    from transformers import AutoTokenizer

    if path is None:
        from personascope.models.hf_convert import converted_folder

        path = str(converted_folder(resolve("hf/smollm2-135m-instruct")))
    return AutoTokenizer.from_pretrained(path)


def build_model(shape: str, layers: int | None, vocab: int, device: str, dtype: torch.dtype):
    """A random-weight Llama of ``shape`` on ``device`` (initialised there, in ``dtype``)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = dict(SHAPES[shape])
    if layers:
        settings["num_hidden_layers"] = layers
    config = LlamaConfig(vocab_size=vocab, max_position_embeddings=2048, **settings)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    return model.eval()


def render(tokenizer: Any, prompt: ChatPrompt) -> str:
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text + prompt.assistant_prefix


def plain_loop(
    model: Any, tokenizer: Any, texts: list[str], batch: int
) -> tuple[float, list[list[float]]]:
    """(a): seconds and option log-probabilities of a plain transformers loop."""
    option_ids = torch.tensor(
        [tokenizer(o, add_special_tokens=False).input_ids[0] for o in OPTIONS], device=model.device
    )
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    out: list[list[float]] = []
    sync()
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        encoded = tokenizer(
            texts[start : start + batch],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(model.device)
        with torch.inference_mode():
            logits = model(**encoded, logits_to_keep=1).logits[:, -1]
        logprobs = torch.log_softmax(logits.float(), dim=-1)[:, option_ids]
        out += logprobs.cpu().tolist()
    sync()
    return time.perf_counter() - started, out


def through_runner(
    folder: Path, requests: list[ChoiceRequest], share: bool, args: argparse.Namespace
) -> tuple[float, list[ChoiceResult], dict[str, Any]]:
    """(b)/(c): seconds, results and provenance of ``hf/<folder>`` through the runner."""
    spec = resolve(f"hf/{folder}", device=args.device, share_prefix=share)
    executor = InProcessExecutor()
    model = executor.model(spec)
    model.score_choices(requests[: min(len(requests), 8)])  # warm-up, not stored
    with tempfile.TemporaryDirectory() as runs:
        store = Store(Path(runs) / "store.duckdb")
        batch = {"choice": args.runner_batch} if args.runner_batch else None
        runner = Runner(store, "bench", executor=executor, batch_size=batch, progress=False)
        sync()
        started = time.perf_counter()
        results = runner.score(spec, requests)
        sync()
        elapsed = time.perf_counter() - started
        store.close()
    info = dict(model.info.extra)
    executor.close()
    free()
    return elapsed, [r for r in results if isinstance(r, ChoiceResult)], info


def generation(folder: Path, n: int, args: argparse.Namespace) -> dict[str, float]:
    """Seeded sampling through ``hf/<folder>`` (the sampler on the device): ``n`` requests
    of 32 new tokens with top-k 50, top-p 0.95 and min-p 0.05; generated tokens/s."""
    from personascope.models.base import GenerationRequest, Message, SamplerSettings
    from personascope.models.providers import load_model

    model = load_model(resolve(f"hf/{folder}", device=args.device))
    prompt = ChatPrompt((Message("user", "Describe a person in two sentences."),))
    sampler = SamplerSettings(top_k=50, top_p=0.95, min_p=0.05, max_tokens=32)
    requests = [GenerationRequest(prompt, sampler, seed=s) for s in range(n)]
    model.generate(requests[:2])  # warm-up
    sync()
    started = time.perf_counter()
    results = model.generate(requests)
    sync()
    elapsed = time.perf_counter() - started
    model.close()
    free()
    tokens = sum(len(r.token_ids) for r in results)
    return {"requests": n, "tokens": tokens, "tokens_s": tokens / elapsed}


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def free() -> None:
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def agreement(a: list[list[float]], b: list[list[float]]) -> dict[str, float]:
    """Largest absolute log-probability difference; share of equal argmax options."""
    gap = max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb))
    same = sum(ra.index(max(ra)) == rb.index(max(rb)) for ra, rb in zip(a, b, strict=True))
    return {"max_abs_diff": gap, "argmax_agree": same / len(a)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    parser.add_argument("--tiny", action="store_true", help="toy shape, small plan, CPU")
    parser.add_argument("--layers", type=int, default=0, help="cut the shape to N layers")
    parser.add_argument("--personas", type=int, default=50)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--batch", type=int, default=64, help="plain loop's batch size")
    parser.add_argument("--runner-batch", type=int, default=0, help="runner's (0: default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--tokenizer", help="SmolLM2 tokenizer folder (default: embedded)")
    parser.add_argument("--workdir", help="where the model folder is written (default: tmp)")
    parser.add_argument("--no-unshared", action="store_true", help="skip path (c)")
    parser.add_argument("--generate", type=int, default=0, help="also time N generations")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.tiny:
        args.shape, args.device = "tiny", "cpu"
        args.personas, args.items = min(args.personas, 3), min(args.items, 12)
        args.batch = min(args.batch, 16)

    from personascope.models.hf_device import load_device, resolved_dtype

    options = {"device": args.device, "dtype": args.dtype}
    device = load_device(options, "bench")
    dtype_name = resolved_dtype(options, "bench")
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    args.dtype = dtype_name
    tokenizer = smollm2_tokenizer(args.tokenizer)
    requests = plan(args.personas, args.items)
    texts = [render(tokenizer, r.prompt) for r in requests if isinstance(r.prompt, ChatPrompt)]
    lengths = [len(tokenizer(t, add_special_tokens=False).input_ids) for t in texts]

    started = time.perf_counter()
    model = build_model(args.shape, args.layers, len(tokenizer), device, dtype)
    built_s = time.perf_counter() - started
    n_params = sum(p.numel() for p in model.parameters())
    plain_loop(model, tokenizer, texts[: args.batch], args.batch)  # warm-up
    plain_s, plain = plain_loop(model, tokenizer, texts, args.batch)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp) / f"llama-{args.shape}"
        started = time.perf_counter()
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        saved_s = time.perf_counter() - started
        del model
        free()
        shared_s, shared, info = through_runner(folder, requests, True, args)
        figures: dict[str, Any] = {
            "shape": args.shape,
            "layers": args.layers or SHAPES[args.shape]["num_hidden_layers"],
            "n_params": n_params,
            "device": info["device"],
            "dtype": dtype_name,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "prompts": len(requests),
            "mean_prompt_tokens": sum(lengths) / len(lengths),
            "plain_batch": args.batch,
            "runner_batch": args.runner_batch or "default",
            "build_s": built_s,
            "save_s": saved_s,
            "plain_prompts_s": len(requests) / plain_s,
            "shared_prompts_s": len(requests) / shared_s,
            "shared_vs_plain": plain_s / shared_s,
            "shared_vs_plain_agreement": agreement([list(r.logprobs) for r in shared], plain),
        }
        if not args.no_unshared:
            unshared_s, unshared, _ = through_runner(folder, requests, False, args)
            figures |= {
                "unshared_prompts_s": len(requests) / unshared_s,
                "unshared_vs_plain": plain_s / unshared_s,
                "unshared_vs_plain_agreement": agreement(
                    [list(r.logprobs) for r in unshared], plain
                ),
                "shared_vs_unshared_agreement": agreement(
                    [list(r.logprobs) for r in shared], [list(r.logprobs) for r in unshared]
                ),
            }
        if args.generate:
            figures["generation"] = generation(folder, args.generate, args)
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


def report(f: dict[str, Any]) -> None:
    print(
        f"{f['shape']} shape ({f['layers']} layers, {f['n_params'] / 1e9:.2f}B parameters), "
        f"{f['device']} {f['gpu'] or ''}, {f['dtype']}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"workload: {f['prompts']} prompts of {f['mean_prompt_tokens']:.0f} tokens on average, "
        f"5 options; plain batch {f['plain_batch']}, runner batch {f['runner_batch']}"
    )
    print(f"  (a) plain transformers loop     {f['plain_prompts_s']:8.1f} prompts/s")
    print(
        f"  (b) hf/ runner, shared prefix   {f['shared_prompts_s']:8.1f} prompts/s  "
        f"b/a = {f['shared_vs_plain']:.2f}"
    )
    if "unshared_prompts_s" in f:
        print(
            f"  (c) hf/ runner, no sharing      {f['unshared_prompts_s']:8.1f} prompts/s  "
            f"c/a = {f['unshared_vs_plain']:.2f}"
        )
    for name in ("shared_vs_plain", "unshared_vs_plain", "shared_vs_unshared"):
        if f"{name}_agreement" in f:
            a = f[f"{name}_agreement"]
            print(
                f"  {name.replace('_vs_', ' vs ')}: max |d logprob| {a['max_abs_diff']:.2e}, "
                f"argmax agree {100 * a['argmax_agree']:.1f}%"
            )
    if "generation" in f:
        g = f["generation"]
        print(
            f"  generation through hf/ (device sampler): {g['requests']} requests, "
            f"{g['tokens']} tokens, {g['tokens_s']:.0f} tokens/s"
        )
    assert all(math.isfinite(v) for k, v in f.items() if k.endswith("prompts_s"))


if __name__ == "__main__":
    main()
