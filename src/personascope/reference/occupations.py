"""Occupations read as US Standard Occupational Classification (SOC 2018) major groups,
and the reference distribution of US employment over those groups.

Reference: BLS Occupational Employment and Wage Statistics (OEWS), May 2025, national
employment per major group (``data/oews_major_groups.json``; public domain, source and
checksum in the file). It covers wage and salary jobs: the self-employed and most farm
work are outside it, so "farmer" (SOC 11-9013, a management occupation) is rare there.

Mapping (:func:`major_group`), deterministic and documented here so that a reader can
redo it by hand:

1. the text is lower-cased and every character that is not a letter becomes a space;
2. if one of the ``PHRASES`` occurs (whole words), the group of the one that *ends last*
   wins (a job title is head-final: "software engineer" is a computer occupation), ties
   to the longer phrase;
3. else the words are read from the last to the first and the first one found in
   ``WORDS`` (also with a final "s" removed) gives the group;
4. words saying the person has no job (``NOT_EMPLOYED``: student, retired, ...) give
   :data:`NOT_EMPLOYED`, outside the reference; anything else is unmapped (``None``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from personascope.reference.population import Distribution

DATA_FILE = Path(__file__).parent / "data" / "oews_major_groups.json"
NOT_EMPLOYED = "not employed"

# multi-word titles whose head word alone would point to another group
PHRASES: dict[str, str] = {
    "software engineer": "15",
    "software developer": "15",
    "software architect": "15",
    "data engineer": "15",
    "machine learning engineer": "15",
    "data analyst": "15",
    "data scientist": "15",
    "security analyst": "15",
    "systems administrator": "15",
    "network administrator": "15",
    "database administrator": "15",
    "web designer": "15",
    "ux designer": "15",
    "game developer": "15",
    "it specialist": "15",
    "project manager": "13",
    "product manager": "11",
    "event planner": "13",
    "financial advisor": "13",
    "financial analyst": "13",
    "business analyst": "13",
    "human resources": "13",
    "loan officer": "13",
    "compliance officer": "13",
    "urban planner": "19",
    "research assistant": "19",
    "lab technician": "19",
    "laboratory technician": "19",
    "social worker": "21",
    "youth worker": "21",
    "case manager": "21",
    "community organizer": "21",
    "probation officer": "21",
    "school counselor": "21",
    "legal assistant": "23",
    "court reporter": "23",
    "teaching assistant": "25",
    "film director": "27",
    "art director": "27",
    "creative director": "27",
    "graphic designer": "27",
    "fashion designer": "27",
    "interior designer": "27",
    "sound engineer": "27",
    "video editor": "27",
    "content creator": "27",
    "public relations": "27",
    "tattoo artist": "27",
    "physical therapist": "29",
    "occupational therapist": "29",
    "speech therapist": "29",
    "respiratory therapist": "29",
    "nurse practitioner": "29",
    "physician assistant": "29",
    "pharmacy technician": "29",
    "veterinary technician": "29",
    "dental hygienist": "29",
    "nursing assistant": "31",
    "home health aide": "31",
    "medical assistant": "31",
    "dental assistant": "31",
    "veterinary assistant": "31",
    "massage therapist": "31",
    "police officer": "33",
    "security guard": "33",
    "correctional officer": "33",
    "private investigator": "33",
    "line cook": "35",
    "fast food": "35",
    "personal trainer": "39",
    "fitness instructor": "39",
    "yoga instructor": "39",
    "tour guide": "39",
    "makeup artist": "39",
    "nail technician": "39",
    "dog walker": "39",
    "camp counselor": "39",
    "funeral director": "39",
    "real estate agent": "41",
    "insurance agent": "41",
    "sales representative": "41",
    "sales associate": "41",
    "travel agent": "41",
    "shop assistant": "41",
    "administrative assistant": "43",
    "executive assistant": "43",
    "personal assistant": "43",
    "office assistant": "43",
    "office manager": "43",
    "customer service": "43",
    "data entry": "43",
    "bank teller": "43",
    "mail carrier": "43",
    "farm worker": "45",
    "agricultural worker": "45",
    "construction worker": "47",
    "house painter": "47",
    "heavy equipment operator": "47",
    "factory worker": "51",
    "assembly line": "51",
    "production worker": "51",
    "machine operator": "51",
    "flight attendant": "53",
    "truck driver": "53",
    "warehouse worker": "53",
    "air traffic controller": "53",
}

# head words, by SOC major group (read right to left, see the module docstring)
_GROUP_WORDS: dict[str, str] = {
    "11": (
        "manager executive ceo cfo cto founder entrepreneur director administrator "
        "supervisor farmer rancher"
    ),
    "13": (
        "accountant auditor consultant analyst recruiter underwriter planner logistician "
        "buyer fundraiser marketer marketing banker"
    ),
    "15": ("programmer developer coder statistician mathematician actuary software cybersecurity"),
    "17": "engineer architect surveyor drafter cartographer",
    "19": (
        "scientist biologist chemist physicist geologist astronomer economist "
        "psychologist sociologist anthropologist archaeologist historian researcher "
        "ecologist meteorologist zoologist botanist epidemiologist neuroscientist "
        "geographer conservationist forester"
    ),
    "21": (
        "counselor counsellor therapist pastor priest minister chaplain rabbi imam clergy "
        "missionary nun"
    ),
    "23": "lawyer attorney judge paralegal",
    "25": "teacher professor lecturer tutor librarian instructor educator archivist curator",
    "27": (
        "artist painter musician singer songwriter writer author novelist poet journalist "
        "reporter editor photographer designer actor actress dancer filmmaker producer "
        "composer illustrator animator athlete coach blogger influencer podcaster "
        "translator interpreter copywriter announcer comedian sculptor potter "
        "choreographer"
    ),
    "29": (
        "doctor physician surgeon nurse pharmacist dentist veterinarian vet paramedic emt "
        "radiologist pediatrician psychiatrist optometrist chiropractor dietitian "
        "nutritionist midwife audiologist cardiologist oncologist anesthesiologist "
        "neurologist dermatologist"
    ),
    "31": "caregiver phlebotomist orderly",
    "33": (
        "police policeman policewoman detective firefighter guard sheriff lifeguard "
        "investigator bodyguard"
    ),
    "35": "chef cook waiter waitress server bartender barista dishwasher hostess caterer",
    "37": ("janitor custodian cleaner housekeeper maid landscaper gardener groundskeeper arborist"),
    "39": (
        "hairdresser barber hairstylist stylist cosmetologist nanny babysitter concierge "
        "esthetician groomer"
    ),
    "41": (
        "salesperson salesman saleswoman cashier realtor retail sales shopkeeper merchant "
        "stockbroker"
    ),
    "43": "secretary receptionist clerk bookkeeper teller postman dispatcher courier",
    "45": "fisherman fisher logger farmhand",
    "47": (
        "carpenter electrician plumber builder mason bricklayer roofer miner contractor "
        "glazier ironworker construction"
    ),
    "49": "mechanic repairman handyman locksmith technician",
    "51": (
        "machinist welder baker butcher seamstress tailor jeweler woodworker brewer upholsterer"
    ),
    "53": "driver pilot sailor chauffeur mover trucker deckhand conductor",
    NOT_EMPLOYED: "student retired retiree unemployed homemaker housewife househusband",
}
WORDS: dict[str, str] = {
    word: group for group, words in _GROUP_WORDS.items() for word in words.split()
}

_NON_LETTER = re.compile(r"[^a-z]+")


def _words(text: str) -> list[str]:
    return _NON_LETTER.sub(" ", text.lower()).split()


def _word_group(word: str) -> str | None:
    if word in WORDS:
        return WORDS[word]
    if word.endswith("s") and word[:-1] in WORDS:
        return WORDS[word[:-1]]
    return None


def major_group(text: str) -> str | None:
    """The SOC major group code ("11" .. "53") of an occupation as written,
    :data:`NOT_EMPLOYED`, or None when it cannot be read (rules in the module docstring)."""
    words = _words(text)
    padded = " " + " ".join(words) + " "
    best: tuple[int, int, str] | None = None
    for phrase, group in PHRASES.items():
        start = padded.find(" " + phrase + " ")
        while start >= 0:
            end = start + len(phrase) + 1
            if best is None or (end, len(phrase)) > best[:2]:
                best = (end, len(phrase), group)
            start = padded.find(" " + phrase + " ", start + 1)
    if best is not None:
        return best[2]
    for word in reversed(words):
        group = _word_group(word)
        if group is not None:
            return group
    return None


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def group_titles() -> dict[str, str]:
    """Major group code ("11") -> SOC title."""
    return {g["code"][:2]: g["title"] for g in _table()["groups"]}


@lru_cache(maxsize=1)
def employment() -> Distribution:
    """US wage and salary employment shares over the 22 SOC major groups (OEWS May 2025)."""
    table = _table()
    values = tuple(g["code"][:2] for g in table["groups"])
    counts = np.array([g["employment"] for g in table["groups"]], dtype=float)
    return Distribution(values, counts / counts.sum(), table["source"])
