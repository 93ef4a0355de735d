"""Adoption study: design, agreement statistics, a planted adopter, and the embedded models."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from personascope.errors import PersonascopeError
from personascope.findings import from_json
from personascope.findings.adoption import AdoptionFindings, ModelAdoption
from personascope.instruments.agreement import (
    discrimination,
    hit_rate,
    movement_ratio,
    slope,
    spearman,
)
from personascope.instruments.inventory import load_inventory
from personascope.instruments.markers import describe, target_score
from personascope.models.providers import resolve
from personascope.report.sections import render_json
from personascope.report.sections.adoption import headline
from personascope.runner import Runner
from personascope.store import Store
from personascope.studies import battery, get_study
from personascope.studies.adoption import (
    FULL,
    QUICK,
    AdoptionStudy,
    Settings,
    movement_inputs,
    persona_units,
    select,
    targets,
)
from personascope.studies.base import StudyContext, run_study
from personascope.testing.fake import fake_runner, planted_respondent


def test_the_complete_design_has_default_32_profiles_and_45_ladder_rungs():
    complete = replace(FULL, combos=True, ladder_levels=tuple(range(1, 10)))
    units = persona_units(complete, tuple("OCEAN"))
    groups = [u.group for u in units]
    assert groups.count("default") == 1 and units[0].text is None
    assert groups.count("combo") == 32 and groups.count("ladder") == 45
    assert len({u.name for u in units}) == len(units)
    assert len({u.text for u in units}) == len(units)
    t = targets(units, tuple("OCEAN"), 5)
    assert np.isnan(t[0]).all()
    combos = t[[g == "combo" for g in groups]]
    assert set(np.unique(combos)) == {1.5, 4.5}  # levels 2 and 8
    assert np.isfinite(t[[g == "ladder" for g in groups]]).sum(axis=1).tolist() == [1] * 45


def test_default_and_quick_designs_fit_the_audit_and_adoption_follows_collapse():
    assert len(persona_units(FULL, tuple("OCEAN"))) == 16  # default + 5 domains x 3 levels
    assert len(persona_units(QUICK, tuple("OCEAN"))) == 11
    assert FULL.items_per_domain is None and QUICK.items_per_domain == 2
    extremes = select(persona_units(FULL, tuple("OCEAN")), FULL, "extremes")
    ladder_ends = [f"{d}{level}" for d in "OCEAN" for level in (1, 9)]
    assert [u.name for u in extremes] == ["default", *ladder_ends]
    assert battery().index("adoption") == battery().index("collapse") + 1
    assert get_study("adoption").name == "adoption"


def test_movement_ratio_of_ladder_personas_uses_each_persona_own_domain():
    units = persona_units(replace(QUICK, ladder_levels=(1, 9)), tuple("OC"))
    target = targets(units, tuple("OC"), 5)
    measured = np.full((len(units), 2), 3.0)  # default 3 everywhere ...
    measured[1:, :] = np.nan_to_num(target[1:, :], nan=3.0)  # ... personas exactly on target
    t, m, default, basis = movement_inputs(units, tuple("OC"), target, measured)
    assert "ladder" in basis and t.shape == (4, 1)
    assert movement_ratio(t, m, default) == pytest.approx(1.0)
    assert movement_ratio(t, default, default) == 0.0


def test_unknown_settings_are_named():
    ctx = SimpleNamespace(quick=True, config={"adoption": {"wordngs": ["accuracy"]}})
    with pytest.raises(PersonascopeError, match=r"unknown adoption setting.*wordngs"):
        AdoptionStudy().settings(ctx.config.get("adoption", {}), ctx.quick)
    ok = SimpleNamespace(quick=False, config={"adoption": {"ladder_levels": [1, 9]}})
    assert AdoptionStudy().settings(ok.config.get("adoption", {}), ok.quick).ladder_levels == (1, 9)


def test_marker_levels_and_targets():
    assert [target_score(level) for level in (1, 5, 9)] == [1.0, 3.0, 5.0]
    assert describe({"E": 9}, 2) == "I am extremely friendly and extremely extraverted."
    assert describe({"N": 5}, 1) == "I am neither relaxed nor tense."
    assert describe({"A": 3}, 1) == "I am distrustful."


def test_agreement_statistics_by_hand():
    t = np.array([1.0, 2.0, 4.0, 5.0])
    assert spearman(t, np.array([2.0, 2.5, 3.5, 3.6])) == pytest.approx(1.0)
    assert slope(t, 3 + 0.5 * (t - 3)) == pytest.approx(0.5)
    assert hit_rate(t, np.array([2.0, 3.5, 3.5, 4.0]), 3.0) == pytest.approx(0.75)
    # high targets {4, 5} measured {3.5, 4}; low {1, 2} measured {3.5, 2}: 3 wins, 1 tie
    assert discrimination(t, np.array([3.5, 2.0, 3.5, 4.0]), 3.0) == pytest.approx(3.5 / 4)
    default = np.array([3.0, 3.0])
    targets_ = np.array([[1.0, 5.0], [5.0, 1.0]])
    assert movement_ratio(targets_, np.array([[2.0, 4.0], [4.0, 2.0]]), default) == 0.5
    assert np.isnan(spearman(t, np.full(4, 3.0)))


def _context(tmp_path, runner, store, spec, config, quick=True):
    return StudyContext(
        runner=runner,
        store=store,
        models=[spec],
        out_dir=tmp_path,
        run_id="test",
        seed=0,
        quick=quick,
        config={"adoption": config},
    )


SMALL = {"wordings": ["accuracy"], "ladder_levels": [1, 3, 7, 9], "n_boot": 200}
DEFAULT = {"O": 3.5, "C": 3.25, "E": 2.75, "A": 4.0, "N": 2.5}  # the planted default profile


def planted_adopter_run(tmp_path, items_per_domain):
    """The study's findings JSON and the stored findings of a planted perfect adopter
    under the complete design (high/low profiles, item order and placement controls),
    and the planted model's spec."""
    inv = load_inventory("mini_ipip")
    design = Settings(combos=True, ladder_levels=(1, 3, 7, 9), n_markers=2)
    units = persona_units(design, tuple("OCEAN"))
    profiles = {
        u.text: {d: target_score(u.levels[d]) if d in u.levels else DEFAULT[d] for d in "OCEAN"}
        for u in units
    }
    model_id = planted_respondent("adopter", inv, lambda p: profiles[p])
    runner, store, spec = fake_runner(tmp_path, model_id)
    config = {
        **SMALL,
        "combos": True,
        "items_per_domain": items_per_domain,
        "n_markers": 2,
        "order_seeds": [1],
        "placement_control": True,
    }
    with store:
        findings = run_study(
            _context(tmp_path, runner, store, spec, config), get_study("adoption")
        ).to_json()
        stored = store.findings("adoption")[("adoption", "findings")]
    return findings, stored, spec


