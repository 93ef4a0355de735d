"""The panel entry point with the real embedder and tagger; the embedding cache; files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personascope.errors import InputFileError, MetricInputError
from personascope.metrics.embedding import Embedder, text_hash
from personascope.metrics.estimate import Jackknife
from personascope.metrics.lexical import tokenize_words
from personascope.metrics.panel import (
    PanelSettings,
    by_input_panel,
    compare_texts,
    diversity_report,
    text_panel,
)
from personascope.metrics.syntactic import syntactic_metrics
from personascope.store import Store

PERSONAS = [
    "Maria is a 34-year-old nurse from Lisbon who loves hiking and old maps.",
    "Tom, 61, repairs clocks in Leeds and plays chess with his grandson every Sunday.",
    "Aiko studies marine biology in Osaka; she is shy but stubborn about her research.",
    "Kwame drives a night bus in Accra and writes poems between shifts.",
    "Elena is a retired judge who bakes bread and argues about politics at dinner.",
    "Sam is a creative, passionate graphic designer who loves coffee and travel.",
    "Priya, 27, is a software engineer who climbs on weekends and hates small talk.",
    "Jonas farms potatoes in Bergen and restores vintage motorcycles in winter.",
    "Leila teaches French in Lyon and volunteers at an animal shelter.",
    "Omar is a cheerful pharmacist who collects jazz records and cooks for friends.",
    "Greta is a welder who sings in a punk band and reads history books.",
    "Ravi is a patient librarian who grows tomatoes and watches birds at dawn.",
]
QUICK = PanelSettings(syntactic=False, jackknife=Jackknife(groups=6))


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_the_panel_gives_every_metric_with_interval_n_and_method(embedder):
    panel = text_panel(PERSONAS, settings=PanelSettings(), embedder=embedder)
    json.dumps(panel)  # JSON-able: no numpy scalars, no NaN
    metrics = panel["metrics"]
    expected = {
        *(f"distinct_{n}" for n in range(1, 5)),
        *(f"ead_{n}" for n in range(1, 5)),
        "ngram_diversity",
        "compression_ratio",
        "self_repetition",
        "self_bleu",
        "rouge_l_homogenization",
        "pos_compression_ratio",
        "pos_ngram_diversity",
        "mean_cosine_distance",
        "vendi_q0.5",
        "vendi_q1",
        "vendi_q2",
        "vendi_qinf",
        "distinct_classes",
        "clusters",
        "largest_cluster_share",
        "nn_distance_mean",
        "nn_distance_distribution",
    }
    assert set(metrics) == expected
    for name, entry in metrics.items():
        if name == "nn_distance_distribution":
            continue
        assert entry["n"] == len(PERSONAS), name
        if name == "distinct_classes":  # a count of this set's classes: no interval
            assert entry["low"] is entry["high"] is None
            assert 1 <= entry["value"] <= len(PERSONAS)
        else:
            assert entry["low"] <= entry["value"] <= entry["high"], name
        assert entry["method"] and entry["direction"], name
    assert 0 < metrics["mean_cosine_distance"]["value"] < 1
    assert 1 < metrics["vendi_q1"]["value"] <= len(PERSONAS)
    assert metrics["pos_compression_ratio"]["params"]["tagger"].startswith("spacy en_core_web_sm")
    assert panel["embedder"].startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert panel["settings"]["tokenization"] == "words"


def test_identical_texts_sit_at_the_collapsed_end_of_every_scale(embedder):
    panel = text_panel([PERSONAS[0]] * 8, settings=QUICK, embedder=embedder)["metrics"]
    assert panel["self_bleu"]["value"] == pytest.approx(1.0)
    assert panel["rouge_l_homogenization"]["value"] == pytest.approx(1.0)
    assert panel["mean_cosine_distance"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert panel["vendi_q1"]["value"] == pytest.approx(1.0, abs=1e-4)
    assert panel["clusters"]["value"] == 1
    assert panel["nn_distance_mean"]["value"] == pytest.approx(0.0, abs=1e-6)
    varied = text_panel(PERSONAS[:8], settings=QUICK, embedder=embedder)["metrics"]
    for name in ("distinct_2", "mean_cosine_distance", "vendi_q1", "clusters"):
        assert varied[name]["value"] > panel[name]["value"], name


def test_the_embedder_caches_in_the_store(tmp_path):
    texts = ["a quiet baker", "a loud drummer", "a quiet baker"]
    with Store(tmp_path) as store:
        first = Embedder(store)
        vectors = first.embed(texts)
        assert first.computed == 2  # the repeated text is embedded once
        assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
        assert np.array_equal(vectors[0], vectors[2])
        second = Embedder(store)
        again = second.embed(texts)
        assert second.computed == 0 and np.array_equal(again, vectors)
        stored = store.get_embeddings(first.name, [text_hash(t) for t in texts])
        assert len(stored) == 2


class DictCache:
    """A vector cache that is not the store: a dict keyed by (embedder, text hash)."""

    def __init__(self) -> None:
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def get_embeddings(self, embedder, text_hashes):
        found = ((h, self.vectors.get((embedder, h))) for h in text_hashes)
        return {h: v for h, v in found if v is not None}

    def put_embeddings(self, embedder, items):
        self.vectors.update({(embedder, h): v for h, v in items.items()})


def test_the_embedder_reads_any_vector_cache_before_computing():
    cache = DictCache()
    embedder = Embedder(cache)
    planted = np.eye(384, dtype=np.float32)[:2]  # not what the model would give
    cache.put_embeddings(embedder.name, {text_hash(t): v for t, v in zip(["ann", "bob"], planted)})
    got = embedder.embed(["bob", "ann", "bob"])
    assert embedder.computed == 0  # the model was never needed
    assert np.array_equal(got, planted[[1, 0, 1]])


def test_compare_texts_matches_n_and_length_and_adds_coverage(embedder):
    long_ones = [p + " " + p for p in PERSONAS]
    out = compare_texts(long_ones, PERSONAS[:9], settings=QUICK, embedder=embedder)
    match = out["matching"]
    assert match["n"] == 9 and match["from_n"] == [12, 9]
    assert out["generated"]["n"] == out["reference"]["n"] == 9
    cut = match["truncated_to_words"]
    assert out["generated"]["mean_length_words"] <= cut
    assert set(out["coverage"]["metrics"]) >= {"coverage", "energy_distance", "uniformity"}
    json.dumps(out)


def test_per_input_and_across_input(embedder):
    texts = PERSONAS[:12]
    labels = [str(i % 3) for i in range(12)]
    vectors = embedder.embed(texts)
    out = by_input_panel(texts, labels, QUICK, vectors)
    for metric in ("ead_mean", "cosine"):
        assert out[metric]["per_input"]["n"] == 3
        assert out[metric]["per_input"]["params"]["set_size"] == 3
    # 3 inputs of 4 outputs: sets of s = min(4, 3) = 3; per input its first 3 outputs
    # (texts i, i + 3, i + 6), across inputs one chunk and slot j (texts 3j, 3j + 1, 3j + 2)
    per_sets = [[i, i + 3, i + 6] for i in range(3)]
    across_sets = [[3 * j, 3 * j + 1, 3 * j + 2] for j in range(3)]
    for metric, value in (
        ("ead_mean", lambda s: hand_ead_mean([texts[i] for i in s])),
        ("cosine", lambda s: hand_mean_cosine_distance(vectors[s])),
    ):
        per = np.mean([value(s) for s in per_sets])
        across = np.mean([value(s) for s in across_sets])
        assert out[metric]["per_input"]["value"] == pytest.approx(per, rel=1e-9), metric
        assert out[metric]["across_input"]["value"] == pytest.approx(across, rel=1e-9), metric


def hand_ead_mean(texts, vocab=50_000, max_n=4):
    """EAD_n = distinct n-grams / (V (1 - ((V - 1) / V)^C)) (Liu et al. 2022), n-grams
    within each text, averaged over n = 1..4."""
    values = []
    for n in range(1, max_n + 1):
        grams = [
            tuple(w[i : i + n]) for w in map(tokenize_words, texts) for i in range(len(w) - n + 1)
        ]
        values.append(len(set(grams)) / (vocab * (1 - ((vocab - 1) / vocab) ** len(grams))))
    return float(np.mean(values))


def hand_mean_cosine_distance(vectors):
    """Mean over pairs i != j of 1 - cos(x_i, x_j)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    return np.mean([
        1 - vectors[i] @ vectors[j] / np.linalg.norm(vectors[i]) / np.linalg.norm(vectors[j])
        for i in range(n) for j in range(n) if i != j
    ])  # fmt: skip


