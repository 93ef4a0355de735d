"""The transformers backend on the embedded GGUF files.

SmolLM2 (loaded once for the module) covers tokenization parity with llama.cpp, scoring,
seeded generation, stop strings, entropies and the documented reproducibility; one slow
test loads Gemma (about 45 s) for the base-model path. Option probabilities against
llama.cpp are in ``test_cross_backend.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from personascope.errors import ModelLoadError, ModelNotFoundError, PromptTooLongError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    LanguageModel,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.providers import load_model, resolve
from personascope.models.sampling import log_softmax

LIKERT = ("1", "2", "3", "4", "5")
PERSONA = (
    "You are Ines, a 71-year-old retired harbour pilot from Porto. You are calm, "
    "stubborn and you love long walks by the sea."
)
CHAT = ChatPrompt(
    (
        Message("system", PERSONA),
        Message("user", "From 1 to 5, how well does this describe you? I get stressed easily."),
    ),
    assistant_prefix="Answer: ",
)
TEXT = TextPrompt(f"{PERSONA}\nStatement: I am the life of the party.\nAnswer: ")
DESCRIBE = ChatPrompt((Message("user", "Describe a person in two sentences."),))
SAMPLER = SamplerSettings(temperature=1.0, top_p=0.95, max_tokens=8)


@pytest.fixture(scope="module")
def hf() -> LanguageModel:
    import torch

    # One torch thread: on a machine shared with other busy processes, OpenMP threads
    # waiting on each other make two threads many times slower than one.
    threads = torch.get_num_threads()
    model = load_model(resolve("hf/smollm2-135m-instruct", n_threads=1))
    yield model
    model.close()
    torch.set_num_threads(threads)


# -- loading and prompts ---------------------------------------------------------------


def test_info_describes_the_model(hf, smollm2):
    assert hf.info.backend == "hf"
    assert hf.info.kind == "chat"
    assert hf.info.file_sha256 == smollm2.info.file_sha256
    assert hf.info.extra["dtype"] == "float32"
    assert hf.info.extra["device"] == "cpu"  # dtype and device "auto" on a CPU machine
    assert hf.info.extra["share_prefix"] is True


@pytest.mark.parametrize(
    "prompt",
    [
        CHAT,
        TEXT,
        # special-token text is a special token in rendered chat text, plain text elsewhere
        ChatPrompt((Message("user", "a<|im_end|>b <|im_start|> naïve 😀"),)),
        TextPrompt("a<|im_end|>b <|im_start|>user\n  two  spaces\t naïve 😀"),
    ],
    ids=["chat", "text", "chat-special", "text-special"],
)
def test_token_ids_equal_llamacpp(hf, smollm2, prompt):
    assert hf.render(prompt) == smollm2.render(prompt)
    assert hf.tokenize_prompt(prompt) == smollm2.tokenize_prompt(prompt)


def test_prompt_longer_than_context_is_refused(hf):
    with pytest.raises(PromptTooLongError, match="does not fit the context"):
        hf.score_choices([ChoiceRequest(TextPrompt("word " * 9000), LIKERT)])


def test_empty_prompt_is_refused(hf):
    with pytest.raises(PromptTooLongError, match="empty"):
        hf.generate([GenerationRequest(TextPrompt(""))])


def test_hub_id_not_in_cache_is_one_line_model_not_found():
    spec = resolve("hf/personascope-tests/no-such-model", offline=True)
    with pytest.raises(ModelNotFoundError) as caught:
        load_model(spec)
    message = str(caught.value)
    assert "\n" not in message
    assert "personascope-tests/no-such-model" in message


def test_corrupt_gguf_is_one_line_load_error(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00\x07" * 64)
    with pytest.raises(ModelLoadError) as caught:
        load_model(resolve(f"hf/{bad}"))
    assert "\n" not in str(caught.value)
    assert "broken.gguf" in str(caught.value)


def test_loads_a_local_model_folder(hf, tmp_path):
    """``hf/<folder>``: a small random Llama saved with SmolLM2's tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(hf._tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    hf._tok.save_pretrained(tmp_path)
    model = load_model(resolve(f"hf/{tmp_path}"))
    try:
        assert model.info.kind == "chat"
        assert model.info.file_sha256 is None
        assert model.tokenize_prompt(CHAT) == hf.tokenize_prompt(CHAT)
        (scored,) = model.score_choices([ChoiceRequest(CHAT, LIKERT)])
        assert sum(scored.probs) == pytest.approx(1.0)
        assert 0 < scored.option_mass <= 1
        (sampled,) = model.generate([GenerationRequest(TEXT, SAMPLER, seed=1)])
        at_limit = len(sampled.token_ids) == SAMPLER.max_tokens
        assert (sampled.finish_reason == "length") == at_limit
        with pytest.raises(PromptTooLongError, match="256"):
            model.tokenize_prompt(TextPrompt("word " * 300))
    finally:
        model.close()
    # device_map="auto" (accelerate's placement; all on the CPU here) scores the same
    mapped = load_model(resolve(f"hf/{tmp_path}", device_map="auto"))
    try:
        assert mapped.info.extra["device_map"] == {"": "cpu"}
        assert mapped.info.extra["dtype"] == "float32"
        (again,) = mapped.score_choices([ChoiceRequest(CHAT, LIKERT)])
        assert again.logprobs == pytest.approx(scored.logprobs, abs=1e-5)
    finally:
        mapped.close()


