"""The claims table on planted findings: each status where it must appear, never
"supported" from a missing or invalid measurement."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from personascope.claims import THRESHOLDS, Z95, ClaimRow, evaluate, load_claims
from personascope.errors import PersonascopeError
from personascope.findings import GenericFindings
from personascope.findings.adoption import AdoptionFindings
from personascope.findings.stability import StabilityFindings
from personascope.metrics.estimate import estimate_dict

BASE, TUNED = "llamacpp/gemma3-270m", "llamacpp/smollm2-135m-instruct"
KINDS = {BASE: "base", TUNED: "chat"}


def est(value, low, high, n=30):
    return estimate_dict(value, (low, high), n, "planted")


def adoption(ratio, verdict="valid"):
    condition = {
        "default_pull": {"movement_ratio": ratio},
        "validity": {"verdict": verdict, "summary": f"planted {verdict}", "domains": {}},
    }
    return AdoptionFindings(
        {}, {}, {}, "", {}, {}, {TUNED: {"conditions": {"accuracy": condition}}}
    )


def stability(share):
    models = {TUNED: {"free_text": {"persona_share": share}}}
    return StabilityFindings({}, {}, {}, "embedder", "planted", models)


def rows_for(number: int, rows: list[ClaimRow]) -> list[ClaimRow]:
    return [r for r in rows if r.number == number]


def test_every_claim_is_not_run_without_its_study():
    collapse = GenericFindings({"models": {BASE: {}, TUNED: {}}})
    rows = evaluate({"collapse": collapse}, KINDS)
    assert sorted({r.number for r in rows}) == list(range(1, 11))
    for row in rows:
        if row.study != "collapse":
            assert row.status == "not run", row
            assert row.reason == f"the {row.study} study was not in this run"
    # claim 3 ran but its measure is missing from the planted findings
    (entropy,) = rows_for(3, rows)
    assert entropy.status == "not measurable" and "generation.token_entropy" in entropy.reason


@pytest.mark.parametrize(
    ("ratio", "status"),
    [
        (est(0.4, 0.2, 0.6), "supported"),  # moves less than the targets: default pull
        (est(1.4, 1.1, 1.7), "contradicted"),
        (est(0.9, 0.6, 1.2), "inconclusive"),
        (estimate_dict(0.5, None, 10, "planted"), "inconclusive"),  # no interval
        (estimate_dict(None, None, 0, "not computed", note="too few"), "not measurable"),
    ],
)
def test_claim_2_status_follows_the_interval_against_its_threshold(ratio, status):
    (row,) = rows_for(2, evaluate({"adoption": adoption(ratio)}, KINDS))
    assert row.status == status and row.models == TUNED
    if status != "not measurable":
        assert row.estimates[0]["threshold_value"] == THRESHOLDS["FULL_MOVEMENT"] == 1.0


def test_an_invalid_measurement_is_not_measurable_with_its_reason():
    planted = adoption(est(0.1, 0.05, 0.2), verdict="invalid")  # would be "supported"
    (row,) = rows_for(2, evaluate({"adoption": planted}, KINDS))
    assert row.status == "not measurable"
    assert row.reason == "conditions.accuracy.validity: invalid (planted invalid)"
    assert row.estimates == []


def test_claim_6_at_half_the_variance():
    rows = evaluate({"stability": stability(est(0.2, 0.1, 0.3))}, KINDS)
    assert rows_for(6, rows)[0].status == "supported"
    rows = evaluate({"stability": stability(est(0.8, 0.7, 0.9))}, KINDS)
    assert rows_for(6, rows)[0].status == "contradicted"


def test_a_pair_claim_differences_tuned_minus_base_with_a_normal_interval():
    collapse = GenericFindings(
        {
            "models": {
                BASE: {"generation": {"token_entropy": est(3.0, 2.8, 3.2)}},
                TUNED: {"generation": {"token_entropy": est(1.0, 0.9, 1.1)}},
            }
        }
    )
    (row,) = rows_for(3, evaluate({"collapse": collapse}, KINDS))
    assert row.status == "supported" and row.models == f"{TUNED} minus {BASE}"
    half = Z95 * math.hypot(0.2 / Z95, 0.1 / Z95)  # se = (high - low) / (2 z)
    (difference,) = row.estimates
    assert difference["value"] == pytest.approx(-2.0)
    assert difference["low"] == pytest.approx(-2.0 - half)
    assert difference["high"] == pytest.approx(-2.0 + half)
    assert "different model families" in row.caveat
    only_base = GenericFindings({"models": {BASE: {}}})
    (alone,) = rows_for(3, evaluate({"collapse": only_base}, KINDS))
    assert alone.status == "not measurable" and "base and a tuned" in alone.reason


def test_a_claim_with_two_measures_needs_both():
    def scaffold(simulator_fidelity):
        rows = {
            "naive": {"diversity": {"headline": est(0.30, 0.28, 0.32)}},
            "layered": {"diversity": {"headline": est(0.45, 0.43, 0.47)}},
            "simulator": {
                "diversity": {"headline": est(0.40, 0.38, 0.42)},
                "fidelity": {"overall": simulator_fidelity},
            },
        }
        return GenericFindings({"models": {TUNED: {"rows": rows}}})

    rows = evaluate({"scaffold": scaffold(est(0.5, 0.3, 0.7))}, KINDS)
    assert rows_for(9, rows)[0].status == "supported"
    assert rows_for(10, rows)[0].status == "supported"
    rows = evaluate({"scaffold": scaffold(est(0.05, -0.1, 0.2))}, KINDS)
    assert rows_for(10, rows)[0].status == "inconclusive"
    rows = evaluate({"scaffold": scaffold(estimate_dict(None, None, 0, "none"))}, KINDS)
    assert rows_for(10, rows)[0].status == "not measurable"


def test_the_claims_file_is_data_and_is_checked(tmp_path):
    claims = load_claims()
    assert [c.number for c in claims] == list(range(1, 11))
    bad = tmp_path / "claims.yaml"
    bad.write_text(
        "- {number: 11, claim: x, study: collapse, measures: "
        "[{kind: value, path: a, side: below, threshold: SMALL}]}\n"
    )
    with pytest.raises(PersonascopeError, match="unknown threshold 'SMALL'"):
        load_claims(bad)
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "- {number: 11, claim: ages spread, study: collapse, measures: "
        "[{kind: value, path: ages.sd, side: above, threshold: ZERO}]}\n"
    )
    collapse = GenericFindings({"models": {BASE: {"ages": {"sd": est(12.0, 10.0, 14.0)}}}})
    (row,) = evaluate({"collapse": collapse}, KINDS, load_claims(Path(extra)))
    assert (row.number, row.status) == (11, "supported")


def test_one_verdict_that_withholds_several_measures_is_given_once():
    invalid = {"verdict": "invalid", "summary": "planted: cannot do the task"}
    bias = GenericFindings(
        {
            "models": {
                TUNED: {
                    "validity": invalid,
                    "congruence_gap": est(0.5, 0.4, 0.6),
                    "debiased_gap": est(0.4, 0.3, 0.5),
                }
            }
        }
    )
    (row,) = rows_for(8, evaluate({"bias": bias}, {TUNED: "chat"}))
    assert row.status == "not measurable"
    assert row.reason == "validity: invalid (planted: cannot do the task)"
