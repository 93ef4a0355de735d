"""Stability study: is the variety across personas character, or the noise of re-running one?

Design: P personas x R paraphrases of the persona prompt (the same instruction in other
words, templates in ``data/stability.yaml``) x S sampling seeds, with two measurements:

* **self-descriptions** (free text): under each persona prompt the model describes
  itself in two or three sentences, once per seed; texts are embedded with
  all-MiniLM-L6-v2. Every generation has its own seed (no two cells of the design
  share a random stream), so the seed facet is a replicate nested in persona x
  paraphrase. Variance (total squared Euclidean spread of the unit embeddings) is
  decomposed into persona, paraphrase, persona:paraphrase and seed
  (:func:`personascope.metrics.variance.crossed_anova` with vector data).
* **inventory answers** (default: the first two Mini-IPIP items of each domain, one
  positively and one negatively keyed; accuracy wording): each item under each persona
  prompt. With log-probabilities (choice mode) the answer to an item is its
  expected score ``mu = sum_k k p_k`` and the variance of a sampled answer around it is
  known exactly, ``sum_k p_k (k - mu)^2``: no Monte Carlo is needed, and because the
  option distribution is a deterministic function of the prompt the seed facet is
  degenerate (every seed gives the same distribution), so it is not a factor. Per
  domain the keyed expected scores are decomposed over persona x paraphrase x item,
  and the mean exact within-request variance is reported as the ``sampling``
  component. Without log-probabilities (``answer_mode: generate``) ``answer_samples``
  answers are sampled per item: the distribution and its variance are *estimated*
  (variance with the n/(n-1) correction; the noise of the estimated mean stays in the
  residual), and the findings say so.

Per measurement: variance components and shares with generalized pivotal intervals,
ICC(1) and ICC(1,k) over personas (k = runs per persona) with F intervals, and the
persona signal-to-noise ratio between / within, where *between* is the persona
component and *within* everything that changes when one persona is run again
(paraphrase, persona:paraphrase, seed). For a domain score (the mean of a domain's I
items under one prompt) between = persona + persona:item / I and within = paraphrase +
persona:paraphrase + (paraphrase:item + residual) / I. The headline: "persona explains
X% (CI) of the variance; re-running one persona varies Y times as much as personas
differ from each other" (X = between / (between + within), Y = within / between).

The validity verdicts of :func:`personascope.instruments.validity.diagnose` travel with
the inventory numbers: when the model's answers are invalid (an answer habit, not a
trait) the findings carry the verdict and the report withholds the persona share as a
personality finding; the self-description decomposition does not depend on them.

Settings: ``ctx.config["stability"]`` may override any :class:`Settings` field;
``ctx.config["personas_file"]`` (``audit --personas FILE``) replaces the default
personas with the descriptions of a JSONL or Parquet persona file.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from personascope.errors import PersonascopeError
from personascope.findings import from_json
from personascope.findings.stability import (
    AnovaTerm,
    Component,
    Domain,
    FreeText,
    InventoryAnswers,
    ModelStability,
    PersonaEntry,
    Personas,
    Projection,
    Requests,
    Sampler,
    Seeds,
    Sizes,
    StabilityFindings,
    Templates,
    TemplateText,
    Validity,
)
from personascope.instruments.administration import Administration, Condition, administer
from personascope.instruments.inventory import Inventory, item_subset, load_inventory
from personascope.instruments.validity import diagnose
from personascope.metrics.embedding import Embedder
from personascope.metrics.estimate import Estimate, jsonable
from personascope.metrics.variance import (
    Anova,
    VarianceComponents,
    crossed_anova,
    estimate_components,
    icc_oneway,
)
from personascope.models.base import (
    ChatPrompt,
    GenerationRequest,
    Message,
    ModelKind,
    Prompt,
    SamplerSettings,
    TextPrompt,
)
from personascope.models.catalog import ModelSpec
from personascope.personas.io import read_personas
from personascope.personas.prompts import Template
from personascope.studies.base import Study, StudyContext

DATA_FILE = Path(__file__).parent / "data" / "stability.yaml"
BASE_FRAME = Template("stability/base", "{persona}\n\nInterviewer: {question}\nMe:")
BASE_STOP = ("\n",)
WITHIN_TEXT = ("paraphrase", "persona:paraphrase", "seed")


@dataclass(frozen=True)
class Settings:
    """Sizes and settings; ``ctx.config["stability"]`` may override any field.

    ``n_personas`` takes the first n of the default personas; a persona file is used
    whole unless ``n_personas`` is set in ``ctx.config["stability"]`` (None: all).
    """

    n_personas: int | None = 6
    paraphrases: int = 3
    seeds: int = 2
    max_tokens: int = 24
    temperature: float = 1.0
    inventory: str = "mini_ipip"
    items_per_domain: int | None = 2  # None: every item; else the first k of each domain
    wording: str = "accuracy"
    answer_mode: Literal["choice", "generate"] = "choice"
    answer_samples: int = 5  # generate mode only
    n_draws: int = 10_000


FULL = Settings()
QUICK = Settings(n_personas=2, paraphrases=2, seeds=2, max_tokens=12, n_draws=4000)


@dataclass(frozen=True)
class PersonaText:
    id: str
    description: str


def load_data() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def personas_for(ctx: StudyContext, design: Settings) -> tuple[list[PersonaText], str]:
    """The default personas, or those of ``ctx.config["personas_file"]``; and the source."""
    path = ctx.config.get("personas_file")
    limit = design.n_personas
    if path:
        found = [PersonaText(p.id, p.description) for p in read_personas(path)]
        source = str(path)
        if "n_personas" not in ctx.config.get("stability", {}):
            limit = None
    else:
        found = [PersonaText(p["id"], p["description"]) for p in load_data()["personas"]]
        source = f"default ({DATA_FILE.name})"
    chosen = found if limit is None else found[:limit]
    if len(chosen) < 2:
        raise PersonascopeError(f"stability needs >= 2 personas, {source} gives {len(chosen)}")
    return chosen, source


def paraphrase_templates(design: Settings) -> list[Template]:
    texts = load_data()["paraphrases"][: design.paraphrases]
    return [Template(f"stability/paraphrase-{r + 1}", t) for r, t in enumerate(texts)]


def persona_prompts(personas: list[PersonaText], templates: list[Template]) -> list[str]:
    """Persona-major: prompt of persona p under paraphrase r at index p * R + r."""
    return [t.text.format(description=p.description) for p in personas for t in templates]


def self_description_prompt(kind: ModelKind, persona_prompt: str, question: str) -> Prompt:
    if kind == "chat":
        return ChatPrompt((Message("system", persona_prompt), Message("user", question)))
    return TextPrompt(BASE_FRAME.text.format(persona=persona_prompt, question=question))


def generation_seed(base: int, cell: int, s: int, seeds: int) -> int:
    """A distinct seed for every generation of the design: cells never share a stream."""
    return base * 1_000_003 + cell * seeds + s


def plan_self_descriptions(
    kind: ModelKind, prompts: list[str], design: Settings, seed: int
) -> list[GenerationRequest]:
    """Cell-major (persona, paraphrase), then seed: request of cell c, seed s at c * S + s."""
    question = load_data()["self_description"]
    sampler = SamplerSettings(
        temperature=design.temperature,
        max_tokens=design.max_tokens,
        stop=BASE_STOP if kind == "base" else (),
    )
    return [
        GenerationRequest(
            self_description_prompt(kind, prompt, question),
            sampler,
            generation_seed(seed, c, s, design.seeds),
        )
        for c, prompt in enumerate(prompts)
        for s in range(design.seeds)
    ]


def answer_condition(design: Settings, seed: int) -> Condition:
    if design.answer_mode == "choice":
        return Condition(design.wording)
    return Condition(
        design.wording, mode="generate", samples=design.answer_samples, seed=seed * 1_000_003
    )


# --- analysis ---------------------------------------------------------------------------


def headline(share: Estimate, noise: Estimate) -> str:
    """The sentence the report uses for one measurement."""

    def pct(x: float) -> str:
        return f"{100 * x:.0f}%"

    share_ci = f" [{pct(share.ci[0])}, {pct(share.ci[1])}]" if share.ci else ""
    if not np.isfinite(noise.value):
        rerun = "personas do not differ at all beyond re-running noise"
    else:
        noise_ci = f" [{noise.ci[0]:.2g}, {noise.ci[1]:.2g}]" if noise.ci else ""
        rerun = (
            f"re-running one persona varies {noise.value:.2g}{noise_ci} times as much as "
            "personas differ from each other"
        )
    return f"persona explains {pct(share.value)}{share_ci} of the variance; {rerun}"


def summarise(
    vc: VarianceComponents, between: dict[str, float], within: dict[str, float]
) -> tuple[Estimate, Estimate, Estimate]:
    """Persona share, SNR and noise ratio (within / between) from the components."""
    both = {k: between.get(k, 0.0) + within.get(k, 0.0) for k in {*between, *within}}
    share = vc.ratio(between, both, bounds=(0.0, 1.0))
    snr = vc.ratio(between, within)
    noise = vc.ratio(within, between)
    return share, snr, noise


def anova_terms(anova: Anova) -> list[AnovaTerm]:
    """The ANOVA table as findings."""
    return [AnovaTerm(t.name, t.ss, t.df, t.ms, t.eff_df) for t in anova.terms]


def components(vc: VarianceComponents, where: str) -> dict[str, Component]:
    """Every component's estimate, raw value and share (as the metrics encode them)."""
    return from_json(dict[str, Component], vc.to_dict(), where)