def test_syntactic_metrics_see_repeated_templates():
    templated = [f"{name} is a kind nurse who likes tea." for name in ("Ann", "Bo", "Cy", "Di")]
    jk = Jackknife(groups=4)
    same = syntactic_metrics(templated, jk)
    varied = syntactic_metrics(PERSONAS[:4], jk)
    assert same["pos_compression_ratio"].value > varied["pos_compression_ratio"].value
    assert same["pos_ngram_diversity"].value < varied["pos_ngram_diversity"].value


def test_too_few_texts_is_a_clear_error(embedder):
    with pytest.raises(MetricInputError, match="at least 2 texts, got 1"):
        text_panel(["one persona"], settings=QUICK, embedder=embedder)
    with pytest.raises(MetricInputError, match="at least 2 texts, got 0"):
        text_panel([], settings=QUICK, embedder=embedder)
    with pytest.raises(MetricInputError, match="embeddings for"):
        text_panel(PERSONAS[:3], settings=QUICK, embeddings=np.ones((2, 4)))


def test_a_metric_the_texts_cannot_support_is_reported_not_fatal(embedder):
    texts = ["Short one.", "Tiny two!", "Mini three?"]
    panel = text_panel(texts, settings=QUICK, embedder=embedder)
    metrics = panel["metrics"]
    assert metrics["distinct_4"]["value"] is None
    assert "no 4-gram" in metrics["distinct_4"]["note"]
    assert metrics["distinct_1"]["value"] > 0 and metrics["vendi_q1"]["value"] >= 1


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_report_errors_name_the_file_line_and_field(tmp_path):
    off = PanelSettings(syntactic=False, semantic=False)
    good = json.dumps({"description": "a person"})
    bad = write_lines(tmp_path / "bad.jsonl", [good, good, "{not json"])
    with pytest.raises(InputFileError, match=r"bad.jsonl:3: not valid JSON"):
        diversity_report(bad, settings=off)
    missing = write_lines(tmp_path / "missing.jsonl", [good, json.dumps({"text": "x"})])
    with pytest.raises(InputFileError, match=r"missing.jsonl:2: no field 'description'"):
        diversity_report(missing, settings=off)
    number = write_lines(tmp_path / "number.jsonl", [good, json.dumps({"description": 5})])
    with pytest.raises(
        InputFileError, match=r"number.jsonl:2: field 'description' must be a string"
    ):
        diversity_report(number, settings=off)
    traits = write_lines(
        tmp_path / "traits.jsonl",
        [
            json.dumps({"description": "a calm person", "t": [1, 2]}),
            json.dumps({"description": "a loud person", "t": [1]}),
        ],
    )
    with pytest.raises(InputFileError, match=r"traits.jsonl:2: field 't' has 1 numbers"):
        diversity_report(traits, against=traits, traits="t", settings=off)
    with pytest.raises(MetricInputError, match="--against"):
        diversity_report(traits, traits="t", settings=off)
    with pytest.raises(InputFileError, match="no such file"):
        diversity_report(tmp_path / "nope.jsonl", settings=off)
