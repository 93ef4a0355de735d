"""The functions a notebook needs, each returning a tidy pandas DataFrame.

* :func:`diversity` — every diversity metric of a list of texts, with its interval;
* :func:`score` — inventory scores and reliabilities of a table of answers;
* :func:`generate` — a scaffolded, deduplicated persona population;
* :func:`run_study` — one study on some models (:func:`personascope.audit.run_audit`
  for the whole battery, :func:`personascope.audit.load_run` to reopen a run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from personascope.audit import DEFAULT_RUNS, AuditResult, RunSession, run_audit
from personascope.defaults import DEFAULT_ALIGNED_MODEL
from personascope.errors import PersonascopeError

if TYPE_CHECKING:
    from personascope.metrics.panel import TraitReference

DIVERSITY_COLUMNS = ("metric", "value", "low", "high", "n", "direction", "method")
SCORE_COLUMNS = ("domain", "measure", "value", "low", "high", "n")


def diversity(
    texts: Sequence[str],
    *,
    semantic: bool = True,
    syntactic: bool = False,
    tokenization: str = "words",
    seed: int = 0,
) -> pd.DataFrame:
    """The metric panel of ``texts`` (docs/metrics.md) as one row per metric: columns
    metric, value, low, high (95% jackknife interval), n, direction (whether higher is
    more diverse) and method. A metric the texts cannot support has no value."""
    from personascope import tokenizers
    from personascope.metrics.estimate import Jackknife
    from personascope.metrics.panel import PanelSettings, text_panel
    from personascope.metrics.tables import metric_rows

    settings = PanelSettings(
        tokenization=tokenizers.tokenization(tokenization),
        syntactic=syntactic,
        semantic=semantic,
        jackknife=Jackknife(seed=seed),
    )
    panel = text_panel(list(texts), settings=settings)
    rows = [
        (name, e.get("value"), e.get("low"), e.get("high"), e.get("n"), e.get("direction"),
         e.get("method"))
        for name, e in metric_rows(panel["metrics"])
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(DIVERSITY_COLUMNS))


def diversity_file(
    personas: Path,
    *,
    field: str = "description",
    against: str | None = None,
    traits: str | None = None,
    by: str | None = None,
    tokenization: str = "words",
    semantic: bool = True,
    syntactic: bool = True,
    seed: int = 0,
    run_dir: Path = DEFAULT_RUNS / "diversity",
) -> dict[str, Any]:
    """What ``personascope diversity FILE`` reports (docs/metrics.md): the panel of the
    texts in ``field``, compared with a reference file (``against``) at matched n and
    length or, for ``traits`` vectors, with the human IPIP-50 norms (``against="human"``);
    per input with ``by``. Embeddings are cached in ``run_dir``'s store."""
    from personascope import tokenizers
    from personascope.metrics.embedding import Embedder
    from personascope.metrics.estimate import Jackknife
    from personascope.metrics.panel import PanelSettings, diversity_report
    from personascope.store import Store

    settings = PanelSettings(
        tokenization=tokenizers.tokenization(tokenization),
        syntactic=syntactic,
        semantic=semantic,
        jackknife=Jackknife(seed=seed),
    )
    human = human_trait_reference(seed) if against == "human" else None
    store = Store(run_dir) if semantic else None
    try:
        return diversity_report(
            personas,
            field=field,
            against=None if against is None or human is not None else Path(against),
            traits=traits,
            trait_reference=human,
            by=by,
            settings=settings,
            embedder=Embedder(store) if semantic else None,
        )
    finally:
        if store is not None:
            store.close()


def human_trait_reference(seed: int) -> TraitReference:
    """A seeded sample of the human IPIP-50 respondents' Big-Five vectors (1-5)."""
    from personascope.instruments.norms import load_norms, sample_reference
    from personascope.metrics.panel import HUMAN_REFERENCE_N, TraitReference
    from personascope.metrics.trait_reach import human_baseline

    vectors = sample_reference(HUMAN_REFERENCE_N, seed)  # an error if no norms ship
    norms = load_norms("ipip50")
    if norms is None:
        raise PersonascopeError("no human norms ship for ipip50")
    return TraitReference(
        vectors,
        list(norms.domains),
        f"human IPIP-50 norms ({norms.n} respondents): a sample of {HUMAN_REFERENCE_N}",
        human_baseline(norms, vectors, seed),
    )


def score(answers: pd.DataFrame | Path | str, inventory: str = "ipip50") -> pd.DataFrame:
    """Domain scores and reliabilities of a table of answers (a DataFrame or a CSV/TSV
    file; one row per respondent, one column per item id, 1..k or missing): one row per
    domain and measure (mean, sd, alpha, omega, mean_t), with intervals where estimated."""
    from personascope.instruments.answers import answer_matrix, read_answer_table, summarize
    from personascope.instruments.inventory import load_inventory

    inv = load_inventory(inventory)
    if isinstance(answers, pd.DataFrame):
        raw = answer_matrix(inv, answers)
    else:
        raw, _ = read_answer_table(Path(answers), inv)
    summary = summarize(inv, raw)
    rows: list[tuple[Any, ...]] = []
    for domain, d in summary["domains"].items():
        rows += [(domain, key, d.get(key), None, None, d["n"]) for key in ("mean", "sd", "mean_t")]
        rows += [
            (domain, key, d[key].get("value"), d[key].get("low"), d[key].get("high"),
             d[key].get("n"))
            for key in ("alpha", "omega")
        ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def generate(
    strategy: str,
    n: int = 100,
    *,
    model: str = DEFAULT_ALIGNED_MODEL,
    output: Path | str = "personas.jsonl",
    config: Path | str | None = None,
    seed: int = 0,
    dedup: float | None = 0.8,
    fidelity: bool = False,
    out: Path | str = DEFAULT_RUNS / "generate",
) -> pd.DataFrame:
    """``personascope generate`` as a function: ``n`` unique personas written to
    ``output`` and returned as a DataFrame (one row per persona)."""
    from personascope.models.providers import resolve
    from personascope.personas.io import read_personas
    from personascope.personas.pipeline import run_generate
    from personascope.personas.strategies import load_strategy

    spec = resolve(model)
    config_path = Path(config) if config is not None else None
    chosen = load_strategy(strategy, config_path)
    with RunSession(Path(out), f"personascope.generate({strategy!r}, {n})") as session:
        run_generate(
            session.runner, spec, chosen, n, Path(output), config_path, seed, dedup, fidelity
        )
    return pd.DataFrame([p.model_dump() for p in read_personas(Path(output))])


def run_study(
    study: str,
    models: Sequence[str] | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    quick: bool = False,
    out: Path | str | None = None,
    seed: int | None = None,
    progress: bool = True,
) -> AuditResult:
    """One study on ``models`` (default: the embedded pair) with ``settings`` over its
    preset (the quick one with ``quick``); ``.findings[study]`` holds its typed findings,
    ``.frame(study)`` its estimates."""
    return run_audit(
        models,
        [study],
        out=out if out is not None else DEFAULT_RUNS / study,
        quick=quick,
        seed=seed,
        settings={study: dict(settings or {})},
        progress=progress,
    )