def free_text_analysis(vectors: np.ndarray, texts: list[str], n_draws: int, seed: int) -> FreeText:
    """Decompose (P, R, S, d) embeddings; ICC over P personas x R*S runs."""
    p, r, s, d = vectors.shape
    anova = crossed_anova(vectors, ["persona", "paraphrase"], "seed", multivariate=True)
    vc = estimate_components(anova, n_draws=n_draws, seed=seed)
    share, snr, noise = summarise(vc, {"persona": 1.0}, dict.fromkeys(WITHIN_TEXT, 1.0))
    icc = icc_oneway(vectors.reshape(p, r * s, d)).estimates()
    centred = vectors.reshape(-1, d) - vectors.reshape(-1, d).mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T
    return FreeText(
        measurement="self-description embeddings (all-MiniLM-L6-v2, unit vectors)",
        variance="total variance = sum over the 384 dimensions (squared Euclidean spread)",
        anova=anova_terms(anova),
        effective_dims={t.name: t.eff_df / t.df for t in anova.terms},
        components=components(vc, "free_text.components"),
        persona_share=share,
        snr=snr,
        noise_ratio=noise,
        icc1=icc["icc1"],
        icc1k=icc["icc1k"],
        runs_per_persona=r * s,
        headline=headline(share, noise),
        projection=Projection(
            method="first two principal axes of the centred embeddings",
            points=np.round(coords.reshape(p, r, s, 2), 4).tolist(),
        ),
        examples=[texts[i * r * s] for i in range(p)],
    )


