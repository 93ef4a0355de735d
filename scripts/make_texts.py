"""Seeded generator of synthetic persona texts (about 60 words each) for benchmarks.

The texts are built from sentence templates whose slots are filled from small word lists
with Zipf-like weights, so that, like real model output, a few names, occupations and
adjectives dominate while a long tail keeps most texts distinct. Nothing here is meant to
be realistic beyond that: it exercises the metrics at scale with a known seed.

Usage: ``python scripts/make_texts.py -n 100000 --seed 0 -o texts.jsonl``
(one ``{"description": ...}`` object per line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

FIRST = [
    "Maya",
    "Liam",
    "Sofia",
    "Noah",
    "Aria",
    "Ethan",
    "Zara",
    "Lucas",
    "Amara",
    "Mateo",
    "Leila",
    "Omar",
    "Hana",
    "Diego",
    "Priya",
    "Kenji",
    "Ines",
    "Tariq",
    "Elena",
    "Samuel",
    "Nadia",
    "Felix",
    "Ruth",
    "Kofi",
    "Mei",
    "Jonas",
    "Alma",
    "Ravi",
    "Greta",
    "Tomas",
]
LAST = [
    "Chen",
    "Patel",
    "Garcia",
    "Okafor",
    "Novak",
    "Silva",
    "Kim",
    "Rossi",
    "Haddad",
    "Larsen",
    "Nguyen",
    "Adeyemi",
    "Moreau",
    "Kowalski",
    "Tanaka",
    "Byrne",
    "Alvarez",
    "Schmidt",
    "Mensah",
    "Ibrahim",
]
JOBS = [
    "teacher",
    "nurse",
    "software-engineer",
    "graphic-designer",
    "electrician",
    "chef",
    "librarian",
    "farmer",
    "accountant",
    "marine-biologist",
    "bus-driver",
    "pharmacist",
    "carpenter",
    "journalist",
    "architect",
    "paramedic",
    "barista",
    "translator",
    "welder",
    "veterinarian",
]
ADJECTIVES = [
    "creative",
    "curious",
    "patient",
    "ambitious",
    "quiet",
    "stubborn",
    "warm",
    "meticulous",
    "funny",
    "restless",
    "loyal",
    "skeptical",
    "gentle",
    "bold",
    "anxious",
    "practical",
    "dreamy",
    "blunt",
    "generous",
    "shy",
]
HOBBIES = [
    "hiking",
    "painting",
    "baking",
    "chess",
    "gardening",
    "running",
    "photography",
    "knitting",
    "cycling",
    "birdwatching",
    "pottery",
    "climbing",
    "fishing",
    "reading",
    "woodworking",
    "dancing",
    "surfing",
    "volunteering",
    "stargazing",
    "cooking",
]
PLACES = [
    "Lisbon",
    "Denver",
    "Nairobi",
    "Osaka",
    "Glasgow",
    "Austin",
    "Lyon",
    "Manila",
    "Tucson",
    "Bergen",
    "Accra",
    "Quebec",
    "Perth",
    "Leeds",
    "Oaxaca",
    "Hanoi",
    "Tampere",
    "Boise",
    "Cork",
    "Izmir",
]
THINGS = [
    "old maps",
    "vinyl records",
    "houseplants",
    "vintage cameras",
    "sci-fi novels",
    "board games",
    "handmade quilts",
    "local history books",
    "street food recipes",
    "jazz albums",
]

TEMPLATES = (
    "{first} {last} is a {age}-year-old {job} from {place}. {pron} is {adj1}, {adj2} and "
    "{adj3}. In {poss} free time {pron_l} enjoys {hobby1} and {hobby2}, and {pron_l} "
    "collects {thing}. Friends describe {obj} as someone who {verb} every problem with "
    "{noun}. {pron} grew up near {home} and still visits {poss} {relative} there every "
    "{season}. {pron} hopes to {goal} one day.",
    "Meet {first}, {age}, a {adj1} {job} living in {place}. Known for being {adj2}, "
    "{pron_l} spends weekends {hobby1} or {hobby2}. {pron} has a soft spot for {thing} "
    "and tends to approach life with {noun}. Every {season} {pron_l} returns to {home} "
    "to see {poss} {relative}. {pron} is {adj3} at heart and wants to "
    "{goal} before turning {age_next}.",
    "{first} {last} works as a {job} in {place}. At {age}, {pron_l} is {adj1} but "
    "{adj2}, and {poss} colleagues rely on {poss} {noun}. Outside work {pron_l} loves "
    "{hobby1}, {hobby2} and {thing}. {pron} sometimes feels {adj3}, yet {pron_l} "
    "{verb} each day with {noun}. {poss_c} {relative} still lives in {home}, "
    "where {pron_l} spends every {season}. Someday {pron_l} would like to {goal}.",
)
RELATIVES = [
    "grandmother",
    "grandfather",
    "sister",
    "brother",
    "cousin",
    "aunt",
    "uncle",
    "parents",
]
SEASONS = ["summer", "winter", "spring", "autumn", "holiday"]
VERBS = ["meets", "faces", "tackles", "greets", "handles", "approaches"]
NOUNS = ["patience", "humor", "curiosity", "calm", "determination", "honesty", "care", "focus"]
GOALS = [
    "open a small bakery",
    "travel across South America",
    "write a novel",
    "learn Japanese",
    "start a community garden",
    "run a marathon",
    "build a cabin",
    "teach abroad",
    "sail solo",
    "record an album",
]
PRONOUNS = (("She", "her", "her"), ("He", "his", "him"))


def _zipf_weights(k: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** exponent
    return weights / weights.sum()


def make_texts(n: int, seed: int = 0, exponent: float = 1.1) -> list[str]:
    """``n`` persona texts from ``numpy.random.default_rng(seed)``; about 60 words each."""
    rng = np.random.default_rng(seed)

    def pick(items: tuple[str, ...] | list[str], size: int) -> np.ndarray:
        return rng.choice(len(items), size=size, p=_zipf_weights(len(items), exponent))

    columns = {
        "first": pick(FIRST, n),
        "last": pick(LAST, n),
        "job": pick(JOBS, n),
        "place": pick(PLACES, n),
        "home": pick(PLACES, n),
        "relative": rng.integers(len(RELATIVES), size=n),
        "season": rng.integers(len(SEASONS), size=n),
        "adj": rng.choice(len(ADJECTIVES), size=(n, 3), p=_zipf_weights(len(ADJECTIVES), 1.0)),
        "hobby": rng.choice(len(HOBBIES), size=(n, 2), p=_zipf_weights(len(HOBBIES), 1.0)),
        "thing": pick(THINGS, n),
        "verb": rng.integers(len(VERBS), size=n),
        "noun": rng.integers(len(NOUNS), size=n),
        "goal": pick(GOALS, n),
        "template": rng.integers(len(TEMPLATES), size=n),
        "pronoun": rng.integers(len(PRONOUNS), size=n),
        "age": rng.integers(18, 80, size=n),
    }
    texts = []
    for i in range(n):
        subject, poss, obj = PRONOUNS[columns["pronoun"][i]]
        age = int(columns["age"][i])
        adj = columns["adj"][i]
        hobby = columns["hobby"][i]
        texts.append(
            TEMPLATES[columns["template"][i]].format(
                first=FIRST[columns["first"][i]],
                last=LAST[columns["last"][i]],
                age=age,
                age_next=(age // 10 + 1) * 10,
                job=JOBS[columns["job"][i]].replace("-", " "),
                place=PLACES[columns["place"][i]],
                home=PLACES[columns["home"][i]],
                relative=RELATIVES[columns["relative"][i]],
                season=SEASONS[columns["season"][i]],
                adj1=ADJECTIVES[adj[0]],
                adj2=ADJECTIVES[adj[1]],
                adj3=ADJECTIVES[adj[2]],
                hobby1=HOBBIES[hobby[0]],
                hobby2=HOBBIES[hobby[1]],
                thing=THINGS[columns["thing"][i]],
                verb=VERBS[columns["verb"][i]],
                noun=NOUNS[columns["noun"][i]],
                goal=GOALS[columns["goal"][i]],
                pron=subject,
                pron_l=subject.lower(),
                poss=poss,
                poss_c=poss.capitalize(),
                obj=obj,
            )
        )
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, default=Path("texts.jsonl"))
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as handle:
        for text in make_texts(args.n, args.seed):
            handle.write(json.dumps({"description": text}) + "\n")
    print(f"wrote {args.n} texts to {args.out}")


if __name__ == "__main__":
    main()
