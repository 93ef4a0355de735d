"""Layer files: validation with errors naming file and field, and the sampled distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from personascope.config import read_yaml, validate_config
from personascope.errors import InputFileError
from personascope.personas.layers import LayersConfig, layer_targets, persona_fields
from personascope.personas.persona import Persona
from personascope.personas.strategies import load_strategy
from personascope.personas.strategies.describe import LayeredConfig

TOPICS = """
layers:
  - name: topic
    type: categorical
    values: {health: 0.5, money: 0.3, travel: 0.2}
  - name: subtopic
    type: conditional
    parent: topic
    values:
      health: [sleep, exercise]
      money: {saving: 0.9, debt: 0.1}
      travel: [flights]
"""


def load(tmp_path, text, name="layers.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return validate_config(LayeredConfig, read_yaml(path), str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "layers:\n  - {name: a, type: categorical, valuse: [x]}\n",
            r"layers\.0\.categorical\.valuse: unknown key",
        ),
        (
            "layers:\n  - {name: a, type: categorical, values: {x: 0.5, y: 0.4}}\n",
            r"probabilities sum to 0\.9, not 1",
        ),
        (
            "layers:\n  - {name: a, type: categorical, values: {x: -0.5, y: 1.5}}\n",
            r"finite and >= 0",
        ),
        ("layers:\n  - {name: a, type: colour, values: [x]}\n", r"layers\.0: .*'categorical'"),
        (
            "layers:\n  - {name: b, type: conditional, parent: a, values: {x: [y]}}\n",
            r"'a' is not an earlier layer",
        ),
        (TOPICS.replace("      travel: [flights]\n", ""), r"no table for topic 'travel'"),
        (
            "layers:\n  - {name: a, type: integer, min: 9, max: 3}\n",
            r"min \(9\) is larger than max \(3\)",
        ),
        ("layers:\n  - {type: big_five, mode: joint}\n", r"needs a 5 x 5 'correlation'"),
        (
            "layers:\n  - {type: context, include: [mood]}\n",
            r"unknown characteristic\(s\) in include: mood",
        ),
        ("layers: []\n", r"layers: List should have at least 1 item"),
        (
            "sampler: {temperature: -1}\nlayers:\n  - {name: a, type: categorical, values: [x]}\n",
            r"sampler\.temperature",
        ),
        ("strategy: marginals\nlayers: []\n", r"the file is for 'marginals', not 'layered'"),
        ("layers:\n  - {name: a, type: categorical, values: [x]\n", r"layers\.yaml:\d+: "),
    ],
)
def test_bad_layer_files_name_file_and_field(tmp_path, text, message):
    path = tmp_path / "layers.yaml"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message) as info:
        load_strategy("layered", path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_joint_correlation_must_be_a_correlation_matrix(tmp_path):
    bad = [
        [1, 0.9, 0, 0, 0],
        [0.9, 1, 0, 0, 0.9],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0.9, 0, 0, 1],
    ]
    text = f"layers:\n  - {{type: big_five, mode: joint, correlation: {bad}}}\n"
    with pytest.raises(InputFileError, match="not positive definite"):
        load(tmp_path, text)


def test_categorical_and_conditional_frequencies(tmp_path):
    config = load(tmp_path, TOPICS)
    rng = np.random.default_rng(1)
    draws = [config.sample(rng) for _ in range(4000)]
    topics = [d["topic"] for d in draws]
    observed = [topics.count(t) for t in ("health", "money", "travel")]
    assert stats.chisquare(observed, [2000, 1200, 800]).pvalue > 0.001
    money = [d["subtopic"] for d in draws if d["topic"] == "money"]
    assert stats.binomtest(money.count("debt"), len(money), 0.1).pvalue > 0.001
    assert {d["subtopic"] for d in draws if d["topic"] == "travel"} == {"flights"}


def test_big_five_modes_reproduce_their_correlations(tmp_path):
    r = np.eye(5)
    r[0, 4] = r[4, 0] = -0.6
    joint = load(
        tmp_path, f"layers:\n  - {{type: big_five, mode: joint, correlation: {r.tolist()}}}\n"
    )
    rng = np.random.default_rng(2)
    t = np.array([list(joint.sample(rng)["big_five"].values()) for _ in range(3000)])
    assert abs(np.corrcoef(t.T)[0, 4] + 0.6) < 0.05
    assert abs(t.mean() - 50) < 1 and t.min() >= 20 and t.max() <= 80
    independent = load(tmp_path, "layers:\n  - {type: big_five, mode: t_scores, mean: 60, sd: 5}\n")
    t = np.array([list(independent.sample(rng)["big_five"].values()) for _ in range(3000)])
    assert abs(t.mean() - 60) < 0.5 and abs(np.corrcoef(t.T)[1, 2]) < 0.06


def test_human_mode_has_the_human_trait_correlations(tmp_path):
    from personascope.instruments.norms import load_norms

    norms = load_norms("ipip50")
    human = load(tmp_path, "layers:\n  - {type: big_five, mode: human}\n")
    rng = np.random.default_rng(3)
    t = np.array(
        [
            [p["big_five"][d] for d in norms.domains]
            for p in (human.sample(rng) for _ in range(4000))
        ]
    )
    assert np.abs(np.corrcoef(t.T) - norms.correlation).max() < 0.08
    assert np.allclose(t.mean(axis=0), 50, atol=1.0) and np.allclose(t.std(axis=0), 10, atol=1.0)


def test_fields_facts_and_targets_round_trip(tmp_path):
    config = load(
        tmp_path,
        TOPICS
        + "  - {name: age, type: integer, min: 18, max: 90}\n"
        + "  - {name: education, type: categorical, values: [school, college],"
        + " target: demographics}\n"
        + "  - {type: big_five}\n  - {type: context, include: [formality, medium]}\n",
    )
    rng = np.random.default_rng(4)
    profile = config.sample(rng)
    fields, facts = persona_fields(config, profile, rng)
    persona = Persona(description="x", **fields)
    assert persona.age == profile["age"] and persona.demographics == {
        "education": profile["education"]
    }
    assert persona.attributes["topic"] == profile["topic"] and set(persona.context) == {
        "formality",
        "medium",
    }
    labels = [label for label, _ in facts]
    assert labels[:4] == ["Topic", "Subtopic", "Age", "Education"] and "Personality" in labels
    targets = {t.attribute: t for t in layer_targets(config, persona)}
    expected = {
        "topic", "subtopic", "age", "education", "context.formality", "context.medium",
        *(f"big_five.{d}" for d in "OCEAN"),
    }  # fmt: skip
    if profile["topic"] == "travel":
        expected.remove("subtopic")  # one possible subtopic: nothing to score back
    assert set(targets) == expected
    assert targets["topic"].value == profile["topic"]
    assert targets["big_five.E"].t_score == profile["big_five"]["E"]
    assert all(t.value in t.options and len(t.options) <= 5 for t in targets.values())


def test_sampling_is_a_function_of_seed_and_unit_only():
    from personascope.personas.strategies.base import unit_rng

    config = LayersConfig.model_validate(read_yaml_text(TOPICS))
    first = [config.sample(unit_rng(7, i)) for i in range(5)]
    again = [config.sample(unit_rng(7, i)) for i in reversed(range(5))][::-1]
    assert first == again
    assert unit_rng(8, 0).random() != unit_rng(7, 0).random() != unit_rng(7, 1).random()


def read_yaml_text(text):
    import yaml

    return yaml.safe_load(text)
