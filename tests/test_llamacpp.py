"""The embedded llama.cpp backend on the real embedded models."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from personascope.errors import ModelLoadError, PromptTooLongError
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    GenerationRequest,
    Message,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.eval_blocks import BLOCK_SIZE, SCHEME, block_ends, ends_paragraph
from personascope.models.llamacpp import common_prefix_length
from personascope.models.providers import load_model, resolve

LIKERT = ("1", "2", "3", "4", "5")
PERSONA = (
    "You are Marta Kowalski, a 58-year-old night-shift nurse from Gdansk. You are blunt, "
    "tidy, anxious about money and you dislike parties. " * 6
)
ITEMS = [
    "I am the life of the party.",
    "I get stressed out easily.",
    "I leave my belongings around.",
    "I have a vivid imagination.",
    "I sympathize with others' feelings.",
]


def item_prompt(item: str) -> TextPrompt:
    return TextPrompt(
        f"{PERSONA}\nRate how well the statement describes you, from 1 (very inaccurate) to "
        f"5 (very accurate).\nStatement: {item}\nAnswer: "
    )


def test_chat_prompt_is_rendered_with_the_gguf_chatml_template(smollm2):
    text = smollm2.render(
        ChatPrompt((Message("system", "Be brief."), Message("user", "Hi")), "Answer: ")
    )
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nAnswer: "
    )
    assert smollm2.info.kind == "chat"


def test_the_base_model_has_no_chat_template_and_refuses_chat_prompts(gemma):
    assert gemma.info.kind == "base"
    with pytest.raises(ModelLoadError, match="base model"):
        gemma.generate([GenerationRequest(ChatPrompt((Message("user", "hi"),)))])


@pytest.mark.parametrize("model_name", ["smollm2", "gemma"])
def test_seeded_generation_does_not_depend_on_what_ran_before(model_name, request):
    model = request.getfixturevalue(model_name)
    settings = SamplerSettings(temperature=1.0, max_tokens=24)
    target = GenerationRequest(TextPrompt("My name is"), settings, seed=11)
    first = model.generate([target])[0]
    # other work in between leaves a different KV cache behind
    model.generate([GenerationRequest(TextPrompt("My name is Anna and"), settings, seed=3)])
    model.score_choices([ChoiceRequest(item_prompt(ITEMS[0]), LIKERT)])
    again = model.generate([target])[0]
    other_seed = model.generate([GenerationRequest(TextPrompt("My name is"), settings, 12)])[0]
    assert again == first
    assert other_seed.text != first.text
    assert len(first.token_ids) == len(first.token_logprobs) > 0
    assert all(lp <= 0 for lp in first.token_logprobs)


def test_generation_records_entropy_and_stops(smollm2):
    settings = SamplerSettings(temperature=1.0, max_tokens=40, stop=(".",))
    results = smollm2.generate(
        [
            GenerationRequest(TextPrompt("Alice lives in"), settings, seed=s, want_entropy=True)
            for s in range(4)
        ]
    )
    for result in results:
        assert "." not in result.text
        assert result.entropies is not None
        assert len(result.entropies) == len(result.token_ids)
        assert all(h >= 0 for h in result.entropies)
    stopped = [r for r in results if r.finish_reason == "stop"]
    assert stopped, "no sample hit the stop string or EOS in 40 tokens"
    capped = smollm2.generate(
        [GenerationRequest(TextPrompt("One, two, three,"), SamplerSettings(max_tokens=5), 1)]
    )[0]
    assert capped.finish_reason == "length"
    assert len(capped.token_ids) == 5


def test_choice_probabilities_are_a_distribution_with_mass_below_one(gemma):
    result = gemma.score_choices([ChoiceRequest(item_prompt(ITEMS[1]), LIKERT)])[0]
    assert sum(result.probs) == pytest.approx(1.0)
    assert 0.0 < result.option_mass <= 1.0
    assert result.option_mass == pytest.approx(sum(math.exp(lp) for lp in result.logprobs))


def test_shared_prefixes_are_evaluated_once_and_give_identical_scores(smollm2):
    requests = [ChoiceRequest(item_prompt(item), LIKERT) for item in ITEMS]
    fresh = []
    for request in requests:
        smollm2.score_choices([ChoiceRequest(TextPrompt("Unrelated text."), LIKERT)])
        fresh.append(smollm2.score_choices([request])[0])
    before = smollm2.n_evaluated
    batched = smollm2.score_choices(requests)
    evaluated = smollm2.n_evaluated - before
    prompt_tokens = len(smollm2.tokenize_prompt(requests[0].prompt))
    assert batched == fresh  # bit-identical, whatever was in the cache before
    # the ~300-token persona prefix is paid once, then only the item suffixes (< 64 each)
    assert evaluated < prompt_tokens + 64 * (len(requests) - 1)


def test_blocks_end_at_paragraph_breaks_however_the_newlines_are_tokenized():
    assert ends_paragraph(["a", "\n", "\n", "b"]) == [False, False, True, False]
    assert ends_paragraph(["a.\n\n", "b", "\n"]) == [True, False, False]
    assert block_ends([False] * 70) == [32, 64]
    assert block_ends([False, True] + [False] * 40) == [2, 34]


def test_block_ends_of_a_prefix_are_the_prompts_block_ends_inside_it():
    """The property prefix reuse rests on: a prefix is cut where the whole prompt is."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        breaks = list(rng.random(int(rng.integers(1, 150))) < 0.05)
        ends = block_ends(breaks)
        assert all(0 < b - a <= BLOCK_SIZE for a, b in itertools.pairwise([0, *ends]))
        for k in range(1, len(breaks) + 1):
            assert block_ends(breaks[:k]) == [e for e in ends if e <= k]