def within_request_variance(adm: Administration, samples: int | None) -> np.ndarray:
    """Per (prompt, item): sum_k p_k (k - mu)^2; with ``samples`` the n/(n-1) correction."""
    k = np.arange(1, adm.inventory.points + 1, dtype=float)
    mu = adm.probs @ k
    var = adm.probs @ (k**2) - mu**2
    if samples is None:
        return np.maximum(var, 0.0)
    parsed = np.rint(adm.option_mass * samples)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(parsed >= 2, var * parsed / (parsed - 1), np.nan)


def domain_analysis(
    entry: Domain, keyed: np.ndarray, variance: np.ndarray, n_draws: int, seed: int
) -> None:
    """One domain: keyed scores and within-request variances, both (P, R, I) ->
    components, domain-level share and SNR, ICC of the domain scores (P, R), set on
    ``entry``."""
    n_items = keyed.shape[2]
    domain_scores = keyed.mean(axis=2)
    anova = crossed_anova(keyed, ["persona", "paraphrase", "item"])
    vc = estimate_components(
        anova, {"sampling": float(np.mean(variance))}, n_draws=n_draws, seed=seed
    )
    between = {"persona": 1.0, "persona:item": 1.0 / n_items}
    within = {
        "paraphrase": 1.0,
        "persona:paraphrase": 1.0,
        "paraphrase:item": 1.0 / n_items,
        "residual": 1.0 / n_items,
    }
    share, snr, noise = summarise(vc, between, within)
    icc = icc_oneway(domain_scores).estimates()
    entry.n_items = n_items
    entry.anova = anova_terms(anova)
    entry.components = components(vc, "domain.components")
    entry.item_level_persona_share = vc.share("persona")
    entry.persona_share = share
    entry.snr = snr
    entry.noise_ratio = noise
    entry.icc1 = icc["icc1"]
    entry.icc1k = icc["icc1k"]
    entry.headline = headline(share, noise)
    entry.scores = np.round(domain_scores, 4).tolist()


