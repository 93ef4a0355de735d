"""Reading persona fields from what models actually write, and counting what fails.

The messy examples are real outputs of the embedded models (SmolLM2-135M-Instruct and
Gemma-3-270M base) to the naive prompt, trimmed.
"""

from __future__ import annotations

from personascope.personas.fields import failure_counts, parse_fields, split_adjectives


def test_clean_profile():
    parsed = parse_fields(
        "Name: Maria Lopez\nAge: 34\nGender: Woman\nOccupation: Nurse\n"
        "Personality: kind, curious, organized\n"
        "Description: Maria works nights at a hospital. She loves her cat."
    )
    assert (parsed.name, parsed.age, parsed.gender, parsed.occupation) == (
        "Maria Lopez", 34, "female", "Nurse"
    )  # fmt: skip
    assert parsed.adjectives == ("kind", "curious", "organized")
    assert parsed.description == "Maria works nights at a hospital. She loves her cat."
    assert parsed.failures == ()


def test_markdown_bullets_qualifiers_and_inline_fields():
    parsed = parse_fields(
        "- **Name:** Tom Baker\n- **Age:** thirty-two\n- **Sex:** M\n"
        "- **Personality traits:** very shy; a bit anxious and extremely loyal"
    )
    assert (parsed.name, parsed.age, parsed.gender) == ("Tom Baker", 32, "male")
    assert parsed.adjectives == ("shy", "anxious", "loyal")
    inline = parse_fields(
        "Name: Elizabeth, age: 28 (indicates sex)\nOccupation: Content marketing manager"
    )
    assert (inline.name, inline.age, inline.occupation) == (
        "Elizabeth",
        28,
        "Content marketing manager",
    )
    assert "gender" in inline.failures and "description" in inline.failures


def test_second_profile_of_a_base_model_is_cut_off():
    parsed = parse_fields(
        "Name: Ben\nOccupation: Delivery Driver\nGender: Female\nAge: 18\n\n"
        "profile 2\nname: Ken\nage: 70\ngender: male"
    )
    assert (parsed.name, parsed.age, parsed.gender) == ("Ben", 18, "female")


def test_prose_fallbacks():
    smollm = (
        "John Smith, 47, being a seasoned baseball prodigy is a testament to the hard-work "
        "ethic of his era."
    )
    parsed = parse_fields(smollm)
    assert (parsed.name, parsed.age) == ("John Smith", 47)
    assert parsed.description == smollm
    she = parse_fields(
        "She is a quiet woman who works as a librarian in Ohio. She is 62 years old."
    )
    assert (she.gender, she.gender_from_pronouns, she.age, she.occupation) == (
        "female", True, 62, "librarian"
    )  # fmt: skip
    assert parse_fields("The sky is blue today, and it is warm.").name is None


def test_placeholders_and_bullet_lists():
    echoed = parse_fields("Name: <first and last name>\nAge: <age in years>")
    assert echoed.name is None and echoed.age is None
    gemma = parse_fields(
        "Name: Laura\nDate of birthday: 2023\nOccupation: Owner\nPersonality traits:\n"
        "- Quiet\n- Desires to be liked\n- Cheerful\n"
    )
    assert gemma.adjectives == ("quiet", "cheerful")  # the 4-word item is not an adjective
    assert gemma.description is None  # only labelled lines and bullets: no prose


def test_failure_counts():
    parsed = [parse_fields("Name: A B\nAge: 30"), parse_fields("nothing useful")]
    counts = failure_counts(parsed)
    assert counts["n"] == 2
    assert counts["name"] == 1 and counts["age"] == 1 and counts["occupation"] == 2


def test_split_adjectives():
    assert split_adjectives("Creative, talented and passionate") == (
        "creative",
        "talented",
        "passionate",
    )
    assert split_adjectives("warm / witty; rather stubborn") == ("warm", "witty", "stubborn")
