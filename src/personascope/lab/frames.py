"""One-shot persona frames for the base model: where preference pairs and evaluations come from.

Each frame is a completion prompt for a base model: one line saying where the profiles come
from, one example profile with the four fields Name / Age / Occupation / Personality, and the
opening of a second profile (``Profile 2\\nName:``). The model writes the rest of that
profile; sampling stops at the blank line after it (or, for a lab of first names only, at
the end of the Name line: :data:`NAME_STOP`). The frames differ in setting and in
their example, so that training pairs come from several contexts, and the lab evaluates on
frames it never trained on (:data:`HELDOUT`).

Every frame has a template id (``lab/<name>@<sha256[:8]>``, see
:class:`personascope.personas.prompts.Template`) recorded with the results.
"""

from __future__ import annotations

from dataclasses import dataclass

from personascope.errors import LabError
from personascope.models.base import TextPrompt
from personascope.personas.prompts import Template

STOP = ("\n\n", "\nProfile")
# names only (``LabConfig.names_only``): the completion ends with the Name line
NAME_STOP = ("\n",)
PROFILE_PREFIX = "Name:"


@dataclass(frozen=True)
class Frame:
    name: str
    setting: str
    name_value: str
    age: int
    occupation: str
    personality: str

    @property
    def template(self) -> Template:
        text = (
            f"{self.setting}\n\n"
            f"Profile 1\nName: {self.name_value}\nAge: {self.age}\n"
            f"Occupation: {self.occupation}\nPersonality: {self.personality}\n\n"
            f"Profile 2\n{PROFILE_PREFIX}"
        )
        return Template(f"lab/{self.name}", text)

    @property
    def prompt(self) -> TextPrompt:
        return TextPrompt(self.template.text)


FRAMES: dict[str, Frame] = {
    f.name: f
    for f in (
        Frame(
            "community-survey",
            "Profiles of people who answered a community survey.",
            "Maria Lopez",
            52,
            "school bus driver",
            "patient, chatty, stubborn",
        ),
        Frame(
            "oral-history",
            "Residents interviewed for a city oral-history project.",
            "Walter Greene",
            78,
            "retired machinist",
            "gruff, loyal, curious",
        ),
        Frame(
            "food-bank",
            "Volunteers registered at a neighborhood food bank.",
            "Priya Natarajan",
            34,
            "pharmacist",
            "organized, warm, impatient",
        ),
        Frame(
            "hiking-club",
            "Members listed in a hiking club newsletter.",
            "Jake Morrison",
            23,
            "bike mechanic",
            "adventurous, messy, cheerful",
        ),
        Frame(
            "sleep-study",
            "Participants enrolled in a university sleep study.",
            "Denise Carter",
            45,
            "night-shift nurse",
            "calm, dry-humored, tired",
        ),
        Frame(
            "hardware-store",
            "Customers in a hardware store's loyalty program.",
            "Luis Ortega",
            61,
            "plumber",
            "practical, quiet, generous",
        ),
        # held out: never used for training pairs
        Frame(
            "letters-to-editor",
            "People who wrote letters to a local newspaper.",
            "Evelyn Brooks",
            67,
            "retired librarian",
            "meticulous, opinionated, kind",
        ),
        Frame(
            "bus-station",
            "Passengers interviewed at a bus station.",
            "Marcus Bell",
            29,
            "warehouse supervisor",
            "energetic, blunt, reliable",
        ),
    )
}

TRAIN = (
    "community-survey",
    "oral-history",
    "food-bank",
    "hiking-club",
    "sleep-study",
    "hardware-store",
)
HELDOUT = ("letters-to-editor", "bus-station")


def get_frames(names: tuple[str, ...]) -> tuple[Frame, ...]:
    unknown = [n for n in names if n not in FRAMES]
    if unknown:
        raise LabError(f"unknown frame {unknown[0]!r}; known: {', '.join(FRAMES)}")
    return tuple(FRAMES[n] for n in names)


def profile_text(completion: str) -> str:
    """The profile as written: the completion continues after ``Name:``."""
    return (PROFILE_PREFIX + completion).strip()
