"""distinct_classes (NoveltyBench's greedy partition) and the Python code helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from personascope.errors import MetricInputError
from personascope.metrics.code import extract_code, node_types, normalised_ast
from personascope.metrics.distinct import distinct_classes, greedy_partition
from personascope.testing.clitools import run_cli

DISJOINT = ["the cat sat", "a dog ran", "birds fly south", "fish swim deep", "trees grow tall"]


def test_k_copies_are_one_class_and_k_disjoint_texts_are_k() -> None:
    copies = distinct_classes(["Hello, World!"] * 5)
    assert (copies.count, copies.sizes, copies.largest_share) == (1, (5,), 1.0)
    disjoint = distinct_classes(DISJOINT)
    assert disjoint.count == 5 and disjoint.sizes == (1,) * 5
    assert disjoint.largest_share == pytest.approx(0.2)


def test_hand_computed_partition() -> None:
    # normalised exact: case, punctuation and spacing do not matter
    texts = ["Yes.", "no", "YES", "maybe", "No!", "yes  "]
    result = distinct_classes(texts, "exact")
    assert result.labels == (0, 1, 0, 2, 1, 0)
    assert result.sizes == (3, 2, 1) and result.count == 3


def test_greedy_partition_compares_with_representatives_in_order() -> None:
    # a non-transitive relation: |a - b| <= 1 on 0, 1, 2, 3. 0 founds; 1 joins 0; 2 is
    # not within 1 of the representative 0, founds; 3 joins 2.
    values = [0, 1, 2, 3]
    assert greedy_partition(4, lambda a, b: abs(values[a] - values[b]) <= 1) == (0, 0, 1, 1)
    custom = distinct_classes(["0", "1", "2", "3"], lambda a, b: abs(int(a) - int(b)) <= 1)
    assert custom.count == 2 and custom.equivalence == "<lambda>"


def test_embedding_equivalence_uses_the_threshold() -> None:
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    result = distinct_classes(["a", "b", "c", "d"], "embedding", embeddings=vectors)
    assert result.labels == (0, 0, 1, 1)
    strict = distinct_classes(["a", "b", "c", "d"], "embedding", embeddings=vectors, threshold=1.0)
    assert strict.count == 4


def test_ast_equivalence_ignores_names_comments_and_docstrings() -> None:
    a = "def add(a, b):\n    '''Sum.'''\n    return a + b\n"
    b = "```python\ndef plus(x, y):  # adds\n    return x + y\n```"
    c = "def add(a, b):\n    return a - b\n"
    d = "def broken(:\n"
    result = distinct_classes([a, b, c, d, d], "ast")
    assert result.labels == (0, 0, 1, 2, 2)
    assert result.unparseable == 2
    assert normalised_ast(a) == normalised_ast(extract_code(b))
    assert normalised_ast("len(x)") != normalised_ast("sum(x)")  # builtins keep their names


def test_code_helpers() -> None:
    assert extract_code("Here:\n```python\nx = 1\n```\nDone") == "x = 1"
    assert extract_code("x = 2") == "x = 2"
    assert node_types("x = 1") == ["Module", "Assign", "Name", "Constant"]
    assert node_types("def (") is None


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(MetricInputError, match="unknown equivalence"):
        distinct_classes(["a"], "fuzzy")  # type: ignore[arg-type]
    with pytest.raises(MetricInputError, match="list of texts"):
        distinct_classes("abc")
    with pytest.raises(MetricInputError, match="needs embeddings"):
        distinct_classes(["a", "b"], "embedding")


def test_diversity_command_reports_distinct_classes_per_input(tmp_path: Path) -> None:
    rows = [{"text": t, "prompt": p} for p, texts in
            (("p1", ["same", "same", "same"]), ("p2", ["one", "two", "three"]),
             ("p3", ["yes", "yes", "no"]))
            for t in texts]  # fmt: skip
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_cli("diversity", str(path), "--field", "text", "--by", "prompt",
                     "--no-semantic", "--no-syntax", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    per_input = report["by_input"]["distinct_classes"]["per_input"]
    assert per_input["value"] == pytest.approx(2.0)  # (1 + 3 + 2) / 3
    assert report["panel"]["metrics"]["distinct_classes"]["value"] == 6
