"""Typed findings of the stability, commitment, scaffold, lab, adoption and collapse
studies: the JSON a study stores is read back into nested dataclasses and written out
again byte for byte, and a stored value of the wrong type is an error naming its path."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from personascope.findings import DetailedRecord, FindingsError, from_json, to_json
from personascope.findings.adoption import AdoptionFindings, DomainAgreement, ModelAdoption
from personascope.findings.collapse import CollapseFindings, ModelCollapse, SelfReportValidity
from personascope.findings.commitment import CommitmentFindings, Curve, ModelCommitment
from personascope.findings.lab import Attributes, LabFindings
from personascope.findings.scaffold import Matching, ScaffoldFindings, StrategyRow
from personascope.findings.stability import Domain, ModelStability, StabilityFindings
from personascope.lab.attributes import mean_summary
from personascope.lab.evaluate import attribute_findings
from personascope.lab.run import curves
from personascope.metrics.estimate import Estimate, Jackknife

# The planted runs of the studies' own tests (module-scoped fixtures, run once here).
from test_adoption import planted_adoption  # noqa: F401
from test_collapse_study import planted_collapse  # noqa: F401
from test_commitment import planted  # noqa: F401
from test_scaffold import planted_scaffold  # noqa: F401
from test_stability import planted_findings  # noqa: F401

# The lab's findings as `personascope lab` stored them for tests/test_lab_cli.py's tiny lab
# (training a model is too slow to repeat here).
LAB_FINDINGS = Path(__file__).parent / "data" / "lab_findings.json"

# Study -> findings type, the fixture of its planted run, and where in the fixture's value
# the findings JSON is (None: the value itself).
STUDIES = {
    "stability": (StabilityFindings, "planted_findings", 0),
    "commitment": (CommitmentFindings, "planted", 1),
    "scaffold": (ScaffoldFindings, "planted_scaffold", 0),
    "adoption": (AdoptionFindings, "planted_adoption", 0),
    "collapse": (CollapseFindings, "planted_collapse", None),
}


def stored_json(request: pytest.FixtureRequest, study: str) -> dict:
    """The study's findings JSON from its planted run, as the store writes it."""
    _, fixture, index = STUDIES[study]
    value = request.getfixturevalue(fixture)
    findings = value if index is None else value[index]
    return json.loads(json.dumps(findings))


@pytest.mark.parametrize("study", list(STUDIES))
def test_study_findings_round_trip_to_the_same_json(request, study):
    data = stored_json(request, study)
    findings = STUDIES[study][0].from_json(data)
    again = findings.to_json()
    assert again == data
    assert json.dumps(again) == json.dumps(data)  # same keys in the same order
    assert findings.per_model() == (
        data["models"]
        if study != "scaffold"
        else {data["table"]["model_id"]: {"rows": data["table"]["rows"]}}
    )


def test_the_findings_are_typed_all_the_way_down(request):
    stability = StabilityFindings.from_json(stored_json(request, "stability"))
    model = next(iter(stability.models.values()))
    assert isinstance(model, ModelStability)
    assert isinstance(model.free_text.persona_share, Estimate)
    assert isinstance(model.free_text.components["persona"].share, Estimate)
    assert all(isinstance(d, Domain) for d in model.inventory.domains.values())
    commitment = CommitmentFindings.from_json(stored_json(request, "commitment"))
    rate = next(iter(commitment.models.values()))
    assert isinstance(rate, ModelCommitment) and isinstance(rate.entropy.lambda_, Estimate)
    assert rate.entropy.curve[0].turn == 0 and rate.entropy.curve[0].estimate.n >= 2
    scaffold = ScaffoldFindings.from_json(stored_json(request, "scaffold"))
    assert all(isinstance(row, StrategyRow) for row in scaffold.table.rows.values())
    assert isinstance(scaffold.table.matching, Matching)
    adoption = AdoptionFindings.from_json(stored_json(request, "adoption"))
    adopter = next(iter(adoption.models.values()))
    assert isinstance(adopter, ModelAdoption)
    accuracy = adopter.conditions["accuracy"]
    assert all(isinstance(row, DomainAgreement) for row in accuracy.domains.values())
    assert accuracy.default_profile.derived_type.type == "ISFJ"
    assert adopter.controls.item_order.shift["1"].keys() == set("OCEAN")
    collapse = CollapseFindings.from_json(stored_json(request, "collapse"))
    writer = next(iter(collapse.models.values()))
    assert isinstance(writer, ModelCollapse) and isinstance(writer.collapse.index, Estimate)
    assert isinstance(writer.self_report.validity, SelfReportValidity)
    assert writer.self_report.trait_reach.direction and writer.genders.raw.unreadable == 1
    assert collapse.matched_text.compared and set(collapse.matched_text.panels) == set(
        collapse.models
    )


