"""The stability study: planted truth through the whole pipeline, then the real models.

The planted model answers inventory items with expected score 3 + a_p + b_r (persona p,
paraphrase r), so the persona and paraphrase components are known exactly
(sum (a - mean a)^2 / (P - 1), likewise for b) and the within-request variance of each
answer is frac(mu) (1 - frac(mu)); its self-descriptions depend on the persona only,
so the seed and paraphrase components of the text decomposition must vanish. The
real embedded models then run a tiny design end to end (their self-reports are known
to be invalid: the report must withhold the inventory's persona share).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from personascope.instruments.inventory import load_inventory
from personascope.models.base import ChatPrompt, GenerationRequest, GenerationResult
from personascope.studies.base import StudyContext, run_study
from personascope.studies.stability import (
    FULL,
    StabilityStudy,
    free_text_analysis,
    load_data,
    plan_self_descriptions,
    within_request_variance,
)
from personascope.testing.clitools import one_error_line, run_cli
from personascope.testing.contexts import embedded_context
from personascope.testing.fake import fake_runner, register_fake
from personascope.testing.planted import PlantedRespondent

PERSONA_SHIFT = {"alpha": -1.0, "beta": -0.25, "gamma": 0.5, "delta": 0.75}
PARAPHRASE_SHIFT = (0.3, -0.3)


def write_persona_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for name in PERSONA_SHIFT:
            record = {"id": name, "description": f"A person called {name.title()}."}
            handle.write(json.dumps(record) + "\n")
    return path


def which(text: str) -> tuple[str, int]:
    """(persona name, paraphrase index) from a persona prompt."""
    name = next(n for n in PERSONA_SHIFT if n.title() in text)
    starts = [t.split("{description}")[0] for t in load_data()["paraphrases"][:2]]
    return name, next(r for r, start in enumerate(starts) if text.startswith(start))


class PlantedStabilityRespondent(PlantedRespondent):
    """Inventory answers with planted persona/paraphrase effects; persona-only texts."""

    def __init__(self) -> None:
        super().__init__(load_inventory("mini_ipip"), self.levels)

    @staticmethod
    def levels(persona: str | None) -> dict[str, float]:
        assert persona is not None
        name, r = which(persona)
        level = 3.0 + PERSONA_SHIFT[name] + PARAPHRASE_SHIFT[r]
        return dict.fromkeys("OCEAN", level)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        assert isinstance(request.prompt, ChatPrompt)
        if "Statement:" in request.prompt.messages[-1].content:  # a sampled item answer
            return super().generate(request)
        name, _ = which(request.prompt.messages[0].content)
        text = f"I am {name.title()}, and I spend my days thinking about {name}s."
        return GenerationResult(text, (), (), "stop", 0)


def planted_context(folder: Path, settings: dict) -> StudyContext:
    """The planted model over the persona file, with these stability settings."""
    planted = PlantedStabilityRespondent()
    model_id = register_fake("stability", planted.generate, planted.score, replace=True)
    runner, store, spec = fake_runner(folder, model_id)
    personas = str(write_persona_file(folder / "personas.jsonl"))
    return StudyContext(
        runner=runner,
        store=store,
        models=[spec],
        out_dir=folder,
        run_id="test",
        config={"personas_file": personas, "stability": settings},
    )


@pytest.fixture(scope="module")
def planted_findings(tmp_path_factory):
    ctx = planted_context(
        tmp_path_factory.mktemp("stability-planted"),
        {"paraphrases": 2, "seeds": 2, "n_personas": None, "n_draws": 500},
    )
    findings = run_study(ctx, StabilityStudy()).to_json()
    stored = ctx.store.findings("stability")[("stability", "findings")]
    yield findings, stored, ctx.models[0]
    ctx.store.close()


def test_planted_inventory_components_are_recovered_exactly(planted_findings):
    findings, _, spec = planted_findings
    model = findings["models"][spec.model_id]
    a = np.array(list(PERSONA_SHIFT.values()))
    b = np.array(PARAPHRASE_SHIFT)
    sigma_p, sigma_r = a.var(ddof=1), b.var(ddof=1)
    levels = 3.0 + a[:, None] + b[None, :]
    frac = levels - np.floor(levels)
    sampling = float(np.mean(frac * (1 - frac)))
    for domain, entry in model["inventory"]["domains"].items():
        comps = entry["components"]
        assert comps["persona"]["estimate"]["value"] == pytest.approx(sigma_p, abs=1e-9), domain
        assert comps["paraphrase"]["estimate"]["value"] == pytest.approx(sigma_r, abs=1e-9)
        for name in ("item", "persona:paraphrase", "persona:item", "paraphrase:item"):
            assert comps[name]["estimate"]["value"] == pytest.approx(0.0, abs=1e-9)
        assert comps["sampling"]["estimate"]["value"] == pytest.approx(sampling, abs=1e-9)
        assert entry["persona_share"]["value"] == pytest.approx(sigma_p / (sigma_p + sigma_r))
        assert entry["noise_ratio"]["value"] == pytest.approx(sigma_r / sigma_p)
        # planted answers: 80 % option mass (>= 0.6), both keys agree (reverse-key r = 1),
        # balanced (acquiescence 0) and they move with the persona: no rule can fail
        assert (entry["verdict"], entry["reasons"]) == ("valid", ["no diagnostic failed"])
    assert "degenerate" in model["inventory"]["seed_facet"]


def test_planted_texts_give_all_variance_to_the_persona(planted_findings):
    findings, _, spec = planted_findings
    free_text = findings["models"][spec.model_id]["free_text"]
    comps = free_text["components"]
    assert comps["seed"]["estimate"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert comps["paraphrase"]["estimate"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert comps["persona:paraphrase"]["estimate"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert comps["persona"]["estimate"]["value"] > 0.1
    assert free_text["persona_share"]["value"] == pytest.approx(1.0)
    assert free_text["headline"].startswith("persona explains 100%")


def test_findings_carry_provenance_and_the_persona_file(planted_findings):
    findings, stored, spec = planted_findings
    assert stored == json.loads(json.dumps(findings))  # the store holds exactly the findings
    assert findings["personas"]["source"].endswith("personas.jsonl")
    assert [p["id"] for p in findings["personas"]["items"]] == list(PERSONA_SHIFT)
    model = findings["models"][spec.model_id]
    assert model["model_key"] == spec.key
    # default inventory: the first 2 Mini-IPIP items of each of the 5 domains
    assert model["sizes"] == {"personas": 4, "paraphrases": 2, "seeds": 2, "items": 10}
    assert model["requests"] == {"self_descriptions": 16, "inventory": 80}
    assert model["sampler"]["temperature"] == 1.0
    assert model["inventory"]["provenance"]["inventory"] == "mini_ipip:first-2-per-domain"
    assert len(findings["templates"]["paraphrases"]) == 2


def test_generate_mode_estimates_the_sampling_facet_and_says_so(tmp_path):
    """Without log-probs the answers are sampled; the planted model always gives the
    mode of its distribution, so the estimated sampling variance is exactly 0."""
    settings = {"paraphrases": 2, "answer_mode": "generate", "answer_samples": 3}
    ctx = planted_context(tmp_path, {**settings, "n_draws": 200})
    model = run_study(ctx, StabilityStudy()).to_json()["models"][ctx.models[0].model_id]
    ctx.store.close()
    inventory = model["inventory"]
    assert inventory["seed_facet"].startswith("estimated: 3 sampled answers")
    assert model["requests"]["inventory"] == 4 * 2 * 10 * 3  # P R I samples
    for entry in inventory["domains"].values():
        assert entry["components"]["sampling"]["estimate"]["value"] == 0.0
        assert entry["components"]["persona"]["estimate"]["value"] > 0


def test_every_generation_has_its_own_seed():
    requests = plan_self_descriptions("chat", ["a", "b", "c"], FULL, 7)
    seeds = [r.seed for r in requests]
    assert len(set(seeds)) == len(seeds) == 3 * FULL.seeds


def test_within_request_variance_is_exact():
    class Adm:  # the two fields the function reads
        inventory = load_inventory("mini_ipip")
        probs = np.zeros((1, 20, 5))
        option_mass = np.ones((1, 20))

    adm = Adm()
    adm.probs[0, :, 0] = 0.5
    adm.probs[0, :, 4] = 0.5  # answers 1 or 5: mean 3, variance 4
    assert within_request_variance(adm, None) == pytest.approx(np.full((1, 20), 4.0))
    # sampled: 4 of 5 samples parsed, variance corrected by 4/3
    adm.option_mass = np.full((1, 20), 0.8)
    assert within_request_variance(adm, 5) == pytest.approx(np.full((1, 20), 16 / 3))


def test_free_text_analysis_separates_noise_from_persona():
    rng = np.random.default_rng(0)
    noise_only = rng.normal(size=(6, 2, 3, 8))
    result = free_text_analysis(noise_only, ["t"] * 36, n_draws=500, seed=0)
    assert result.persona_share.ci is not None
    assert result.persona_share.ci[0] == pytest.approx(0.0, abs=0.05)
    signal = noise_only * 0.1 + rng.normal(size=(6, 1, 1, 8)) * 3
    result = free_text_analysis(signal, ["t"] * 36, n_draws=500, seed=0)
    assert result.persona_share.value > 0.9
    assert result.icc1.value > 0.9


# --- CLI -----------------------------------------------------------------------------


def test_bad_persona_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "description": "ok"}\n{"id": "y"}\n', encoding="utf-8")
    proc = run_cli("audit", "--studies", "stability", "--personas", str(bad), "--out",
                   str(tmp_path / "run"))  # fmt: skip
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    assert "bad.jsonl:2" in line and "description" in line
    assert not (tmp_path / "run" / "store.duckdb").exists()


def test_audit_runs_both_studies_on_a_persona_file(tmp_path):
    """``audit --studies stability,commitment --personas FILE`` end to end, tiny sizes."""
    config = tmp_path / "audit.yaml"
    config.write_text(
        "stability: {n_personas: 2, paraphrases: 2, seeds: 2, max_tokens: 6, n_draws: 200}\n"
        "commitment: {conversations: 2, turns: 1, continuations: 2, answer_tokens: 6,"
        " describe_tokens: 6}\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    proc = run_cli("audit", "--studies", "stability,commitment", "-m",
                   "llamacpp/gemma3-270m", "--personas",
                   str(write_persona_file(tmp_path / "p.jsonl")), "--config", str(config),
                   "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    stability = summary["studies"]["stability"]
    assert [p["id"] for p in stability["personas"]["items"]] == ["alpha", "beta"]
    assert stability["personas"]["source"].endswith("p.jsonl")
    assert summary["studies"]["commitment"]["design"]["turns"] == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "A person called Beta." in html  # the file's personas, in the stability section
    assert "Commitment: does the model narrow" in html


# --- the real embedded models --------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    settings = {"n_personas": 2, "paraphrases": 2, "seeds": 2, "max_tokens": 8}
    ctx = embedded_context(
        tmp_path_factory.mktemp("stability-real"),
        {"stability": {**settings, "items_per_domain": 2, "n_draws": 500}},
    )
    findings = run_study(ctx, StabilityStudy()).to_json()
    yield ctx, findings
    ctx.store.close()


def test_real_models_decompose_and_withhold_invalid_self_reports(real_run):
    from personascope.report.sections import render_json

    ctx, findings = real_run
    for model_id, model in findings["models"].items():
        comps = model["free_text"]["components"]
        shares = [
            comps[k]["share"]["value"]
            for k in ("persona", "paraphrase", "persona:paraphrase", "seed")
        ]
        assert sum(shares) == pytest.approx(1.0)
        # different seeds write different texts: sampling noise is not zero
        assert comps["seed"]["estimate"]["value"] > 0, model_id
        assert model["inventory"]["validity"]["verdict"] == "invalid", model_id
        for entry in model["inventory"]["domains"].values():
            assert entry["interpretation"].startswith("withheld")
    stored = {name: data for (_, name), data in ctx.store.findings("stability").items()}
    section = render_json("stability", stored["findings"])
    html = "".join(str(b) for b in section.blocks)
    assert "not a personality measurement" in html
    for model_id in findings["models"]:
        cells = section.headline[model_id]
        assert cells["persona share (inventory domains)"] == "withheld: invalid self-report"
        assert cells["persona share of variance (self-descriptions)"].endswith("%]")


def test_real_models_resume_from_the_store(real_run):
    ctx, findings = real_run
    executed = ctx.runner.executed
    again = run_study(ctx, StabilityStudy()).to_json()
    assert ctx.runner.executed == executed  # everything came from the store
    for model_id in findings["models"]:
        first, second = findings["models"][model_id], again["models"][model_id]
        assert first["free_text"]["components"] == second["free_text"]["components"]