@pytest.fixture(scope="module")
def planted_adoption(tmp_path_factory):
    """:func:`planted_adopter_run` on the whole Mini-IPIP."""
    return planted_adopter_run(tmp_path_factory.mktemp("adopter"), None)


@pytest.mark.parametrize("items_per_domain", [None, 2])
def test_a_planted_perfect_adopter_scores_perfectly(tmp_path, items_per_domain):
    """On the whole Mini-IPIP and on its quick form (2 items per domain): both have
    human norms (T-scores, and validity references for the form administered)."""
    findings, stored, spec = planted_adopter_run(tmp_path, items_per_domain)
    json.dumps(findings, allow_nan=False)
    assert stored["models"].keys() == findings["models"].keys()
    model_findings = findings["models"][spec.model_id]
    condition = model_findings["conditions"]["accuracy"]
    for d, row in condition["domains"].items():
        assert row["spearman"]["value"] == pytest.approx(1.0), d
        assert row["slope"]["value"] == pytest.approx(1.0), d
        assert row["hit_rate"]["value"] == 1.0 and row["discrimination"]["value"] == 1.0
        assert row["n_personas"] == 32 + 4
    assert condition["default_pull"]["movement_ratio"]["value"] == pytest.approx(1.0)
    assert condition["default_pull"]["slope_below_1"] == dict.fromkeys("OCEAN", False)
    profile = condition["default_profile"]
    assert profile["scores"] == pytest.approx(DEFAULT)
    assert profile["verdict"] == "valid"
    for row in condition["validity"]["domains"].values():
        assert row["verdict"] == "valid", row["reasons"]
        assert row["reference"] == f"{condition['provenance']['inventory']} human norms"
    # default O 3.5 < human mean 4.02 (S), C 3.25 >= 3.19 / 2.89 (J), E 2.75 < 2.90 / 2.93 (I),
    # A 4.0 >= 3.91 / 3.93 (F): Mini-IPIP means, whole form / first two items per domain
    assert profile["derived_type"]["type"] == "ISFJ"
    assert profile["derived_type"]["split"] == "human mean (T = 50)"
    assert set(profile["t_scores"]) == set("OCEAN")
    assert condition["provenance"]["model_key"] == "fake/adopter@1"
    controls = model_findings["controls"]
    for shift in controls["reversed_options"]["accuracy"]["default_profile_shift"].values():
        assert shift == pytest.approx(0.0, abs=1e-9)
    assert controls["item_order"]["shift"]["1"] == pytest.approx(dict.fromkeys("OCEAN", 0.0))
    for row in controls["inline_placement"]["domains"].values():
        assert row["spearman"]["value"] == pytest.approx(1.0)
    assert controls["inline_placement"]["condition"]["placement"] == "inline"


