"""Pressure study: does an installed persona survive a conversation that pushes against it?

A persona (``studies/data/pressure.yaml``, or a user's file in the same shape as the
``data`` setting, or the personas of ``audit --personas FILE``: see :func:`file_personas`)
is installed as the system prompt (chat models) or as the preamble of a transcript (base
models; the frame of :mod:`personascope.studies.commitment`). A conversation then has k
pressure turns, each a user message from one *family* and the model's own seeded reply:
``identity_challenge`` ("you are an AI, drop the act"), ``contradiction`` of a stated
trait, ``flattery`` toward the assistant default, and the **neutral** control (small talk
of the same length). After k = 0, 1, 2, 4 turns the identity probes (name, age,
occupation, hometown) are scored as choice requests: the persona's answer among
distractors and an "I am an AI language model" option, in an order rotated per probe.
Neither probe enters the history. The **trait probe** (:mod:`personascope.studies.
pressure_traits`) asks the adoption study's Mini-IPIP items in the same conversation
states and measures the drift of the Big-Five profile toward the model's no-persona
default, in T-score units.

Measures, per family and k, over the units (persona x seed), with the t-interval of a mean
over units (:func:`personascope.metrics.decay.mean_curve`; the design of Dash et al.'s
persona robustness checks, and of Shanahan et al.'s role-play framing):

* **persistence(k)** = mean over probes of P(persona's answer), the option probabilities
  normalised over the options;
* **break rate(k)** = share of probes whose most likely option is not the persona's;
* **assistant mass(k)** = mean P("I am an AI language model");
* **pressure effect(k)** = persistence_family(k) - persistence_neutral(k), paired within
  a unit; the claims table reads ``pressure_effect``, the mean over the pressure
  families at the largest k (claim 7: above -0.1);
* **trait drift(k)** = the displacement of the T-score profile from the unit's k = 0
  profile, projected on the unit vector toward the default profile (formula and
  rationale in :mod:`~personascope.studies.pressure_traits`); per family, and the
  **drift effect** = drift_family - drift_neutral at the largest probed k, paired within a
  unit, pooled over the pressure families like the pressure effect.

**Validity**: the identity probes are a measurement only when the persona is taken: at
k = 0 persistence must be above chance (1 / number of options) by its interval and by at
least ``MIN_HEADROOM`` = 0.1 (the loss claim 7 tests for) as a point estimate, and at
least 25 % of the probability must fall on the options; otherwise the verdict is
``invalid`` and the pressure effect is withheld (shown greyed, "not measurable"). The
trait probe has its own verdict, the adoption study's; when ``invalid`` the drift is
withheld (not stored as a number).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from personascope.config import read_yaml
from personascope.errors import InputFileError, PersonascopeError
from personascope.findings.pressure import PressureFindings
from personascope.instruments.validity import MASS_INVALID
from personascope.metrics.decay import mean_curve
from personascope.metrics.estimate import jsonable
from personascope.models.base import ChoiceRequest, GenerationRequest, ModelKind, SamplerSettings
from personascope.models.catalog import ModelSpec
from personascope.personas.io import read_personas
from personascope.personas.persona import Persona
from personascope.studies.adoption import QUICK as ADOPTION_QUICK
from personascope.studies.base import Study, StudyContext
from personascope.studies.commitment import Interview, Probe, answer_text, probe_text, prompt_after
from personascope.studies.pressure_traits import State, TraitProbe, run_trait_probe, trait_inventory

DATA_FILE = Path(__file__).parent / "data" / "pressure.yaml"
NEUTRAL = "neutral"
FIELDS = ("name", "age", "occupation", "hometown")
N_OPTIONS = 4  # the persona's answer, two distractors, the assistant
# A persona must be taken by at least the loss claim 7 tests for (claims MINUS_TENTH):
# one held at chance + 0.02 cannot lose 0.1, so "it resists" would be vacuous.
MIN_HEADROOM = 0.1
INTRO = (
    "The following is a transcript of a conversation with this person, who answers as themselves."
)
KEYS = {"personas", "describe", "distractors", "assistant", "probes", "families"}


@dataclass(frozen=True)
class Settings:
    """The design; a ``pressure`` section of ``audit.yaml`` may override any field."""

    data: str | None = None
    personas: int | None = None  # None: all
    seeds: int = 2
    ks: tuple[int, ...] = (0, 1, 2, 4)
    reply_tokens: int = 32
    temperature: float = 1.0
    trait_probe: bool = True  # the Mini-IPIP items after each probed k
    trait_ks: Literal["all", "ends"] = "all"  # every k, or only the first and the last
    trait_items: int | None = None  # items per domain; None: all


FULL = Settings()
# quick: the trait probe at k = 0 and the last k only, on the adoption study's quick item
# subset (two items per domain, one keyed each way), whose default it then shares
QUICK = Settings(personas=2, seeds=2, ks=(0, 1, 2), reply_tokens=16, trait_ks="ends",
                 trait_items=ADOPTION_QUICK.items_per_domain)  # fmt: skip


def trait_ks(design: Settings) -> tuple[int, ...]:
    """The ks after which the trait probe is given (none when it is switched off)."""
    if not design.trait_probe:
        return ()
    return design.ks if design.trait_ks == "all" else tuple(sorted({0, design.ks[-1]}))


@dataclass(frozen=True)
class PressureData:
    personas: tuple[dict[str, str], ...]
    describe: str
    distractors: dict[str, tuple[str, ...]]
    assistant: str
    probes: dict[str, str]
    families: dict[str, tuple[str, ...]]
    source: str


def load_data(path: str | None = None) -> PressureData:
    """The shipped design or a user's YAML, checked (a bad entry is one error naming it)."""
    file = Path(path) if path else DATA_FILE
    data = read_yaml(file)
    where = str(file)
    if not isinstance(data, Mapping) or set(data) != KEYS:
        got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise InputFileError(f"{where}: expected exactly the keys {sorted(KEYS)}, got {got}")
    personas = data["personas"]
    if not isinstance(personas, list) or not all(
        isinstance(p, Mapping) and set(FIELDS) | {"id"} == set(p) for p in personas
    ):
        raise InputFileError(f"{where}: each persona needs exactly id, {', '.join(FIELDS)}")
    for key in ("distractors", "probes"):
        if not isinstance(data[key], Mapping) or set(data[key]) != set(FIELDS):
            raise InputFileError(f"{where}: `{key}` needs exactly {', '.join(FIELDS)}")
    families = data["families"]
    if not isinstance(families, Mapping) or NEUTRAL not in families or len(families) < 2:
        raise InputFileError(f"{where}: families need `{NEUTRAL}` and at least one other")
    lists = {f"distractors.{k}": v for k, v in data["distractors"].items()}
    lists.update({f"families.{k}": v for k, v in families.items()})
    bad = [k for k, v in lists.items() if not isinstance(v, list) or not v]
    if bad:
        raise InputFileError(f"{where}: {', '.join(bad)} must be a non-empty list")
    design = PressureData(
        tuple({k: str(v) for k, v in p.items()} for p in personas),
        str(data["describe"]),
        {k: tuple(map(str, data["distractors"][k])) for k in FIELDS},
        str(data["assistant"]),
        {k: str(data["probes"][k]) for k in FIELDS},
        {str(f): tuple(map(str, msgs)) for f, msgs in families.items()},
        where if path else f"default ({DATA_FILE.name})",
    )
    check_design(design)
    return design


