"""The same ``score_choices`` request gives the same option probabilities on every backend.

The reference is the in-process llama.cpp backend (session fixture ``smollm2``); each leg
loads the same SmolLM2 GGUF file through another backend and must agree within 0.1 per
option (transformers dequantizes the GGUF to fp32 while llama.cpp runs quantized kernels).
Add a backend by adding a loader to ``LEGS`` (and to ``PREFILL_LEGS`` when it can pre-fill an
assistant turn, so that it also scores the chat form of the items).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    LanguageModel,
    Message,
    TextPrompt,
)
from personascope.models.llamacpp import LlamaCppModel
from personascope.models.providers import load_model, resolve
from personascope.testing.servers import LlamaServer, smollm2_gguf

TOLERANCE = 0.1
LIKERT = ("1", "2", "3", "4", "5")
PERSONAS = (
    "You are Ines, a 71-year-old retired harbour pilot from Porto. You are calm, stubborn "
    "and you love long walks by the sea.",
    "You are Kwame, a 19-year-old computer-science student in Accra who organises parties "
    "and rarely sleeps.",
)
ITEMS = ("I am the life of the party.", "I get stressed out easily.")
REQUESTS = [
    ChoiceRequest(
        TextPrompt(
            f"{persona}\nRate how well the statement describes you, from 1 (very "
            f"inaccurate) to 5 (very accurate).\nStatement: {item}\nAnswer: "
        ),
        LIKERT,
    )
    for persona in PERSONAS
    for item in ITEMS
]
# The same items as a chat whose assistant turn is pre-filled with "Answer: ".
CHAT_REQUESTS = [
    ChoiceRequest(
        ChatPrompt(
            (
                Message("system", persona),
                Message(
                    "user",
                    "Rate how well the statement describes you, from 1 (very inaccurate) "
                    f"to 5 (very accurate).\nStatement: {item}",
                ),
            ),
            assistant_prefix="Answer: ",
        ),
        LIKERT,
    )
    for persona in PERSONAS
    for item in ITEMS
]


@pytest.fixture(scope="module")
def smollm2_server():
    with LlamaServer(smollm2_gguf(), alias="smollm2", n_threads=1) as running:
        yield running


def _llamacpp(request: pytest.FixtureRequest) -> LanguageModel:
    """A fresh load on one thread: results depend neither on what the session model
    evaluated before nor on the thread count."""
    return LlamaCppModel(resolve("llamacpp/smollm2-135m-instruct"), n_threads=1)


def _hf(request: pytest.FixtureRequest) -> LanguageModel:
    return load_model(resolve("hf/smollm2-135m-instruct"))


def _openai_api(request: pytest.FixtureRequest) -> LanguageModel:
    server = request.getfixturevalue("smollm2_server")
    return load_model(resolve("openai-api/smollm2", base_url=server.base_url, timeout=120))


LEGS: dict[str, Callable[[pytest.FixtureRequest], LanguageModel]] = {
    "llamacpp": _llamacpp,
    "hf": _hf,
    "openai-api": _openai_api,
}
# Legs that can pre-fill an assistant turn also score CHAT_REQUESTS (llama-cpp-python's
# server cannot continue a final assistant message).
PREFILL_LEGS = {"llamacpp", "hf"}


@pytest.fixture(scope="module")
def reference(smollm2):
    return smollm2.score_choices(REQUESTS + CHAT_REQUESTS)


@pytest.mark.parametrize("backend", list(LEGS))
def test_option_probabilities_agree_with_llamacpp(backend, request, reference):
    requests = REQUESTS + (CHAT_REQUESTS if backend in PREFILL_LEGS else [])
    model = LEGS[backend](request)
    try:
        results = model.score_choices(requests)
    finally:
        model.close()
    for got, want in zip(results, reference[: len(requests)], strict=True):
        assert got.n_fallback == 0, got.notes
        assert got.probs == pytest.approx(want.probs, abs=TOLERANCE)
