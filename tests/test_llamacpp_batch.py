"""Batched generation in the llama.cpp backend: a result does not depend on its batch."""

from __future__ import annotations

import pytest

from personascope.models.base import GenerationRequest, SamplerSettings, TextPrompt

PROMPTS = [
    "My name is",
    "Write a short persona.\n\nName:",
    "The weather today",
    "Once upon a time, in a village",
    "I am a nurse and",
    "Q: what is 2+2?\nA:",
    "Hello",
    "Describe yourself in one sentence:",
    "My favourite food is",
]


def requests() -> list[GenerationRequest]:
    """Nine requests (more than the eight slots) of different lengths, one with a stop
    string, so that slots free at different steps and are refilled mid-batch."""
    out = []
    for i, prompt in enumerate(PROMPTS):
        settings = SamplerSettings(
            temperature=1.0, max_tokens=4 + i, stop=("\n",) if i == 4 else ()
        )
        out.append(GenerationRequest(TextPrompt(prompt), settings, seed=i))
    return out


@pytest.mark.parametrize("model_name", ["smollm2", "gemma"])
def test_a_request_alone_and_in_batches_of_other_compositions_gives_the_same_tokens(
    model_name, request
):
    model = request.getfixturevalue(model_name)
    batch = requests()
    together = model.generate(batch)
    assert model._generation.width >= 2  # sequences really were decoded together
    alone = [model.generate([r])[0] for r in batch]
    other = model.generate([batch[5], batch[0], batch[8], batch[2]])
    for i, result in enumerate(together):
        assert result == alone[i], i
        assert len(result.token_ids) > 0
    assert [other[1], other[0], other[3], other[2]] == [alone[0], alone[5], alone[2], alone[8]]
    assert together[4].finish_reason == "stop" or len(together[4].token_ids) == 8
    assert [len(r.token_ids) <= 4 + i for i, r in enumerate(together)] == [True] * 9
