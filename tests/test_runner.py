"""The runner and store: cache hits, partial plans, duplicates, persistence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from personascope.errors import BackendError
from personascope.models.base import (
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    SamplerSettings,
    TextPrompt,
    request_hash,
)
from personascope.models.catalog import ModelSpec
from personascope.models.providers import resolve
from personascope.runner import BatchOutcome, Runner, plan_batches
from personascope.store import ResultRow, Store

SETTINGS = SamplerSettings(temperature=1.0, max_tokens=12)


def plan(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(TextPrompt("A person:"), SETTINGS, seed=i) for i in range(n)]


@pytest.fixture(scope="module")
def spec():
    return resolve("llamacpp/smollm2-135m-instruct")


def test_a_rerun_executes_only_what_is_missing(tmp_path, spec):
    with Store(tmp_path) as store:
        runner = Runner(store, store.start_run("test", {}), progress=False)
        partial = runner.generate(spec, plan(5))
        assert runner.executed == 5
        full = runner.generate(spec, plan(9))
        assert runner.executed == 9  # only the 4 new requests ran
        assert runner.cached == 5
        assert full[:5] == partial
        runner.executor.close()
    with Store(tmp_path) as reopened:
        again = Runner(reopened, reopened.start_run("test", {}), progress=False)
        assert again.generate(spec, plan(9)) == full
        assert again.executed == 0
        assert reopened.count_results(spec.key) == 9
        assert spec.key in reopened.models()


def test_duplicate_requests_run_once_and_answer_every_position(tmp_path, spec):
    choice = ChoiceRequest(TextPrompt("Pick a number. Answer: "), ("1", "2", "3"))
    with Store(tmp_path) as store:
        runner = Runner(store, "r", progress=False)
        results = runner.score(spec, [choice, choice, choice])
        assert runner.executed == 1
        assert results[0] == results[1] == results[2]
        runner.executor.close()


FAULTY = ModelSpec("test/faulty", "test", "faulty", "base", key="test@faulty")
FAULTY_INFO = ModelInfo("test/faulty", "base", None, None, "test", "0", ())


class FaultyExecutor:
    """Answers each batch wrongly: one result short, or results of the other kind."""

    def __init__(self, fault: str) -> None:
        self.fault = fault

    def model_info(self, spec):
        return FAULTY_INFO

    def execute(self, spec, batches):
        for batch in batches:
            if self.fault == "short":
                results = tuple(ChoiceResult((0.0, -1.0), 1.0) for _ in batch.requests[1:])
            else:
                results = tuple(GenerationResult("x", (), (), "stop", 0) for _ in batch.requests)
            yield BatchOutcome(batch, results, 0.0, FAULTY_INFO)

    def close(self) -> None:
        pass


def choices(n: int) -> list[ChoiceRequest]:
    return [ChoiceRequest(TextPrompt(f"Item {i}. Answer: "), ("1", "2")) for i in range(n)]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("short", "test/faulty returned 2 results for a batch of 3 choice requests"),
        ("kind", "test/faulty returned generate results for a batch of choice requests"),
    ],
)
def test_a_backend_that_misanswers_a_batch_is_an_error_and_stores_nothing(tmp_path, fault, message):
    with Store(tmp_path) as store:
        runner = Runner(store, "r", executor=FaultyExecutor(fault), progress=False)
        with pytest.raises(BackendError) as caught:
            runner.score(FAULTY, choices(3))
        assert str(caught.value) == message
        assert store.count_results(FAULTY.key) == 0
        assert runner.executed == 0


def test_a_request_of_the_other_kind_is_a_type_error_before_anything_runs(tmp_path):
    generation = GenerationRequest(TextPrompt("A person:"), SETTINGS, seed=0)
    with Store(tmp_path) as store:
        runner = Runner(store, "r", executor=FaultyExecutor("short"), progress=False)
        with pytest.raises(TypeError, match="expected ChoiceRequest requests, got Generation"):
            runner.score(FAULTY, [*choices(2), generation])
        with pytest.raises(TypeError, match="expected GenerationRequest requests, got Choice"):
            runner.generate(FAULTY, [generation, *choices(1)])
        assert runner.executed == 0 and store.count_results(FAULTY.key) == 0


def test_request_hashes_cover_model_prompt_options_sampler_and_seed(spec):
    base = GenerationRequest(TextPrompt("x"), SETTINGS, seed=1)
    other_model = resolve("llamacpp/gemma3-270m")
    variants = [
        GenerationRequest(TextPrompt("y"), SETTINGS, seed=1),
        GenerationRequest(TextPrompt("x"), SamplerSettings(temperature=0.5, max_tokens=12), 1),
        GenerationRequest(TextPrompt("x"), SETTINGS, seed=2),
        GenerationRequest(TextPrompt("x"), SETTINGS, seed=1, want_entropy=True),
    ]
    hashes = {request_hash(v, spec.key) for v in variants}
    hashes.add(request_hash(base, spec.key))
    hashes.add(request_hash(base, other_model.key))
    assert len(hashes) == 6
    assert request_hash(base, spec.key) == request_hash(
        GenerationRequest(TextPrompt("x"), SETTINGS, seed=1), spec.key
    )


def test_batches_keep_shared_prefixes_together():
    options = ("1", "2")
    requests = {
        f"h{i}": ChoiceRequest(TextPrompt(f"{persona} item {i}"), options)
        for i, persona in enumerate(["Bob", "Ann", "Bob", "Ann", "Bob"])
    }
    batches = plan_batches(requests, {"choice": 10})
    prompts = [r.prompt.text for r in batches[0].requests]
    assert [p.split()[0] for p in prompts] == ["Ann", "Ann", "Bob", "Bob", "Bob"]


def test_store_keeps_result_rows_and_ignores_a_second_row_of_a_stored_hash(tmp_path):
    row = ResultRow(
        request_hash="h1",
        kind="choice",
        model_key="m@1",
        request={"kind": "choice", "options": ["1", "2"]},
        result={"kind": "choice", "logprobs": [-0.1, -2.3], "option_mass": 0.9},
        run_id="first",
        elapsed_s=0.25,
    )
    with Store(tmp_path) as store:
        store.put_results([row])
        store.put_results([replace(row, run_id="second", elapsed_s=9.0)])
    with Store(tmp_path, read_only=True) as store:
        assert store.get_results(["h1", "h2"]) == {"h1": row}
        assert store.count_results("m@1") == 1


def test_store_keeps_findings_and_embeddings(tmp_path):
    import numpy as np

    with Store(tmp_path) as store:
        store.put_finding("collapse", "summary", {"a": [1, 2]})
        store.put_embeddings("minilm", {"t1": np.arange(4, dtype=np.float32)})
    with Store(tmp_path, read_only=True) as store:
        assert store.findings("collapse") == {("collapse", "summary"): {"a": [1, 2]}}
        assert store.get_embeddings("minilm", ["t1", "t2"])["t1"].tolist() == [0, 1, 2, 3]
