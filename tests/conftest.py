"""Shared fixtures: the embedded models, loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def smollm2():
    from personascope.models.providers import load_model, resolve

    model = load_model(resolve("llamacpp/smollm2-135m-instruct"))
    yield model
    model.close()


@pytest.fixture(scope="session")
def gemma():
    from personascope.models.providers import load_model, resolve

    model = load_model(resolve("llamacpp/gemma3-270m"))
    yield model
    model.close()