def inventory_analysis(
    adm: Administration, design: Settings, n_personas: int, seed: int
) -> InventoryAnswers:
    """Per domain decomposition with the validity verdicts attached."""
    inv: Inventory = adm.inventory
    samples = design.answer_samples if design.answer_mode == "generate" else None
    r = design.paraphrases
    keyed = adm.scores.keyed.reshape(n_personas, r, -1)
    variance = within_request_variance(adm, samples).reshape(n_personas, r, -1)
    validity = diagnose(adm)
    domains: dict[str, Domain] = {}
    for d in inv.domains:
        idx = np.array(inv.domain_indices(d))
        complete = [
            i
            for i in idx
            if np.all(np.isfinite(keyed[:, :, i])) and np.all(np.isfinite(variance[:, :, i]))
        ]
        verdict = validity.domains[d]
        entry = Domain(verdict.verdict, list(verdict.reasons))
        if len(complete) < 2:
            entry.skipped = (
                f"{len(complete)} of {len(idx)} items have an answer for every prompt; "
                "the decomposition needs >= 2"
            )
        else:
            domain_analysis(
                entry, keyed[:, :, complete], variance[:, :, complete], design.n_draws, seed
            )
            entry.items_dropped = len(idx) - len(complete)
        if verdict.verdict == "invalid":
            entry.interpretation = (
                "withheld: the self-report is invalid for this model, so the persona share "
                "measures answer habits, not personality"
            )
        domains[d] = entry
    if samples is None:
        seed_facet = (
            "degenerate: choice requests read the option distribution, a deterministic "
            "function of the prompt, so every seed gives the same answer; the sampling "
            "component is the exact within-request variance sum_k p_k (k - mu)^2"
        )
    else:
        seed_facet = (
            f"estimated: {samples} sampled answers per item (no log-probabilities); the "
            "sampling component is the sample variance of the answers (n/(n-1)), and the "
            "noise of the estimated mean remains in the residual"
        )
    return InventoryAnswers(
        measurement=f"keyed expected item scores ({inv.id}, 1-{inv.points})",
        provenance=jsonable(adm.provenance()),
        mode=design.answer_mode,
        seed_facet=seed_facet,
        validity=from_json(Validity, jsonable(validity.to_dict()), "inventory.validity"),
        domains=domains,
    )


# --- the study ------------------------------------------------------------------------