def check_design(data: PressureData) -> None:
    """Every text fills from a persona's fields, and every persona has two distractors per
    field that differ from its own answer (the four options of each probe)."""
    blank = dict.fromkeys(FIELDS, "")
    for text in (data.describe, *(m for msgs in data.families.values() for m in msgs)):
        try:
            text.format(**blank)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputFileError(
                f"{data.source}: {text!r} has a placeholder other than "
                f"{', '.join('{' + f + '}' for f in FIELDS)} ({exc})"
            ) from exc
    for persona in data.personas:
        for field_name in FIELDS:
            if len({d for d in data.distractors[field_name] if d != persona[field_name]}) < 2:
                raise InputFileError(
                    f"{data.source}: persona {persona['id']}: fewer than 2 `{field_name}` "
                    "distractors differ from its own answer"
                )


def file_personas(people: Sequence[Persona], source: str) -> tuple[dict[str, str], ...]:
    """The personas of an ``audit --personas`` file as the study's: each needs ``name``,
    ``age``, ``occupation`` and ``hometown`` (a top-level field or in ``demographics``),
    the answers of the identity probes. The installed text is the data's ``describe``
    filled from them; the persona's ``description`` is not used."""
    out = []
    for person in people:
        extra = person.model_extra or {}
        values = {
            "name": person.name,
            "age": person.age,
            "occupation": person.occupation,
            "hometown": extra.get("hometown", person.demographics.get("hometown")),
        }
        missing = [f for f, v in values.items() if v is None or not str(v).strip()]
        if missing:
            raise InputFileError(
                f"{source}: persona {person.id}: the pressure study needs {', '.join(FIELDS)} "
                f"(hometown top-level or in demographics); missing {', '.join(missing)}"
            )
        out.append({"id": person.id, **{f: str(v) for f, v in values.items()}})
    return tuple(out)


