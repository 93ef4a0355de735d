"""Administration: prompts, controls, and the planted-answer test (a known profile recovered)."""

from __future__ import annotations

import numpy as np
import pytest

from personascope.instruments.administration import (
    WORDINGS,
    Condition,
    administer,
    item_prompt,
    parse_answer,
    plan_requests,
)
from personascope.instruments.inventory import load_inventory
from personascope.models.base import ChatPrompt, ChoiceRequest, GenerationRequest, TextPrompt
from personascope.testing.fake import fake_runner, planted_respondent

PERSONAS = [None, "You are Ann, a bold and restless woman.", "You are Bo, a shy, careful man."]
PROFILES = {
    None: {"O": 3.0, "C": 3.5, "E": 2.5, "A": 4.0, "N": 2.0},
    PERSONAS[1]: {"O": 4.25, "C": 1.5, "E": 5.0, "A": 2.0, "N": 3.75},
    PERSONAS[2]: {"O": 1.0, "C": 4.75, "E": 1.25, "A": 3.5, "N": 4.5},
}


def profile(persona: str | None) -> dict[str, float]:
    return PROFILES[persona]


def planted_scores(inventory) -> np.ndarray:
    return np.array([[PROFILES[p][d] for d in inventory.domains] for p in PERSONAS])


@pytest.mark.parametrize(
    ("kind", "condition"),
    [
        ("chat", Condition("accuracy")),
        ("chat", Condition("agreement", reverse_options=True)),
        ("chat", Condition("likeness", placement="inline")),
        ("base", Condition("accuracy")),
        ("base", Condition("likeness", reverse_options=True, context="listed", order_seed=4)),
    ],
)
def test_a_planted_profile_is_recovered_exactly(tmp_path, kind, condition):
    inv = load_inventory("ipip50")
    model_id = planted_respondent(f"admin-{kind}", inv, profile, kind, mass=0.8)
    runner, store, spec = fake_runner(tmp_path, model_id)
    with store:
        adm = administer(runner, spec, PERSONAS, inv, condition)
    assert np.allclose(adm.scores.domain, planted_scores(inv), atol=1e-9)
    assert np.allclose(adm.option_mass, 0.8)
    assert np.allclose(adm.probs.sum(axis=2), 1.0)
    record = adm.provenance()
    assert record["condition"]["reverse_options"] == condition.reverse_options
    assert record["content_hash"] == inv.content_hash
    assert record["model_key"] == f"fake/admin-{kind}@1"


def test_facet_scores_of_a_planted_profile(tmp_path):
    inv = load_inventory("ipip_neo_120")
    runner, store, spec = fake_runner(tmp_path, planted_respondent("facets", inv, profile))
    with store:
        adm = administer(runner, spec, PERSONAS[1:2], inv)
    for f, facet in enumerate(inv.facets):
        assert adm.scores.facet[0, f] == pytest.approx(PROFILES[PERSONAS[1]][facet[0]])


def test_generate_mode_parses_answers_and_counts_failures(tmp_path):
    inv = load_inventory("mini_ipip")
    model_id = planted_respondent(
        "refuses", inv, lambda p: dict.fromkeys("OCEAN", 4.0), unparseable_every=4
    )
    runner, store, spec = fake_runner(tmp_path, model_id)
    condition = Condition(mode="generate", samples=4, seed=0)
    with store:
        adm = administer(runner, spec, [None], inv, condition)
    # seed 0 of each item's four samples is unparseable; the other three answer 4 or 2
    assert (adm.parse_failures == 1).all()
    assert np.allclose(adm.option_mass, 0.75)
    assert np.allclose(adm.scores.domain, 4.0)


def test_parse_answer():
    assert parse_answer(" 4", 5) == 4
    assert parse_answer("5.", 5) == 5
    assert parse_answer("12", 5) is None
    assert parse_answer("7", 5) is None
    assert parse_answer("Four", 5) is None


def test_the_item_comes_last_and_everything_before_it_is_shared():
    inv = load_inventory("mini_ipip")
    for kind in ("base", "chat"):
        requests = plan_requests(inv, ["Persona text."], kind, Condition())
        assert len(requests) == 20
        texts = []
        for request in requests:
            assert isinstance(request, ChoiceRequest)
            assert request.options == ("1", "2", "3", "4", "5")
            prompt = request.prompt
            if isinstance(prompt, TextPrompt):
                assert prompt.text.endswith("Answer: ")
                texts.append(prompt.text)
            else:
                assert isinstance(prompt, ChatPrompt)
                assert prompt.assistant_prefix == "Answer: "
                assert prompt.messages[0].content == "Persona text."
                texts.append(prompt.messages[-1].content)
        shared = texts[0][: texts[0].index("Statement:")]
        assert all(t.startswith(shared) for t in texts)


def test_reversed_options_flip_the_anchor_list():
    inv = load_inventory("mini_ipip")
    plain = item_prompt(inv, 0, None, "base", Condition("agreement"))
    flipped = item_prompt(inv, 0, None, "base", Condition("agreement", reverse_options=True))
    assert "1 = Disagree strongly" in plain.text and "5 = Agree strongly" in plain.text
    assert "1 = Agree strongly" in flipped.text and "5 = Disagree strongly" in flipped.text


def test_placement_and_listed_order():
    inv = load_inventory("mini_ipip")
    inline = item_prompt(inv, 0, "P.", "chat", Condition(placement="inline"))
    assert len(inline.messages) == 1 and inline.messages[0].content.startswith("P.\n\n")
    base = item_prompt(inv, 0, "P.", "base", Condition(placement="system"))
    assert base.text.startswith("P.\n\n")  # base models always take the persona inline
    a = item_prompt(inv, 3, None, "base", Condition(context="listed", order_seed=1)).text
    b = item_prompt(inv, 3, None, "base", Condition(context="listed", order_seed=2)).text
    assert a != b and sorted(a.splitlines()) == sorted(b.splitlines())


def test_condition_records_only_what_shaped_the_prompt():
    record = Condition(order_seed=5).record("base")
    assert record["order_seed"] is None and record["placement"] == "inline"
    assert record["samples"] is None
    assert Condition(mode="generate").record("chat")["samples"] == 5
    assert Condition("agreement", reverse_options=True).label("chat") == "agreement/reversed"
    assert len(WORDINGS) >= 3
    with pytest.raises(Exception, match="unknown wording"):
        Condition("nonsense")


def test_generate_requests_carry_seeds():
    inv = load_inventory("mini_ipip")
    requests = plan_requests(inv, [None], "chat", Condition(mode="generate", samples=3, seed=10))
    assert len(requests) == 60
    assert all(isinstance(r, GenerationRequest) for r in requests)
    assert [r.seed for r in requests[:3]] == [10, 11, 12]
