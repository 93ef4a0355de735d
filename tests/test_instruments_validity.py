"""Validity diagnostics: planted respondents and answer habits."""

from __future__ import annotations

import numpy as np
import pytest

from personascope.instruments.administration import administer
from personascope.instruments.inventory import load_inventory
from personascope.instruments.validity import diagnose, diagnose_domain, references
from personascope.testing.fake import fake_runner, planted_respondent

LEVELS = [1.5, 4.5, 2.0, 4.0, 1.0, 5.0]
PERSONAS = [f"persona {i}" for i in range(len(LEVELS))]


def varied(persona: str | None) -> dict[str, float]:
    """Each persona at a different level, domains shifted so they do not coincide."""
    i = PERSONAS.index(persona)
    return {d: LEVELS[(i + j) % len(LEVELS)] for j, d in enumerate("OCEAN")}


def test_planted_trait_respondents_are_valid(tmp_path):
    inv = load_inventory("ipip50")
    runner, store, spec = fake_runner(tmp_path, planted_respondent("varied", inv, varied))
    with store:
        validity = diagnose(administer(runner, spec, PERSONAS, inv))
    assert validity.verdict == "valid", validity.summary
    for v in validity.domains.values():
        assert v.reverse_key_r == pytest.approx(1.0)
        assert abs(v.acquiescence) < 1e-9
        assert v.alpha == pytest.approx(1.0)


def _habit(shape: tuple[int, int], answer: float) -> np.ndarray:
    return np.full(shape, answer)


def test_the_same_answer_to_every_item_is_invalid():
    inv = load_inventory("ipip50")
    idx = inv.domain_indices("E")
    keys = inv.keys[idx]
    raw = _habit((4, 10), 3.9) + np.linspace(0, 0.05, 10)  # tiny item differences
    keyed = np.where(keys > 0, raw, 6 - raw)
    result = diagnose_domain(
        "E", raw, keyed, keys, 5, 0.98, keyed.mean(axis=1), references(inv)["E"]
    )
    assert result.verdict == "invalid"
    assert "nearly the same for every item" in result.reasons[0]
    assert result.acquiescence == pytest.approx(0.9 + 0.025, abs=0.01)


def test_little_mass_on_the_options_is_invalid():
    inv = load_inventory("ipip50")
    idx = inv.domain_indices("A")
    keys = inv.keys[idx]
    raw = np.where(keys > 0, 4.5, 1.5)[None, :].repeat(3, axis=0)
    result = diagnose_domain("A", raw, raw, keys, 5, 0.1, raw.mean(axis=1), references(inv)["A"])
    assert result.verdict == "invalid"
    assert "10% of the probability" in result.reasons[0]


def test_unparseable_generations_are_named_in_generate_mode():
    inv = load_inventory("ipip50")
    idx = inv.domain_indices("A")
    keys = inv.keys[idx]
    raw = np.where(keys > 0, 4.5, 1.5)[None, :].repeat(3, axis=0)
    ref = references(inv)["A"]
    result = diagnose_domain("A", raw, raw, keys, 5, 0.4, raw.mean(axis=1), ref, generated=True)
    assert result.verdict == "weak"
    assert "40% of the sampled answers parse" in result.reasons[0]


def test_agreeing_with_both_poles_is_weak_and_says_so():
    inv = load_inventory("ipip50")
    idx = inv.domain_indices("E")
    keys = inv.keys[idx]
    raw = np.where(keys > 0, 4.9, 3.7)[None, :]
    keyed = np.where(keys > 0, raw, 6 - raw)
    result = diagnose_domain(
        "E", raw, keyed, keys, 5, 0.95, keyed.mean(axis=1), references(inv)["E"]
    )
    assert result.verdict == "weak"
    assert any("agrees with both poles" in r for r in result.reasons)


def test_inventories_without_norms_borrow_the_ipip50_reference():
    refs = references(load_inventory("ipip_neo_120"))
    assert set(refs) == set("OCEAN")
    assert "IPIP-50" in refs["O"].label


# The embedded models' verdicts are checked on real runs in tests/test_adoption.py.