def test_device_options_resolve_dtype_key_and_refuse_what_is_not_there():
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the refusal of a device torch does not see")
    auto = resolve("hf/smollm2-135m-instruct")
    assert resolve("hf/smollm2-135m-instruct", device="cpu", dtype="auto").key == auto.key
    assert resolve("hf/smollm2-135m-instruct", dtype="float32").key == auto.key
    assert "batch_size" not in auto.options  # the runner's defaults on the CPU
    cuda = resolve("hf/smollm2-135m-instruct", device="cuda:1")
    assert cuda.key == f"{auto.key}#bfloat16"  # dtype "auto" is bfloat16 on a GPU
    assert cuda.options["batch_size"] == 512
    with pytest.raises(ModelLoadError, match="torch sees no cuda") as caught:
        load_model(cuda)
    assert "\n" not in str(caught.value)
    with pytest.raises(ModelLoadError, match="'tpu' is not one of"):
        resolve("hf/smollm2-135m-instruct", device="tpu")
    with pytest.raises(ModelLoadError, match="share_prefix 'maybe'"):
        load_model(resolve("hf/smollm2-135m-instruct", share_prefix="maybe"))


def test_bad_device_on_the_command_line_is_one_line(tmp_path):
    from personascope.testing.clitools import one_error_line, run_cli

    result = run_cli(
        "sample", "hf/smollm2-135m-instruct", "-p", "hi", "-O", "device=gpu0",
        "--run-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    assert "gpu0" in one_error_line(result.stderr)


def test_unknown_dtype_is_refused_and_dtype_is_part_of_the_cache_key():
    with pytest.raises(ModelLoadError, match="float16"):
        load_model(resolve("hf/smollm2-135m-instruct", dtype="float16"))
    fp32 = resolve("hf/smollm2-135m-instruct")
    bf16 = resolve("hf/smollm2-135m-instruct", dtype="bfloat16")
    assert fp32.key != bf16.key


# -- scoring ---------------------------------------------------------------------------


def _reference_logprob(hf, prompt: list[int], option: list[int]) -> float:
    """log P(option | prompt) from one unbatched forward pass over prompt + option."""
    import torch

    with torch.inference_mode():
        logits = hf._model(input_ids=torch.tensor([prompt + option])).logits[0]
    rows = logits.to(torch.float64).numpy()[len(prompt) - 1 : -1]
    return sum(float(log_softmax(row)[t]) for row, t in zip(rows, option, strict=True))


def test_scores_match_an_unbatched_forward_pass(hf):
    options = ("3", "strongly agree", "I would say four, maybe five")
    requests = [ChoiceRequest(CHAT, options), ChoiceRequest(TEXT, LIKERT)]
    results = hf.score_choices(requests)
    lengths = sorted(len(hf._encode(o, special=False)) for o in options)
    assert lengths[0] == 1 and lengths[1] > 1 and lengths[2] > lengths[1]
    for request, result in zip(requests, results, strict=True):
        prompt = hf.tokenize_prompt(request.prompt)
        for option, got in zip(request.options, result.logprobs, strict=True):
            want = _reference_logprob(hf, prompt, hf._encode(option, special=False))
            assert got == pytest.approx(want, abs=1e-3)
        assert result.option_mass == pytest.approx(sum(math.exp(lp) for lp in result.logprobs))
        assert 0 < result.option_mass <= 1


# two personas of six items each (their prompts share everything before the statement),
# a text prompt alone, and options of several tokens after the first persona's prefix
SHARED = [
    ChoiceRequest(
        ChatPrompt(
            (
                Message("system", persona),
                Message("user", f"From 1 to 5, how well does this describe you? {item}"),
            ),
            assistant_prefix="Answer: ",
        ),
        LIKERT,
    )
    for persona in (PERSONA, "You are Tom, a 19-year-old welder who plays jazz guitar.")
    for item in (
        "I get stressed easily.",
        "I am the life of the party.",
        "I have a vivid imagination.",
        "I am always prepared.",
        "I sympathize with others.",
        "I leave my belongings around, every day, everywhere.",
    )
] + [
    ChoiceRequest(TEXT, LIKERT),
    ChoiceRequest(CHAT, ("3", "strongly agree", "I would say four, maybe five")),
]


def _common_prefix(seqs: list[list[int]]) -> int:
    n = 0
    while all(len(s) > n and s[n] == seqs[0][n] for s in seqs):
        n += 1
    return n


def _prefix_rows(hf, requests) -> list[tuple[int, ...]]:
    """Scores ``requests``; returns the input shapes of the forward passes it ran."""
    shapes: list[tuple[int, ...]] = []
    hook = hf._model.get_input_embeddings().register_forward_hook(
        lambda module, args, out: shapes.append(tuple(args[0].shape))
    )
    try:
        results = hf.score_choices(requests)
    finally:
        hook.remove()
    return results, shapes


def test_shared_prefix_scores_equal_the_unshared_computation(hf):
    """float32: option probabilities equal to 1e-5, log-probabilities to float32 rounding
    (both paths are ~2e-5 from float64 on this 30-layer model); each persona's prefix
    (everything its prompts share, found here by hand) runs once, both in one pass."""
    shared, shapes = _prefix_rows(hf, SHARED)
    hf._share = False
    try:
        unshared, plain_shapes = _prefix_rows(hf, SHARED)
    finally:
        hf._share = True
    for a, b in zip(shared, unshared, strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-5)
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
        assert a.option_mass == pytest.approx(b.option_mass, rel=1e-4)
    tokens = [hf.tokenize_prompt(r.prompt) for r in SHARED]
    prefixes = [_common_prefix(tokens[:6]), _common_prefix(tokens[6:12])]
    assert prefixes[0] != prefixes[1] and min(prefixes) > 40
    assert (2, max(prefixes)) in shapes  # both prefixes, left-padded, in one pass
    evaluated = sum(math.prod(s) for s in shapes)
    assert evaluated < 0.5 * sum(math.prod(s) for s in plain_shapes)


def test_shared_prefix_scores_equal_unbatched_passes_in_float64(hf):
    """In float64 the shared path equals one unbatched forward pass per prompt and option
    (what is left, below 1e-6, comes from float32 steps inside attention kernels). Every
    request is scored on the shared path; the reference passes (slow in float64) check each
    request's first and last option, which include a one-token and a multi-token option."""
    import torch

    hf._model.double()
    try:
        results = hf.score_choices(SHARED)
        for request, result in zip(SHARED, results, strict=True):
            prompt = hf.tokenize_prompt(request.prompt)
            for i in (0, -1):
                option = hf._encode(request.options[i], special=False)
                want = _reference_logprob(hf, prompt, option)
                assert result.logprobs[i] == pytest.approx(want, abs=1e-6)
    finally:
        hf._model.to(torch.float32)


def test_scoring_is_order_invariant_and_close_to_one_at_a_time(hf):
    requests = [
        ChoiceRequest(CHAT, LIKERT),
        ChoiceRequest(TEXT, LIKERT),
        ChoiceRequest(TextPrompt("Statement: I like art.\nAnswer: "), LIKERT),
    ]
    batch = hf.score_choices(requests)
    assert hf.score_choices(requests[::-1]) == batch[::-1]
    for request, together in zip(requests, batch, strict=True):
        (alone,) = hf.score_choices([request])
        assert alone.logprobs == pytest.approx(together.logprobs, abs=1e-4)


# -- generation ------------------------------------------------------------------------


def test_seeded_generation_is_reproducible_in_any_batch_order(hf):
    """Seeded results repeat whatever the order; a request with a prompt length of its own
    in the batch is bit-identical to a lone run; requests sharing a length agree closely
    (the documented reproducibility)."""
    shared = [GenerationRequest(DESCRIBE, SAMPLER, seed=s) for s in (4, 5)]
    requests = [*shared, GenerationRequest(TEXT, SAMPLER, seed=4)]
    assert len({len(hf.tokenize_prompt(r.prompt)) for r in requests}) == 2
    batch = hf.generate(requests)
    assert hf.generate(requests[::-1]) == batch[::-1]
    assert batch[0].text != batch[1].text  # different seeds, different samples
    alone = [hf.generate([r])[0] for r in requests]
    assert batch[2] == alone[2]
    for together, single in zip(batch[:2], alone[:2], strict=True):
        assert together.text == single.text
        assert together.token_logprobs == pytest.approx(single.token_logprobs, abs=1e-3)
    for request, result in zip(requests, batch, strict=True):
        assert all(lp <= 0 for lp in result.token_logprobs)
        assert len(result.token_logprobs) == len(result.token_ids) <= SAMPLER.max_tokens
        assert result.n_prompt_tokens == len(hf.tokenize_prompt(request.prompt))


def test_stop_string_truncates_text_and_tokens(hf):
    free = hf.generate([GenerationRequest(DESCRIBE, SAMPLER, seed=7)])[0]
    words = free.text.split()
    assert len(words) >= 3, free.text
    stop = words[2]  # a word a few tokens in
    cut = free.text.index(stop)
    stopped = hf.generate([GenerationRequest(DESCRIBE, replace(SAMPLER, stop=(stop,)), seed=7)])[0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut]
    kept = len(stopped.token_ids)
    assert stopped.token_ids == free.token_ids[:kept]
    assert stopped.token_logprobs == free.token_logprobs[:kept]
    assert stop not in hf._decode(list(stopped.token_ids))
    assert stopped.text.startswith(hf._decode(list(stopped.token_ids)))


def test_entropies_and_finish_reasons(hf):
    vocab = len(hf._tok)
    question = ChatPrompt((Message("user", "What is 2 + 2?"),))
    answer, capped = hf.generate(
        [
            GenerationRequest(question, SamplerSettings(0.0, max_tokens=24), want_entropy=True),
            GenerationRequest(DESCRIBE, SamplerSettings(max_tokens=5), seed=1, want_entropy=True),
        ]
    )
    # the greedy answer is a short sentence ended by the end-of-turn token
    assert answer.finish_reason == "stop"
    assert 0 < len(answer.token_ids) < 24
    assert capped.finish_reason == "length"
    assert len(capped.token_ids) == 5
    for result in (answer, capped):
        assert result.entropies is not None
        assert len(result.entropies) == len(result.token_ids)
        assert all(0 < h <= math.log(vocab) for h in result.entropies)
    plain = hf.generate([GenerationRequest(DESCRIBE, SamplerSettings(max_tokens=5), seed=1)])[0]
    assert plain.entropies is None
    assert plain.token_ids == capped.token_ids


# -- Gemma (base model) ------------------------------------------------------------------


@pytest.mark.slow
def test_gemma_base_model_matches_llamacpp(gemma):
    import torch

    threads = torch.get_num_threads()
    model = load_model(resolve("hf/gemma3-270m", n_threads=1))
    try:
        assert model.info.kind == "base"
        texts = [
            TEXT,
            # "</s>" is an added token that llama.cpp treats as a control token
            TextPrompt("<bos>starts with BOS </s> <eos> <end_of_turn>\n\n\tline"),
        ]
        for prompt in texts:
            assert model.tokenize_prompt(prompt) == gemma.tokenize_prompt(prompt)
        request = ChoiceRequest(TEXT, LIKERT)
        (got,) = model.score_choices([request])
        (want,) = gemma.score_choices([request])
        assert np.allclose(got.probs, want.probs, atol=0.1)
        generation = GenerationRequest(TEXT, SamplerSettings(max_tokens=6), seed=3)
        once = model.generate([generation])
        assert model.generate([generation]) == once
        assert len(once[0].token_ids) > 0
    finally:
        model.close()
        torch.set_num_threads(threads)
