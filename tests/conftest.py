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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that hold a ``slow`` test first, each module's tests in their own
    order. Under ``pytest -n 2 --dist loadfile`` (scripts/test.sh) whole modules go to the
    workers in this order, so the long modules start at once instead of ending the run on
    one worker while the other idles."""
    has_slow = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in has_slow)