@pytest.mark.parametrize(
    ("study", "path", "value", "message"),
    [
        ("stability", ("free_text", "runs_per_persona"), "eight", "expected int"),
        ("stability", ("inventory", "domains", "O", "persona_share"), 0.5, "expected an estimate"),
        ("commitment", ("entropy", "lambda"), [0.1], "expected an estimate object"),
        ("commitment", ("probes",), [], "expected an object"),
        ("scaffold", ("naive", "fidelity", "overall", "n"), "six", "expected int"),
        ("adoption", ("conditions", "accuracy", "domains", "O", "n_personas"), "6", "expected int"),
        ("collapse", ("generation", "mean_tokens"), "many", "expected a number"),
    ],
)
def test_a_mistyped_stored_value_is_an_error_naming_its_path(request, study, path, value, message):
    data = copy.deepcopy(stored_json(request, study))
    where = ["table", "rows"] if study == "scaffold" else ["models", next(iter(data["models"]))]
    parent = data
    for key in [*where, *path[:-1]]:
        parent = parent[key]
    parent[path[-1]] = value
    dotted = ".".join([study, *where, *path])
    with pytest.raises(FindingsError, match=re.escape(dotted) + ": " + message):
        STUDIES[study][0].from_json(data)


def test_keys_only_some_results_have_are_left_out_and_read_back_as_none():
    skipped = Domain("weak", ["too few items"], skipped="1 of 2 items have an answer")
    data = {"verdict": "weak", "reasons": ["too few items"], "skipped": skipped.skipped}
    assert to_json(skipped) == data
    assert from_json(Domain, data) == skipped and skipped.persona_share is None
    assert to_json(Matching(n=0, note="none")) == {"n": 0, "note": "none"}


def test_a_field_stored_under_another_key_is_read_and_missed_under_that_key():
    rate = Estimate(0.5, (0.1, 0.9), 3, "fit")
    curve = Curve("entropy", "H/log n", [], Estimate(1.0, None, 3, "fit"), rate, [[1.0]])
    data = to_json(curve)
    assert data["lambda"] == rate.to_dict() and "lambda_" not in data
    assert from_json(Curve, data, "curve") == curve
    del data["lambda"]
    with pytest.raises(FindingsError, match="curve: missing 'lambda'"):
        from_json(Curve, data, "curve")


def test_lab_findings_round_trip_to_the_same_json():
    data = json.loads(LAB_FINDINGS.read_text(encoding="utf-8"))
    findings = LabFindings.from_json(data)
    assert json.dumps(findings.to_json()) == json.dumps(data)
    assert findings.per_model() == {c["model_id"]: c["metrics"] for c in data["checkpoints"]}
    metrics, last = findings.checkpoints[0].metrics, findings.checkpoints[-1].metrics
    assert isinstance(metrics.attributes.ages.sd, Estimate)
    assert last.attributes.ages.note and last.attributes.ages.sd is None  # under 3 ages stated
    assert metrics.attributes.first_names.reference.entropy_bits.mean > 0
    assert metrics.text.truncated_to_words >= 1 and "distinct_2" in metrics.text.metrics
    assert findings.curves["age_sd"].reference == metrics.attributes.ages.reference.sd
    assert to_json(curves(findings.checkpoints)) == data["curves"]  # read back from the types


@pytest.mark.parametrize("profiles", [[], ["Name: Ann Lee\nAge: 34\nOccupation: nurse"]])
def test_lab_summaries_of_too_few_profiles_keep_their_notes(profiles):
    jackknife = Jackknife(seed=0)
    data = attribute_findings(profiles, jackknife)
    attributes = from_json(Attributes, data)
    assert json.dumps(to_json(attributes)) == json.dumps(data)
    assert attributes.ages.note and attributes.ages.sd is None
    assert attributes.first_names.reference.note and attributes.first_names.entropy_bits is None
    mean = mean_summary([1.0], jackknife, "words")
    assert to_json(from_json(DetailedRecord, mean)) == mean and "params" not in mean