def run_model(
    ctx: StudyContext,
    spec: ModelSpec,
    design: Settings,
    personas: list[PersonaText],
    templates: list[Template],
    embedder: Embedder,
) -> ModelStability:
    started = time.perf_counter()
    kind = ctx.kind(spec)
    prompts = persona_prompts(personas, templates)
    requests = plan_self_descriptions(kind, prompts, design, ctx.seed)
    results = ctx.runner.generate(spec, requests, label=f"self-descriptions {spec.model_id}")
    texts = [result.text.strip() for result in results]
    p, r, s = len(personas), design.paraphrases, design.seeds
    vectors = embedder.embed(texts).astype(float).reshape(p, r, s, -1)
    free_text = free_text_analysis(vectors, texts, design.n_draws, ctx.seed)
    inv = item_subset(load_inventory(design.inventory), design.items_per_domain)
    condition = answer_condition(design, ctx.seed)
    adm = administer(ctx.runner, spec, prompts, inv, condition, kind)
    inventory = inventory_analysis(adm, design, p, ctx.seed)
    sampler = requests[0].sampler
    return ModelStability(
        model_key=spec.key,
        kind=kind,
        sizes=Sizes(personas=p, paraphrases=r, seeds=s, items=len(inv.items)),
        requests=Requests(
            self_descriptions=len(requests),
            inventory=len(prompts)
            * len(inv.items)
            * (design.answer_samples if design.answer_mode == "generate" else 1),
        ),
        self_description_template=(
            BASE_FRAME.id if kind == "base" else "stability/chat: system=persona prompt"
        ),
        sampler=Sampler(**{**asdict(sampler), "stop": list(sampler.stop)}),
        seeds=Seeds(
            rule="seed = run_seed * 1000003 + cell * S + s, cell = persona * R + paraphrase",
            first=requests[0].seed,
            last=requests[-1].seed,
        ),
        free_text=free_text,
        inventory=inventory,
        elapsed_s=round(time.perf_counter() - started, 2),
    )


class StabilityStudy(Study[Settings, StabilityFindings]):
    name = "stability"
    Settings = Settings
    quick = QUICK

    def check(self, settings: Settings) -> None:
        design = settings
        if design.paraphrases < 2 or design.seeds < 2:
            raise PersonascopeError(
                "stability needs paraphrases >= 2 and seeds >= 2 to separate the facets, got "
                f"{design.paraphrases} and {design.seeds}"
            )
        if design.paraphrases > len(load_data()["paraphrases"]):
            raise PersonascopeError(
                f"stability setting paraphrases: at most {len(load_data()['paraphrases'])} "
                f"templates ship, got {design.paraphrases}"
            )
        if design.items_per_domain is not None and design.items_per_domain < 2:
            raise PersonascopeError(
                f"stability setting items_per_domain must be >= 2, got {design.items_per_domain}"
            )
        if design.answer_mode == "generate" and design.answer_samples < 2:
            raise PersonascopeError("stability setting answer_samples must be >= 2")

    def run(self, ctx: StudyContext, settings: Settings) -> StabilityFindings:
        design = settings
        personas, source = personas_for(ctx, design)
        templates = paraphrase_templates(design)
        embedder = Embedder(ctx.store)
        findings = StabilityFindings(
            design=jsonable({**asdict(design), "seed": ctx.seed}),
            personas=Personas(source, [PersonaEntry(p.id, p.description) for p in personas]),
            templates=Templates(
                paraphrases=[TemplateText(t.id, t.text) for t in templates],
                self_description=load_data()["self_description"],
                base_frame=TemplateText(BASE_FRAME.id, BASE_FRAME.text),
            ),
            embedder=embedder.name,
            interval_method=(
                "components, shares, SNR: generalized pivotal quantities "
                f"({design.n_draws} draws, seed {ctx.seed}); ICC: F interval; 95%"
            ),
        )
        for spec in ctx.models:
            findings.models[spec.model_id] = run_model(
                ctx, spec, design, personas, templates, embedder
            )
        return findings