@pytest.mark.parametrize("model_name", ["smollm2", "gemma"])
def test_items_after_a_paragraph_break_reevaluate_only_from_the_break(model_name, request):
    model = request.getfixturevalue(model_name)
    requests = [
        ChoiceRequest(TextPrompt(f"{PERSONA}\n\nStatement: {item}\nAnswer (1 to 5): "), LIKERT)
        for item in ITEMS
    ]
    fresh = []
    for one in requests:
        model.score_choices([ChoiceRequest(TextPrompt("Unrelated text."), LIKERT)])
        fresh.append(model.score_choices([one])[0])
    tokens = [model.tokenize_prompt(r.prompt) for r in requests]
    for i in range(1, len(requests)):
        model.score_choices([requests[i - 1]])
        before = model.n_evaluated
        assert model.score_choices([requests[i]]) == [fresh[i]]
        suffix = len(tokens[i]) - common_prefix_length(tokens[i - 1], tokens[i])
        # the item's own tokens plus "Statement:" after the break, not up to 31 more
        assert suffix <= model.n_evaluated - before <= suffix + 4
    assert resolve(model.info.model_id).key.endswith(f"#{SCHEME}")
    assert len(model.info.file_sha256) == 64


def test_multi_token_options_are_scored_as_whole_continuations(gemma):
    prompt = TextPrompt("The capital city of France is")
    result = gemma.score_choices([ChoiceRequest(prompt, (" Paris", " Lyon", " Berlin"))])[0]
    paris, lyon, berlin = result.logprobs
    assert paris > lyon and paris > berlin
    # a two-token continuation is less likely than its first token alone
    two = gemma.score_choices([ChoiceRequest(prompt, (" Paris is", " Paris"))])[0]
    assert two.logprobs[0] < two.logprobs[1]


def test_a_prompt_longer_than_the_context_is_refused(smollm2):
    long_prompt = TextPrompt("word " * 5000)
    with pytest.raises(PromptTooLongError, match="does not fit the context"):
        smollm2.score_choices([ChoiceRequest(long_prompt, LIKERT)])


def test_a_corrupt_gguf_file_gives_a_load_error(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_model(resolve(f"llamacpp/{bad}"))
