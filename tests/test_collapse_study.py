"""The collapse index and its reaches, by hand and end to end on a planted writer (issue 17).

Every expected value is recomputed here from the formulas of docs/collapse.md and the
reference data (SSA names and ages, the OEWS table read directly from its JSON file):

    reach (names, occupation groups) = distinct / sum_v (1 - (1 - p_v)^n)
    reach (ages) = min(SD / adult SD, adult mass within 2 years of a stated age / its
                   expectation at n)
    reach (genders) = H(readable genders) / H(reference sexes)
    index = 1 - exp(mean_a log min(1, reach_a))
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter

import numpy as np
import pytest

from personascope.findings.collapse import CollapseFindings
from personascope.instruments.inventory import load_inventory
from personascope.metrics import attributes as attr
from personascope.metrics.estimate import Jackknife
from personascope.models.base import GenerationRequest, GenerationResult
from personascope.models.providers import resolve
from personascope.reference import occupations as soc
from personascope.reference import population as ref
from personascope.studies import collapse_measures as cm
from personascope.studies.base import StudyContext, run_study
from personascope.studies.collapse import CollapseStudy
from personascope.testing.fake import fake_runner, register_fake
from personascope.testing.planted import PlantedRespondent


def planted_writer(
    name: str, profiles: list[tuple[str, int, str, str]], respond: bool = False
) -> str:
    """``fake/<name>``: the request with seed s writes ``profiles[s % len(profiles)]``
    (name, age, gender, occupation) as the labelled fields of a persona; with ``respond``
    it also answers the Mini-IPIP, each persona at levels drawn from its text."""

    def write(request: GenerationRequest) -> GenerationResult:
        name, age, gender, occupation = profiles[request.seed % len(profiles)]
        text = (
            f" {name}\nAge: {age}\nGender: {gender}\nOccupation: {occupation}\n"
            f"Personality: kind, curious, calm\nDescription: {name} works as a "
            f"{occupation} and likes long walks."
        )
        return GenerationResult(text, (1, 2, 3), (-1.0, -2.0, -3.0), "stop", 0, (0.5,))

    def levels(persona: str | None) -> dict[str, float]:
        digest = hashlib.sha256((persona or "").encode()).digest()
        return {d: 1.5 + digest[i] % 7 / 2 for i, d in enumerate("OCEAN")}

    score = PlantedRespondent(load_inventory("mini_ipip"), levels).score if respond else None
    version = hashlib.sha256(repr((profiles, respond)).encode()).hexdigest()[:12]
    return register_fake(name, generate=write, score=score, replace=True, version=version)


JK = Jackknife(seed=0)
OEWS = json.loads(soc.DATA_FILE.read_text(encoding="utf-8"))


def _expected_distinct(probs, n: int) -> float:
    return float(sum(1 - (1 - p) ** n for p in probs))


def _entropy(counts) -> float:
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts if c)


def _age_reach(ages, window: int = 2) -> float:
    """min(SD / adult SD, coverage ratio); coverage ratio = adult mass within 2 years of a
    stated age / its expectation for n random adults, sum_a p_a (1 - (1 - q_a)^n) with
    q_a the adult mass within 2 years of a."""
    reference = dict(zip(ref.ages().values, ref.ages().probs, strict=True))
    covered = sum(p for a, p in reference.items() if any(abs(a - g) <= window for g in ages))
    near = {a: sum(p for b, p in reference.items() if abs(a - b) <= window) for a in reference}
    expected = sum(p * (1 - (1 - near[a]) ** len(ages)) for a, p in reference.items())
    mean = sum(a * p for a, p in reference.items())
    sd = math.sqrt(sum((a - mean) ** 2 * p for a, p in reference.items()))
    return min(float(np.std(ages, ddof=1)) / sd, covered / expected)


def _oews_probs() -> list[float]:
    return [g["employment"] / OEWS["total_employment"] for g in OEWS["groups"]]


def _index(reaches: dict[str, float]) -> float:
    return 1 - math.exp(np.mean([math.log(min(1.0, r)) for r in reaches.values()]))


def test_expected_distinct_by_hand():
    assert attr.expected_distinct(np.array([0.5, 0.5]), 2) == pytest.approx(1.5)
    assert attr.expected_distinct(np.array([0.2] * 5), 3) == pytest.approx(5 * (1 - 0.8**3))
    assert attr.expected_distinct(np.array([1.0]), 10) == pytest.approx(1.0)


def test_entropy_ratio_by_hand():
    est = attr.entropy_ratio(["female", "male", "male", "male"], {"f": 0.5, "m": 0.5}, JK, "g")
    assert est.value == pytest.approx(2 - 0.75 * math.log2(3))  # H(1/4, 3/4) / 1 bit


def test_collapse_index_by_hand():
    assert attr.collapse_index({"a": 1.0, "b": 0.25}) == pytest.approx(0.5)
    assert attr.collapse_index({"a": 2.0, "b": 0.25}) == pytest.approx(0.5)  # clipped at 1
    assert attr.collapse_index({"a": 0.5, "b": 0.5, "c": 1.0}) == pytest.approx(1 - 0.25 ** (1 / 3))


def test_oews_table_is_the_may_2025_release():
    assert OEWS["total_employment"] == 155_495_730
    assert sum(g["employment"] for g in OEWS["groups"]) == OEWS["total_employment"]
    shares = dict(zip(soc.employment().values, soc.employment().probs, strict=True))
    assert shares["43"] == pytest.approx(17_753_430 / 155_495_730)  # office and admin support
    assert len(shares) == 22


def test_occupations_map_onto_soc_major_groups():
    cases = {
        "3 years working as a software engineer": "15",
        "High school teacher": "25",
        "Registered Nurse": "29",
        "nursing assistant": "31",
        "marketing manager": "11",
        "Freelance graphic designer": "27",
        "truck drivers": "53",
        "student": soc.NOT_EMPLOYED,
        "a.n": None,
        "a true story of resilience and adventure": None,
    }
    assert {text: soc.major_group(text) for text in cases} == cases


def test_genders_are_read_onto_the_vocabulary_and_unreadable_ones_left_out():
    # the base model's genders in the default audit: female 57%, male 30%, mowerboy 4%,
    # occupation 4%, women 5% (here of 100 personas)
    raw = ["female"] * 57 + ["male"] * 30 + ["mowerboy"] * 4 + ["occupation"] * 4
    raw += ["women"] * 5
    out = cm.gender_summary(raw, JK)
    h_ref = _entropy(list(ref.genders().as_dict().values()))
    assert out["n"] == 92
    assert out["raw"]["unreadable"] == 8
    assert out["raw"]["unreadable_share"] == pytest.approx(0.08)
    assert out["reach"]["value"] == pytest.approx(_entropy([62, 30]) / h_ref)
    assert out["reach"]["value"] < 1
    assert {t["value"] for t in out["raw"]["raw_top"]} == {
        "female",
        "male",
        "mowerboy",
        "occupation",
        "women",
    }


def test_occupation_reach_counts_major_groups_and_reports_the_unmapped_share():
    raw = ["teacher"] * 5 + ["software engineer"] * 3 + ["student", "a.n"]
    out = cm.occupation_summary(raw, JK)
    assert out["raw"]["unreadable"] == 1  # "a.n"; "student" is not employed, not unreadable
    assert out["raw"]["not_employed"] == 1
    assert out["major_groups"]["n"] == 8
    assert out["reach"]["value"] == pytest.approx(2 / _expected_distinct(_oews_probs(), 8))


def test_index_components_by_formula():
    names = ["mary"] * 5 + ["john"] * 5
    ages = [30] * 5 + [40] * 5
    genders = ["female"] * 5 + ["Male"] * 4 + ["mowerboy"]
    occupations = ["teacher"] * 5 + ["software engineer"] * 3 + ["student", "a.n"]
    components = cm.index_components(names, ages, genders, occupations)(np.ones(10, bool))
    h_ref = _entropy(list(ref.genders().as_dict().values()))
    assert components == pytest.approx(
        {
            "first names": 2 / _expected_distinct(ref.first_names().probs, 10),
            "ages": _age_reach(ages),
            "genders": _entropy([5, 4]) / h_ref,
            "occupations": 2 / _expected_distinct(_oews_probs(), 8),
        }
    )


def test_copies_and_narrow_ages_cannot_raise_the_age_reach():
    # five wide-apart ages copied 12 times: an SD near the population's, 5 windows covered
    ages = [20, 35, 50, 65, 80] * 12
    reach = cm.index_components([None] * 60, ages, [None] * 60)(np.ones(60, bool))["ages"]
    assert reach == pytest.approx(_age_reach(ages))
    assert reach < 0.4
    # seven distinct ages between 22 and 34 (the aligned model's, quick audit): distinct,
    # but narrow
    narrow = [30, 25, 28, 22, 23, 26, 34]
    reach = cm.index_components([None] * 7, narrow, [None] * 7)(np.ones(7, bool))["ages"]
    assert reach == pytest.approx(_age_reach(narrow))
    assert reach < 0.3


VARIED = [
    (f"{first} Smith", 20 + 3 * i, gender, occupation)
    for i, (first, gender, occupation) in enumerate(
        [
            ("Ava", "female", "nurse"),
            ("Liam", "male", "truck driver"),
            ("Noah", "male", "software engineer"),
            ("Emma", "female", "cashier"),
            ("Mia", "woman", "teacher"),
            ("Lucas", "man", "electrician"),
            ("Zoe", "non-binary", "graphic designer"),
            ("Ethan", "male", "accountant"),
            ("Chloe", "female", "waitress"),
            ("Omar", "male", "police officer"),
            ("Grace", "female", "lawyer"),
            ("Diego", "male", "farmer"),
            ("Hana", "female", "receptionist"),
            ("Ivan", "male", "welder"),
            ("Ruth", "mowerboy", "janitor"),
            ("Sam", "male", "student"),
        ]
    )
]
COLLAPSED = [("Emma Stone", 28, "female", "software engineer")] * 14 + [
    ("Olivia Stone", 29, "male", "software developer")
] * 2


@pytest.mark.parametrize("profiles", [VARIED, COLLAPSED], ids=["varied", "collapsed"])
def test_collapse_study_reaches_and_index_equal_the_formulas(tmp_path, profiles):
    model_id = planted_writer(f"writer-{len(set(profiles))}", profiles)
    runner, store, spec = fake_runner(tmp_path, model_id)
    ctx = StudyContext(
        runner=runner,
        store=store,
        models=[spec],
        out_dir=tmp_path,
        run_id="test",
        quick=True,
        config={"collapse": {"n_personas": len(profiles)}},
    )
    try:
        findings = run_study(ctx, CollapseStudy()).to_json()
    finally:
        store.close()
    assert CollapseFindings.from_json(findings).to_json() == findings
    model = findings["models"][spec.model_id]
    n = len(profiles)
    first = [p[0].split()[0].lower() for p in profiles]
    ages = [p[1] for p in profiles]
    genders = Counter(
        {"woman": "female", "man": "male"}.get(p[2], p[2]) for p in profiles if p[2] != "mowerboy"
    )
    groups = [soc.major_group(p[3]) for p in profiles]
    groups = [g for g in groups if g not in (None, soc.NOT_EMPLOYED)]
    h_ref = _entropy(list(ref.genders().as_dict().values()))
    expected = {
        "first names": len(set(first)) / _expected_distinct(ref.first_names().probs, n),
        "ages": _age_reach(ages),
        "genders": _entropy(list(genders.values())) / h_ref,
        "occupations": len(set(groups)) / _expected_distinct(_oews_probs(), len(groups)),
    }
    assert model["names"]["reach"]["value"] == pytest.approx(expected["first names"])
    assert model["ages"]["reach"]["value"] == pytest.approx(expected["ages"])
    assert model["genders"]["reach"]["value"] == pytest.approx(expected["genders"])
    assert model["occupations"]["reach"]["value"] == pytest.approx(expected["occupations"])
    assert model["collapse"]["components"] == pytest.approx(expected)
    assert model["collapse"]["index"]["value"] == pytest.approx(_index(expected))
    index = model["collapse"]["index"]
    assert index["low"] <= index["value"] <= index["high"]
    unreadable = sum(p[2] == "mowerboy" for p in profiles)
    assert model["genders"]["raw"]["unreadable"] == unreadable


@pytest.fixture(scope="module")
def planted_collapse(tmp_path_factory):
    """The findings JSON of the varied and the collapsed planted writers, both answering
    the self-report, compared at matched n and length."""
    tmp_path = tmp_path_factory.mktemp("collapse")
    varied = planted_writer("respondent-varied", VARIED, respond=True)
    collapsed = planted_writer("respondent-collapsed", COLLAPSED, respond=True)
    runner, store, spec = fake_runner(tmp_path, varied)
    ctx = StudyContext(
        runner=runner,
        store=store,
        models=[spec, resolve(collapsed)],
        out_dir=tmp_path,
        run_id="test",
        quick=True,
        config={"collapse": {"n_personas": 16, "self_report_personas": 8}},
    )
    try:
        return run_study(ctx, CollapseStudy()).to_json()
    finally:
        store.close()