def test_a_model_that_ignores_personas_is_pulled_to_its_default(tmp_path):
    inv = load_inventory("mini_ipip")
    model_id = planted_respondent("default-only", inv, lambda p: DEFAULT, "base")
    runner, store, spec = fake_runner(tmp_path, model_id)
    config = {**SMALL, "wordings": ["agreement"], "ladder_levels": [1, 9]}
    with store:
        ctx = _context(tmp_path, runner, store, spec, {**config, "combos": True})
        findings = run_study(ctx, get_study("adoption")).to_json()
    condition = findings["models"][spec.model_id]["conditions"]["agreement"]
    assert condition["default_pull"]["movement_ratio"]["value"] == pytest.approx(0.0)
    for row in condition["domains"].values():
        assert row["slope"]["value"] == pytest.approx(0.0)
        assert row["spearman"]["value"] is None  # measured scores do not vary
        assert row["discrimination"]["value"] == 0.5
    assert "hardly moves with the persona" in json.dumps(condition["validity"])
    assert AdoptionFindings.from_json(findings).to_json() == findings


EMBEDDED = ["llamacpp/smollm2-135m-instruct", "llamacpp/gemma3-270m"]


@pytest.fixture(scope="module", params=EMBEDDED)
def embedded_run(request, tmp_path_factory):
    """A tiny real adoption run: the default and the 5 extreme-high ladder personas."""
    model_id = request.param
    tmp_path = tmp_path_factory.mktemp("adoption")
    config = {"wordings": ["accuracy"], "ladder_levels": [9], "n_boot": 100}
    with Store(tmp_path) as store:
        runner = Runner(store, "test", progress=False)
        ctx = _context(tmp_path, runner, store, resolve(model_id), config)
        started = time.perf_counter()
        run_study(ctx, get_study("adoption")).to_json()
        elapsed = time.perf_counter() - started
        runner.executor.close()
        stored = {name: data for (_, name), data in store.findings("adoption").items()}
    print(f"{model_id}: {elapsed:.1f} s")
    return model_id, stored


def test_the_embedded_models_take_no_reportable_personality(embedded_run):
    model_id, stored = embedded_run
    condition = stored["findings"]["models"][model_id]["conditions"]["accuracy"]
    print(f"{model_id}: {condition['validity']['summary']}")
    assert condition["validity"]["verdict"] == "invalid"
    for d, row in condition["domains"].items():
        validity = row["validity"]
        # measured first (docs/instruments.md): both models give nearly every item the same
        # answer distribution, a between-item SD of 0.03-0.14 scale points vs ~1.2 in humans
        assert validity["verdict"] == "invalid", d
        assert validity["item_spread_ratio"] < 0.25, d
        assert "nearly the same for every item" in validity["reasons"][0]
    profile = condition["default_profile"]
    assert profile["derived_type"] is None and "t_scores" not in profile
    assert profile["interpretation"].startswith("withheld")


