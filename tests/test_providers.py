"""The provider registry, the fake provider, and a user's own backend running a study."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from personascope.cachefiles import file_sha256
from personascope.errors import ModelNotFoundError
from personascope.instruments.administration import administer
from personascope.instruments.inventory import load_inventory
from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
    Message,
    ModelInfo,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec, embedded_gguf_path
from personascope.models.eval_blocks import SCHEME
from personascope.models.providers import (
    Provider,
    load_model,
    providers,
    register_provider,
    resolve,
    unregister_provider,
)
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies import get_study
from personascope.studies.base import StudyContext, run_study
from personascope.testing.fake import fake_runner, register_fake

BACKENDS_DOC = Path(__file__).resolve().parents[1] / "docs" / "backends.md"


class AgreeableModel:
    """A user's backend, defined outside the package: whatever the item and the persona,
    it puts all its mass on the option of the answer scale it is told to prefer."""

    def __init__(self, spec: ModelSpec) -> None:
        self.answer = spec.options.get("answer", "3")
        self.info = ModelInfo(spec.model_id, "chat", None, None, "agreeable", "1", ())

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return [GenerationResult(self.answer, (), (), "stop", 0) for _ in requests]

    def score_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        return [
            ChoiceResult(tuple(0.0 if o == self.answer else -1e4 for o in r.options), 1.0)
            for r in requests
        ]

    def close(self) -> None:
        pass


def agreeable_spec(model_id: str, name: str, options: dict) -> ModelSpec:
    """The answer it prefers changes its results, so it is part of the key."""
    answer = options.setdefault("answer", name)
    return ModelSpec(model_id, "agreeable", name, "chat", None, f"{model_id}#{answer}", options)


@pytest.fixture
def agreeable():
    register_provider(Provider("agreeable", AgreeableModel, agreeable_spec, help="one answer"))
    yield
    unregister_provider("agreeable")


def test_an_unknown_provider_names_every_registered_one(agreeable):
    with pytest.raises(ModelNotFoundError) as caught:
        resolve("nope/x")
    listed = re.search(r"providers: (.*)\)", str(caught.value))
    assert listed is not None
    assert listed.group(1).split(", ") == list(providers())
    assert {"llamacpp", "hf", "vllm", "openai-api", "openai", "lab", "fake", "agreeable"} <= set(
        providers()
    )
    with pytest.raises(ModelNotFoundError, match="not of the form provider/name"):
        resolve("agreeable")


def test_a_taken_name_is_replaced_only_when_asked(agreeable):
    other = Provider("agreeable", AgreeableModel)
    with pytest.raises(ValueError, match="already registered"):
        register_provider(other)
    assert register_provider(other, replace=True) is providers()["agreeable"]
    assert resolve("agreeable/x").key == "agreeable/x"  # the default resolver: the id
    assert resolve("agreeable/x", revision="r2").key == "agreeable/x@r2"
    with pytest.raises(ValueError, match="without '/'"):
        Provider("a/b", AgreeableModel)


def test_a_missing_backend_module_gives_a_one_line_install_hint():
    register_provider(Provider("absent", "no_such_module_here:Model", requirement="absent-pkg"))
    try:
        with pytest.raises(ModelNotFoundError, match=r"pip install absent-pkg$"):
            load_model(resolve("absent/x"))
    finally:
        unregister_provider("absent")


def test_built_in_cache_keys_are_those_of_the_previous_version():
    gguf = embedded_gguf_path("smollm2-135m-instruct")
    sha = file_sha256(gguf)
    assert resolve("llamacpp/smollm2-135m-instruct").key == (
        f"llamacpp/smollm2-135m-instruct@{sha}#{SCHEME}"
    )
    assert resolve("hf/smollm2-135m-instruct").key == f"hf/smollm2-135m-instruct@{sha}"
    assert resolve("hf/smollm2-135m-instruct", dtype="bfloat16").key.endswith(f"{sha}#bfloat16")
    assert resolve("vllm/org/model", revision="abc", dtype="half").key == (
        "vllm/org/model@abc#half"
    )
    assert resolve("openai-api/served", revision="v2", echo=False, top_logprobs=5).key == (
        "openai-api/served@v2#echo=False,top_logprobs=5"
    )
    assert resolve("openai/gpt-4o-mini").key == "openai/gpt-4o-mini"


def test_fake_echo_runs_through_the_runner_and_is_cached(tmp_path):
    runner, store, spec = fake_runner(tmp_path, "fake/echo")
    assert spec.key == "fake/echo@1"
    prompt = ChatPrompt((Message("user", "one two three four"),))
    requests = [GenerationRequest(prompt, SamplerSettings(max_tokens=3), seed) for seed in (1, 2)]
    choice = ChoiceRequest(TextPrompt("Pick: "), ("a", "b", "c", "d"))
    with store:
        texts = [r.text for r in runner.generate(spec, requests)]
        (scored,) = runner.score(spec, [choice])
        again = Runner(store, "again", progress=False)
        assert [r.text for r in again.generate(spec, requests)] == texts
        assert again.executed == 0 and again.cached == 2
        assert store.models()[spec.key]["backend"] == "fake"
    assert texts == ["one two three"] * 2
    assert scored.logprobs == pytest.approx((math.log(0.25),) * 4)


def test_a_registered_fake_behaviour_answers_and_a_taken_name_needs_replace(tmp_path):
    def shout(request: GenerationRequest) -> GenerationResult:
        return GenerationResult(f"SEED {request.seed}", (), (), "stop", 0)

    model_id = register_fake("shout", shout, version="7", replace=True)
    with pytest.raises(ValueError, match="already registered"):
        register_fake("shout", shout)
    runner, store, spec = fake_runner(tmp_path, model_id)
    request = GenerationRequest(TextPrompt("hi"), SamplerSettings(), 5)
    with store:
        assert runner.generate(spec, [request])[0].text == "SEED 5"
        with pytest.raises(Exception, match="does not score"):
            runner.score(spec, [ChoiceRequest(TextPrompt("x"), ("a", "b"))])
    assert spec.key == "fake/shout@7"
    with pytest.raises(ModelNotFoundError, match=r"registered: .*fake/shout"):
        resolve("fake/whisper")


def test_fake_respondent_answers_at_the_levels_its_persona_states(tmp_path):
    inv = load_inventory("mini_ipip")
    personas = ["You are Ann. O=4.5 C=1.25", "You are Bo. E=5 A=2 N=1.75", None]
    planted = [[4.5, 1.25, 3, 3, 3], [3, 3, 5, 2, 1.75], [3, 3, 3, 3, 3]]
    runner, store, spec = fake_runner(tmp_path, "fake/respondent")
    with store:
        adm = administer(runner, spec, personas, inv)
    order = ["OCEAN".index(d) for d in inv.domains]
    assert np.allclose(adm.scores.domain, np.array(planted)[:, order], atol=1e-9)
    assert np.allclose(adm.option_mass, 0.8)


def test_a_quick_study_runs_on_a_provider_registered_outside_the_package(tmp_path, agreeable):
    """A backend that always answers 2 ("moderately inaccurate") to every item: every
    domain's score is 2 +- reverse keying, so personas cannot move it."""
    spec = resolve("agreeable/2")
    assert spec.key == "agreeable/2#2"
    store = Store(tmp_path)
    ctx = StudyContext(
        runner=Runner(store, "test", progress=False),
        store=store,
        models=[spec],
        out_dir=tmp_path,
        run_id="test",
        seed=0,
        quick=True,
        config={"adoption": {"n_boot": 100}},
    )
    with store:
        findings = run_study(ctx, get_study("adoption")).to_json()
        executed = ctx.runner.executed
        assert executed > 0
        run_study(ctx, get_study("adoption"))  # everything is answered from the store
        assert ctx.runner.executed == executed
    model = findings["models"]["agreeable/2"]
    condition = model["conditions"]["accuracy"]
    assert condition["provenance"]["model_key"] == "agreeable/2#2"
    assert condition["default_pull"]["movement_ratio"]["value"] == pytest.approx(0.0)


def test_the_add_a_backend_example_in_the_docs_works(tmp_path):
    """The walk-through's code, run as a user would paste it."""
    code = re.search(r"## Add a backend.*?```python\n(.*?)```", BACKENDS_DOC.read_text(), re.S)
    assert code is not None
    exec(compile(code.group(1), str(BACKENDS_DOC), "exec"), {})
    try:
        runner, store, spec = fake_runner(tmp_path, "parrot/hello")
        prompt = TextPrompt("Say something")
        with store:
            (result,) = runner.generate(spec, [GenerationRequest(prompt, SamplerSettings(), 0)])
            (scored,) = runner.score(spec, [ChoiceRequest(prompt, ("a", "b"))])
        assert result.text == "hello"
        assert scored.logprobs == pytest.approx((math.log(0.5),) * 2)
    finally:
        unregister_provider("parrot")
