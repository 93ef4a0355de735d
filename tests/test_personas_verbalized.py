"""Parsing verbalized-sampling answers in the formats models actually produce."""

from __future__ import annotations

from personascope.personas.strategies.verbalized import parse_verbalized


def test_the_requested_format():
    text = (
        "Person 1 (probability 0.30): Name: Ana Ruiz; Age: 41; Description: A nurse.\n"
        "Person 2 (probability 0.2): Name: Bo Li; Age: 23; Description: A student.\n"
        "Person 3 (probability 0.05): Name: Cy Ode; Age: 67; Description: A farmer."
    )
    items, failures = parse_verbalized(text, 3)
    assert [i.probability for i in items] == [0.30, 0.2, 0.05]
    assert items[1].text == "Name: Bo Li; Age: 23; Description: A student."
    assert not failures


def test_lenient_formats_and_counted_failures():
    text = (
        "1. **Ana** - a nurse (p=0.4)\n"
        "2) Bo, a student, 25%\n"
        "**Persona 3** (probability: 1.7) Cy, a farmer\n"
        '<persona probability="0.1">Di, a pilot</persona>\n'
        "Person 5 (probability 0.1):\n"
    )
    items, failures = parse_verbalized(text, 6)
    assert [i.text for i in items] == [
        "**Ana** - a nurse",
        "Bo, a student, 25%",
        "Cy, a farmer",
        "Di, a pilot",
    ]
    assert [i.probability for i in items] == [0.4, None, None, 0.1]
    assert failures == {
        "missing_probability": 1, "probability_out_of_range": 1, "empty_persona": 1,
        "missing_personas": 2,
    }  # fmt: skip


def test_smollm2_output_without_probabilities():
    # A real SmolLM2-135M-Instruct answer (seed 0): items but no probability anywhere.
    text = (
        "Person 1, Maria Lopez (Age: 30; gender: female; occupation: artist)\n"
        "Person 2, Samantha Nguyen (Age: 32; gender: male; occupation: engineer)\n"
        "Name: Samantha Nguyen \n Olive Brando\n"
    )
    items, failures = parse_verbalized(text, 5)
    assert items[0].text == "Maria Lopez (Age: 30; gender: female; occupation: artist)"
    assert failures == {"missing_probability": 2, "missing_personas": 3}


def test_no_items_at_all_and_too_many():
    items, failures = parse_verbalized("I cannot do that.", 4)
    assert items == [] and failures == {"unparseable_output": 1, "missing_personas": 4}
    text = "\n".join(f"Person {i} (probability 0.1): someone {i}" for i in range(1, 5))
    items, failures = parse_verbalized(text, 2)
    assert len(items) == 2 and failures == {"extra_personas": 2}