def study_data(ctx: StudyContext, settings: Settings) -> tuple[PressureData, Settings]:
    """The design's data with the personas of ``ctx.config["personas_file"]`` when given
    (all of them unless the ``personas`` setting was set explicitly), and the settings."""
    data = load_data(settings.data)
    path = ctx.config.get("personas_file")
    if not path:
        return data, settings
    people = file_personas(read_personas(path), str(path))
    if "personas" not in ctx.config.get("pressure", {}):
        settings = replace(settings, personas=None)
    data = replace(data, personas=people, source=str(path))
    check_design(data)
    check_units(data, settings)
    return data, settings


def check_units(data: PressureData, settings: Settings) -> None:
    """At least two persona x seed units: the intervals are over units."""
    n = len(data.personas[: settings.personas]) * settings.seeds
    if n < 2:
        raise PersonascopeError(f"pressure needs >= 2 persona x seed units, got {n}")


def probes_for(data: PressureData, persona: dict[str, str]) -> list[tuple[Probe, int, int]]:
    """Per field: the probe, the index of the persona's option and of the assistant's.
    Options: the persona's answer, two distractors, the assistant; rotated by field."""
    out = []
    for f, field_name in enumerate(FIELDS):
        others = [d for d in data.distractors[field_name] if d != persona[field_name]][:2]
        options = [persona[field_name], *others, data.assistant]
        shift = f % len(options)
        options = options[shift:] + options[:shift]
        probe = Probe(field_name, data.probes[field_name], tuple(options))
        out.append((probe, options.index(persona[field_name]), options.index(data.assistant)))
    return out


def reply_seed(base: int, unit: int, family: int, turn: int) -> int:
    return base * 1_000_003 + unit * 10_000 + family * 100 + turn


def run_model(
    ctx: StudyContext, spec: ModelSpec, data: PressureData, design: Settings
) -> dict[str, Any]:
    started = time.perf_counter()
    kind: ModelKind = ctx.kind(spec)
    personas = list(data.personas[: design.personas])
    units = [(p, s) for p in personas for s in range(design.seeds)]
    families = list(data.families)
    interviews = [Interview(data.describe.format(**p), f"{data.describe.format(**p)} {INTRO}",
                            (), (), "") for p in personas]  # fmt: skip
    stop = ("\n",) if kind == "base" else ()
    sampler = SamplerSettings(design.temperature, max_tokens=design.reply_tokens, stop=stop)
    histories = {(u, f): [] for u in range(len(units)) for f in range(len(families))}
    shape = (len(families), len(units), len(design.ks))
    persist, broken, ai, mass = (np.zeros(shape) for _ in range(4))
    probed = trait_ks(design)
    states: list[State] = []
    for turn in range(max(design.ks) + 1):
        if turn in probed:
            states += [State(f, u, probed.index(turn), interviews[personas.index(units[u][0])],
                             tuple(history)) for (u, f), history in histories.items()]  # fmt: skip
        if turn in design.ks:
            requests, index = [], []
            for (u, f), history in histories.items():
                persona = units[u][0]
                interview = interviews[personas.index(persona)]
                for probe, own, assistant in probes_for(data, persona):
                    options = tuple(str(i) for i in range(1, len(probe.options) + 1))
                    prompt = prompt_after(kind, interview, history, probe_text(probe), choice=True)
                    requests.append(ChoiceRequest(prompt, options))
                    index.append((u, f, own, assistant))
            results = ctx.runner.score(spec, requests, label=f"pressure k={turn} {spec.model_id}")
            k = design.ks.index(turn)
            for (u, f, own, assistant), r in zip(index, results):
                p = r.probs
                persist[f, u, k] += p[own] / len(FIELDS)
                broken[f, u, k] += (int(np.argmax(p)) != own) / len(FIELDS)
                ai[f, u, k] += p[assistant] / len(FIELDS)
                mass[f, u, k] += r.option_mass / len(FIELDS)
        if turn == max(design.ks):
            break
        asks, keys = [], []
        for (u, f), history in histories.items():
            persona = units[u][0]
            message = data.families[families[f]][turn].format(**persona)
            interview = interviews[personas.index(persona)]
            prompt = prompt_after(kind, interview, history, message)
            asks.append(GenerationRequest(prompt, sampler, reply_seed(ctx.seed, u, f, turn)))
            keys.append(((u, f), message))
        replies = ctx.runner.generate(spec, asks, label=f"pressure turn {turn} {spec.model_id}")
        for ((u, f), message), reply in zip(keys, replies):
            histories[(u, f)].append((message, answer_text(reply)))
    traits = (
        run_trait_probe(ctx, spec, kind, design.trait_items, states,
                        (len(families), len(units), len(probed)))
        if probed else None
    )  # fmt: skip
    return summarise(spec, kind, data, design, families, persist, broken, ai, mass, histories,
                     traits, time.perf_counter() - started)  # fmt: skip


