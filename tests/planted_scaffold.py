"""A planted scaffold run: a fake writer whose duplicates and faithfulness are known by
construction, through the real study, runner and store (tests/test_scaffold.py checks the
numbers; tests/test_hardening.py plants markup in its findings)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from personascope.models.base import (
    ChatPrompt,
    ChoiceRequest,
    ChoiceResult,
    GenerationRequest,
    GenerationResult,
)
from personascope.studies import get_study
from personascope.studies.base import StudyContext, run_study
from personascope.testing.fake import fake_runner, register_fake

MODEL_NAME = "planted-writer"
LAYERED = {  # two code-sampled layers; the model writes the rest
    "layers": [
        {"name": "gender", "type": "categorical", "values": ["female", "male"]},
        {"name": "occupation", "type": "categorical", "values": ["baker", "pilot", "nurse"]},
    ],
    "sampler": {"max_tokens": 24},
}
PLANTED_BUDGET = 100  # ten units of TOKENS_PER_UNIT generated tokens each
TOKENS_PER_UNIT = 10
UNIQUE = 6  # units 0-5 are distinct; 6-9 repeat them (below); unit 10 is past the budget
# unit -> (unit it repeats, how): 6, 7 and 9 exact (7 differs in case and spacing only),
# 8 near (no space before the full stop: other characters, the same word 3-grams)
REPEATS = {6: (0, "same"), 7: (1, "case"), 8: (2, "tight"), 9: (3, "same")}
NAIVE_AGES = (25, 35, 50, 70, 22, 40)
# the age range each naive description states: right for units 0-2, wrong for 3-5
NAIVE_STATED_BANDS = ("18-29", "30-44", "45-64", "18-29", "45-64", "65 or older")
PLANTED_SETTINGS = {
    "strategies": ["naive", "layered", "diasynth"],
    "token_budget": PLANTED_BUDGET,
    "max_targets": 2,
    "diversity_metric": "distinct_2",
    "configs": {
        "naive": {"sampler": {"max_tokens": 24}},
        "layered": LAYERED,
        "diasynth": {
            "layers": [
                {"name": "gender", "type": "categorical", "values": ["female", "male"]},
                {"name": "hobby", "type": "categorical", "values": ["chess", "golf"]},
            ],
            "sampler": {"max_tokens": 24},
        },
    },
}
_FACT = re.compile(r"^(\w[\w ]*): (.+)$", re.MULTILINE)
_OPTION = re.compile(r"^(\d)\. (.+)$", re.MULTILINE)


class PlantedWriter:
    """Writes 12-word descriptions whose duplicates and faithfulness are planted, and
    judges them honestly: the judge picks the one option its text names.

    naive: states gender and age, and the right age range in units 0-2 only;
    layered: names the assigned gender and occupation (fidelity 1);
    diasynth: the assigned gender but always the other hobby (fidelity (1 + -1) / 2 = 0).
    """

    def __init__(self) -> None:
        self.written: dict[tuple[str, int], str] = {}

    def description(self, strategy: str, unit: int, facts: dict[str, str]) -> str:
        if strategy == "naive":
            gender = ("female", "male")[unit % 2]
            band = NAIVE_STATED_BANDS[unit % UNIQUE]
            return (
                f"n{unit}a {gender} n{unit}b {band} n{unit}c n{unit}d n{unit}e n{unit}f n{unit}g ."
            )
        if strategy == "layered":  # a unit's own word in every word 3-gram
            gender, job = facts["Gender"], facts["Occupation"]
            return f"l{unit}a is {gender} l{unit}b {job} who l{unit}c likes tea l{unit}d quiet ."
        # diasynth: fewer own words (still in 6 of the 10 word 3-grams), so less diverse
        other = {"chess": "golf", "golf": "chess"}[facts["Hobby"]]
        return f"d{unit}a is {facts['Gender']} who plays d{unit}b {other} on every sunny d{unit}c ."

    def write(self, request: GenerationRequest) -> str:
        assert isinstance(request.prompt, ChatPrompt)
        content = request.prompt.messages[-1].content
        unit = request.seed  # the study's seed is 0: unit i is sampled with seed i
        facts = dict(_FACT.findall(content.split("\n\n")[0]))
        strategy = (
            "naive"
            if content.startswith("Describe a person.")
            else ("diasynth" if "Hobby" in facts else "layered")
        )
        if unit in REPEATS:
            original, how = REPEATS[unit]
            text = self.written[(strategy, original)]
            text = {"same": text, "case": "  " + text.upper(), "tight": text.replace(" .", ".")}[
                how
            ]
        else:
            text = self.description(strategy, unit, facts)
        self.written[(strategy, unit)] = text
        if strategy == "naive":  # continues after the assistant prefix "Name:"
            gender = ("female", "male")[unit % 2]
            return (
                f" Ann Lee{unit}\nAge: {NAIVE_AGES[unit % UNIQUE]}\nGender: {gender}\n"
                f"Occupation: clerk\nPersonality: calm, kind, shy\nDescription: {text}"
            )
        return f"Name: Bea Cole{unit}\nDescription: {text}"

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return GenerationResult(self.write(request), tuple(range(TOKENS_PER_UNIT)), (), "stop", 0)

    def score(self, request: ChoiceRequest) -> ChoiceResult:
        assert isinstance(request.prompt, ChatPrompt)
        content = request.prompt.messages[-1].content
        text = content.split("\n\n")[1]
        options = _OPTION.findall(content)
        named = [
            int(digit) - 1
            for digit, option in options
            if re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text, re.IGNORECASE)
        ]
        assert len(named) == 1, (text, options)  # the planted texts name exactly one
        probs = [0.9 if i == named[0] else 0.1 / (len(options) - 1) for i in range(len(options))]
        return ChoiceResult(tuple(math.log(p) for p in probs), 1.0)


def run_planted_scaffold(folder: Path) -> dict[str, Any]:
    """The scaffold findings (JSON) of the planted writer, run in ``folder``."""
    writer = PlantedWriter()
    model_id = register_fake(MODEL_NAME, generate=writer.generate, score=writer.score, replace=True)
    runner, store, spec = fake_runner(folder, model_id)
    ctx = StudyContext(
        runner, store, [spec], folder, "test", quick=True, config={"scaffold": PLANTED_SETTINGS}
    )
    with store:
        return run_study(ctx, get_study("scaffold")).to_json()
