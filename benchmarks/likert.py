"""The Likert scoring plan the backend benchmarks share: a persona, an item, five options."""

from __future__ import annotations

from personascope.models.base import ChoiceRequest, TextPrompt

ITEMS = (  # IPIP-50 markers (Goldberg 1992, public domain)
    "I am the life of the party.",
    "I get stressed out easily.",
    "I leave my belongings around.",
    "I have a vivid imagination.",
    "I sympathize with others' feelings.",
    "I am always prepared.",
    "I feel comfortable around people.",
    "I am not interested in abstract ideas.",
)
JOBS = ("nurse", "welder", "poet", "banker", "farmer", "pilot", "chef", "teacher", "judge")


def likert_request(persona: str, item: str) -> ChoiceRequest:
    """``persona``, then the item as a 1-5 rating to be answered by one digit."""
    return ChoiceRequest(
        TextPrompt(
            f"{persona}\nRate how well the statement describes you, from 1 (very inaccurate) "
            f"to 5 (very accurate).\nStatement: {item}\nAnswer: "
        ),
        ("1", "2", "3", "4", "5"),
    )