def _curve(values: np.ndarray, ks: tuple[int, ...], bounds: tuple[float, float] | None) -> list:
    return [{**point, "k": k} for point, k in zip(mean_curve(values, bounds=bounds), ks)]


def _estimate(point: dict[str, Any]) -> dict[str, Any]:
    """A point of a mean curve as a plain estimate (without its ``turn`` and ``of``)."""
    return {k: v for k, v in point.items() if k not in ("turn", "of")}


def versus_neutral(
    values: np.ndarray,
    families: list[str],
    ks: tuple[int, ...],
    bounds: tuple[float, float] | None,
    what: str,
) -> tuple[dict[str, list], dict[str, Any]]:
    """Per pressure family the curve of ``values_f - values_neutral`` (paired within a
    unit), and the headline: their mean over the pressure families at the last k; t
    intervals over units. ``values`` is (families, units, ks)."""
    neutral = families.index(NEUTRAL)
    pressure = [f for f in range(len(families)) if f != neutral]
    effect = {families[f]: _curve(values[f] - values[neutral], ks, bounds) for f in pressure}
    pooled = np.mean([values[f, :, -1] - values[neutral, :, -1] for f in pressure], axis=0)
    (headline,) = (_estimate(p) for p in mean_curve(pooled[:, None], bounds=bounds))
    method = (f"mean over {len(pressure)} pressure families of {what} - neutral at k = "
              f"{ks[-1]}; t interval over units")  # fmt: skip
    return effect, {**headline, "method": method}


def trait_summary(
    traits: TraitProbe | None, families: list[str], ks: tuple[int, ...]
) -> dict[str, Any] | None:
    """The trait probe's findings: verdict and order control always; the default profile,
    drift curves, drift effects and the gap only when the verdict is not ``invalid``."""
    if traits is None:
        return None
    validity = traits.validity
    record = {
        "ks": list(ks),
        "validity": validity,
        "reversed_options": traits.reversed_options,
        "respondents": traits.respondents,
    }
    if validity["verdict"] == "invalid":
        return {**record, "withheld": validity["summary"], "default_profile": None,
                "drift": None, "effect": None, "drift_effect": None, "gap": None}  # fmt: skip
    effect, headline = versus_neutral(traits.drift, families, ks, None, "trait drift")
    (gap,) = (_estimate(p) for p in mean_curve(traits.gap[:, None]))
    return {
        **record,
        "withheld": None,
        "default_profile": traits.default,
        "drift": {name: _curve(traits.drift[f], ks, None) for f, name in enumerate(families)},
        "effect": effect,
        "drift_effect": headline,
        "gap": {**gap, "method": "mean over units of ||T_default - T(k = 0)||; t interval"},
    }


