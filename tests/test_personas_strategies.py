"""Every strategy on the real embedded models, kept short (few units, few tokens)."""

from __future__ import annotations

import pytest

from personascope.models.base import ChatPrompt, TextPrompt, request_hash
from personascope.models.providers import resolve
from personascope.personas.strategies import Job, generate_population, make_strategy
from personascope.runner import Runner
from personascope.store import Store

CHAT = "llamacpp/smollm2-135m-instruct"
BASE = "llamacpp/gemma3-270m"
SHORT = {"sampler": {"max_tokens": 32}}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("strategies")) as store:
        runner = Runner(store, "test", progress=False)
        yield runner
        runner.executor.close()


def job(runner, model=CHAT, seed=0):
    spec = resolve(model)
    return Job(runner, spec, spec.kind, seed, "test")


def stored_request(runner, persona):
    (hash_,) = persona.provenance.request_hashes
    return runner.store.get_results([hash_])[hash_].request


@pytest.mark.parametrize("model", [CHAT, BASE])
def test_naive_personas_carry_their_provenance(runner, model):
    population = generate_population(make_strategy("naive", SHORT), job(runner, model), n=2)
    assert len(population.personas) == 2 and population.units == 2
    for unit, persona in enumerate(population.personas):
        provenance = persona.provenance
        assert persona.description.strip()
        assert (provenance.strategy, provenance.model_id, provenance.seed, provenance.unit) == (
            "naive", model, unit, unit
        )  # fmt: skip
        assert provenance.model_key == resolve(model).key
        assert provenance.template.startswith(f"naive/{resolve(model).kind}@")
        assert provenance.sampler["max_tokens"] == 32 and provenance.sampler_order[-1] == "dist"
        request = stored_request(runner, persona)
        assert request["seed"] == unit and request["sampler"]["max_tokens"] == 32
    assert population.tokens <= 2 * 32


def test_rerun_is_answered_from_the_store_with_identical_personas(runner):
    strategy = make_strategy("naive", SHORT)
    first = generate_population(strategy, job(runner), n=3)
    executed = runner.executed
    again = generate_population(strategy, job(runner), n=3)
    assert runner.executed == executed  # nothing ran again
    assert [p.id for p in again.personas] == [p.id for p in first.personas]
    other_seed = generate_population(strategy, job(runner, seed=100), n=1)
    assert other_seed.personas[0].provenance.seed == 100


def test_a_token_budget_keeps_the_longest_prefix_that_fits(runner):
    strategy = make_strategy("naive", SHORT)
    full = generate_population(strategy, job(runner), n=3)
    budget = full.tokens - 1  # one token short of the three cached units
    small = generate_population(strategy, job(runner), token_budget=budget)
    assert small.tokens <= budget
    ids = [p.id for p in small.personas]
    assert ids == [p.id for p in full.personas][: len(ids)] and len(ids) < 3


def test_layered_attributes_come_from_code_and_reach_the_prompt(runner, tmp_path):
    config = {
        "layers": [
            {"name": "age", "type": "integer", "min": 20, "max": 70},
            {"name": "occupation", "type": "categorical", "values": ["baker", "pilot", "judge"]},
            {"type": "big_five", "mode": "human"},
        ],
        **SHORT,
    }
    strategy = make_strategy("layered", config)
    population = generate_population(strategy, job(runner), n=2)
    for persona in population.personas:
        assert 20 <= persona.age <= 70 and persona.occupation in ("baker", "pilot", "judge")
        assert set(persona.big_five) == set("OCEAN")
        prompt = stored_request(runner, persona)["prompt"]["messages"][0]["content"]
        assert f"Age: {persona.age}\nOccupation: {persona.occupation}\n" in prompt
        targets = {t.attribute for t in strategy.targets(persona)}
        assert {"age", "occupation", "big_five.O"} <= targets


def test_sampling_cells_rotate_over_the_grid(runner):
    strategy = make_strategy(
        "sampling", {"temperature": [0.5, 1.5], "min_p": [0.0], "top_p": [1.0], "max_tokens": 24}
    )
    population = generate_population(strategy, job(runner), n=3)
    temperatures = [p.provenance.sampler["temperature"] for p in population.personas]
    assert temperatures == [0.5, 1.5, 0.5]
    assert [p.provenance.model_extra["sampler_cell"] for p in population.personas] == [0, 1, 0]


def test_verbalized_counts_what_it_cannot_parse(runner):
    strategy = make_strategy("verbalized", {"k": 2, "sampler": {"max_tokens": 64}})
    population = generate_population(strategy, job(runner), token_budget=64)
    assert population.units == 1
    known = {
        "missing_personas", "extra_personas", "missing_probability",
        "probability_out_of_range", "unparseable_output", "empty_persona",
    }  # fmt: skip
    assert set(population.failures) <= known
    parsed = len(population.personas)
    assert parsed + population.failures.get("missing_personas", 0) == 2


def test_simulator_stores_latents_on_every_turn_with_a_base_assistant(runner):
    from personascope.config import read_yaml
    from personascope.personas.layers import DATA_DIR

    config = {
        **read_yaml(DATA_DIR / "simulator.yaml"),
        "turns": 2,
        "assistant_model": BASE,
        "sampler": {"max_tokens": 24},
        "assistant_sampler": {"max_tokens": 16},
    }
    strategy = make_strategy("simulator", config)
    population = generate_population(strategy, job(runner), n=1)
    (persona,) = population.personas
    sequence = persona.provenance.model_extra["intent_sequence"]
    assert len(sequence) == 2 and persona.provenance.model_extra["assistant_model_id"] == BASE
    for turn in persona.turns:
        assert turn.intent == sequence[turn.index] == turn.latent["intent"]
        assert turn.latent["favourite_genre"] == persona.attributes["favourite_genre"]
        assert turn.latent["age"] == str(persona.age)
    requests = [runner.store.get_results([h])[h].request for h in persona.provenance.request_hashes]
    assert requests[0]["prompt"]["type"] == "chat"  # the simulator is the chat model
    assert requests[1]["prompt"]["type"] == "text"  # its assistant the base model
    assert "Next, the person" not in requests[0]["prompt"]["messages"][0]["content"]
    intents = [t for t in strategy.targets(persona) if t.attribute == "intent"]
    assert [t.text for t in intents] == [t.user for t in persona.turns]


def test_prompts_follow_the_model_kind(runner):
    spec = resolve(BASE)
    strategy = make_strategy("diasynth", SHORT)
    planned = strategy.plan(Job(runner, spec, "base", 0, "t"), 0)
    assert isinstance(planned.request.prompt, TextPrompt)
    assert (
        planned.request.prompt.text.endswith("\nName:")
        and "\nProfile" in planned.request.sampler.stop
    )
    chat = strategy.plan(Job(runner, resolve(CHAT), "chat", 0, "t"), 0)
    assert isinstance(chat.request.prompt, ChatPrompt) and chat.request.sampler.stop == ()
    assert request_hash(planned.request, spec.key) != request_hash(chat.request, spec.key)


def test_duplicates_are_replaced_up_to_twice_the_request(runner):
    from personascope.personas.pipeline import generate_unique

    greedy = make_strategy("naive", {"sampler": {"temperature": 0.0, "max_tokens": 16}})
    unique = generate_unique(greedy, job(runner), n=2)
    # Greedy decoding writes the same profile for every seed: one survives, 2n were tried.
    assert len(unique.personas) == 1
    assert unique.population.units == 4 and unique.dedup["dropped_exact"] == 3