def _html(section) -> str:
    return "".join(str(block) for block in section.blocks)


def test_the_report_section_shows_the_invalid_headline_and_every_verdict(embedded_run):
    model_id, stored = embedded_run
    section = render_json("adoption", stored["findings"])
    html = _html(section)
    assert f"{model_id} shows no measurable personality" in html
    assert "answer habits, not adoption" in html
    assert section.headline[model_id] == {
        "adoption (median Spearman, usable domains)": "withheld: invalid self-report",
        "default pull (movement ratio)": "withheld: invalid self-report",
        "adoption self-report": "invalid (accuracy)",
    }
    # the agreement and the validity table, each domain row with its verdict
    assert f"{model_id}, accuracy: validity diagnostics" in html
    rows = re.findall(r"<tr><td>([OCEAN])</td><td>(\w+)</td>", html)
    assert len(rows) == 5 * 2 and {v for _, v in rows} == {"invalid"}
    assert "reversed options (accuracy)" in html and "O shift" in html
    assert html.count('class="figure"') == 1


def test_the_report_section_of_a_planted_adopter_says_it_adopts(tmp_path):
    inv = load_inventory("mini_ipip")
    design = Settings(combos=False, ladder_levels=(1, 9), n_markers=1)
    units = persona_units(design, tuple("OCEAN"))
    default = {"O": 3.5, "C": 3.25, "E": 2.75, "A": 4.0, "N": 2.5}
    profiles = {
        u.text: {d: target_score(u.levels[d]) if d in u.levels else default[d] for d in "OCEAN"}
        for u in units
    }
    model_id = planted_respondent("adopter-report", inv, lambda p: profiles[p])
    runner, store, spec = fake_runner(tmp_path, model_id)
    config = {
        "wordings": ["accuracy", "likeness"],
        "items_per_domain": None,
        "ladder_levels": [1, 9],
        "n_markers": 1,
        "n_boot": 100,
    }
    with store:
        run_study(_context(tmp_path, runner, store, spec, config), get_study("adoption"))
        stored = {name: data for (_, name), data in store.findings("adoption").items()}
    stored["findings"]["personas"]["O9"]["text"] = "<script>alert(1)</script>"  # escaped?
    section = render_json("adoption", stored["findings"])
    html = _html(section)
    assert (
        f"{spec.model_id} under &#39;accuracy&#39; (valid): measured traits follow the targets "
        "with a median Spearman correlation of 1.00 over 5 of 5 domains" in html
    )
    assert "default pull (slope CI below 1) in 0 of 5 usable domains" in html
    assert section.headline[spec.model_id]["adoption self-report"] == "valid (accuracy)"
    for wording in ("accuracy", "likeness"):  # the 2nd wording: the default profile only
        assert f"{spec.model_id}, {wording}: validity diagnostics" in html
        assert f"reversed options ({wording})" in html
    rows = re.findall(r"<tr><td>([OCEAN])</td><td>(\w+)</td>", html)
    # accuracy: the whole ladder, valid. likeness: the planted default alone, whose answers
    # differ between items only by keying, so its item sensitivity is low there
    assert len(rows) == 5 * 2 * 2 and {v for _, v in rows[:10]} == {"valid"}
    model = stored["findings"]["models"][spec.model_id]
    accuracy, likeness = model["conditions"]["accuracy"], model["conditions"]["likeness"]
    for v in accuracy["validity"]["domains"].values():
        v.update(verdict="invalid", reasons=["planted reason"])
    likeness["validity"]["verdict"] = "weak"
    assert headline(spec.model_id, from_json(ModelAdoption, model)) == (
        f"{spec.model_id}: the self-report is invalid in every domain under 'accuracy' (e.g. "
        "O: planted reason) but not under likeness; see the tables below."
    )
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