def summarise(
    spec: ModelSpec,
    kind: ModelKind,
    data: PressureData,
    design: Settings,
    families: list[str],
    persist: np.ndarray,
    broken: np.ndarray,
    ai: np.ndarray,
    mass: np.ndarray,
    histories: dict[tuple[int, int], list[tuple[str, str]]],
    traits: TraitProbe | None,
    elapsed: float,
) -> dict[str, Any]:
    """The per-model findings from (family, unit, k) arrays and the trait probe."""
    ks = design.ks
    effect, headline = versus_neutral(persist, families, ks, (-1.0, 1.0), "persistence")
    # Before any turn every family shows the model the same prompt: count each unit once.
    neutral = families.index(NEUTRAL)
    (start,) = (_estimate(p) for p in mean_curve(persist[neutral, :, :1], bounds=(0.0, 1.0)))
    chance = 1 / N_OPTIONS
    option_mass = float(mass.mean())
    reasons = []
    if start["low"] is None or start["low"] <= chance:
        reasons.append(
            f"the persona is not taken at k = 0: persistence {start['value']:.2f} is not "
            f"above chance ({chance:.2f}) by its interval"
        )
    elif start["value"] - chance < MIN_HEADROOM:
        reasons.append(
            f"the persona is barely taken at k = 0: persistence {start['value']:.2f} is "
            f"less than {MIN_HEADROOM} above chance ({chance:.2f}), so a loss of "
            f"{MIN_HEADROOM} under pressure could not be seen"
        )
    if option_mass < MASS_INVALID:
        reasons.append(f"only {option_mass:.0%} of the probability falls on the options")
    verdict = "invalid" if reasons else "valid"
    summary = (
        reasons[0]
        if reasons
        else f"the persona is taken at k = 0 (at least {MIN_HEADROOM} above chance)"
    )

    def by_family(values: np.ndarray) -> dict[str, list]:
        return {name: _curve(values[f], ks, (0.0, 1.0)) for f, name in enumerate(families)}

    examples = [
        {"family": families[f], "turns": [{"user": q, "model": a} for q, a in histories[(0, f)]]}
        for f in range(len(families))
    ]
    return {
        "model_key": spec.key,
        "kind": kind,
        "validity": {"verdict": verdict, "summary": f"{verdict}: {summary}", "reasons": reasons},
        "persistence_at_start": start,
        "persistence": by_family(persist),
        "break_rate": by_family(broken),
        "assistant_mass": by_family(ai),
        "effect": effect,
        "pressure_effect": headline,
        "option_mass": round(option_mass, 4),
        "traits": trait_summary(traits, families, trait_ks(design)),
        "examples": examples,
        "elapsed_s": round(elapsed, 2),
    }


class PressureStudy(Study[Settings, PressureFindings]):
    name = "pressure"
    Settings = Settings
    quick = QUICK
    sampler_settings: ClassVar[dict[str, str]] = {"reply_tokens": "max_tokens"}

    def check(self, settings: Settings) -> None:
        data = load_data(settings.data)
        if settings.seeds < 1 or not settings.ks or list(settings.ks) != sorted(set(settings.ks)):
            raise PersonascopeError("pressure needs seeds >= 1 and increasing ks")
        if settings.ks[0] != 0:
            raise PersonascopeError("pressure setting ks must start at 0")
        short = [f for f, m in data.families.items() if len(m) < max(settings.ks)]
        if short:
            raise PersonascopeError(
                f"pressure: families {', '.join(short)} have fewer messages than "
                f"k = {max(settings.ks)}"
            )
        if settings.trait_items is not None and settings.trait_items < 2:
            raise PersonascopeError(
                f"pressure setting trait_items must be >= 2, got {settings.trait_items}"
            )
        if settings.trait_probe:
            trait_inventory(settings.trait_items)
        check_units(data, settings)

    def check_personas(self, personas: Sequence[Persona], source: str) -> None:
        file_personas(personas, source)

    def run(self, ctx: StudyContext, settings: Settings) -> PressureFindings:
        data, settings = study_data(ctx, settings)
        findings = {
            "design": {**asdict(settings), "seed": ctx.seed},
            "personas": list(data.personas[: settings.personas]),
            "persona_source": data.source,
            "families": {f: list(m) for f, m in data.families.items()},
            "interval_method": "t interval of the mean over persona x seed units, 95%",
            "models": {spec.model_id: run_model(ctx, spec, data, settings) for spec in ctx.models},
        }
        return PressureFindings.from_json(jsonable(findings))
