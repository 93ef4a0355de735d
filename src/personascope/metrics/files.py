"""Reading texts, trait vectors and group labels from a JSONL file (one object per line).

Every problem is an :class:`~personascope.errors.InputFileError` that names the file, the
line and the field. Values are only read, never interpreted: persona text is untrusted.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import InputFileError
from personascope.safejson import parse_json


def read_jsonl(path: Path, allow_empty: bool = False) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of ``path``."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                row = parse_json(line, f"{path}:{number}")
                if not isinstance(row, dict):
                    raise InputFileError(f"{path}:{number}: expected a JSON object")
                rows.append((number, row))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not rows and not allow_empty:
        raise InputFileError(f"{path}: no records")
    return rows


def _field(path: Path, number: int, row: dict[str, Any], field: str) -> Any:
    if field not in row:
        raise InputFileError(f"{path}:{number}: no field {field!r}")
    return row[field]


def texts_of(path: Path, rows: list[tuple[int, dict[str, Any]]], field: str) -> list[str]:
    """The string in ``field`` of every row."""
    texts = []
    for number, row in rows:
        value = _field(path, number, row, field)
        if not isinstance(value, str):
            raise InputFileError(
                f"{path}:{number}: field {field!r} must be a string, not {type(value).__name__}"
            )
        texts.append(value)
    return texts


def labels_of(path: Path, rows: list[tuple[int, dict[str, Any]]], field: str) -> list[str]:
    """The group label (a string or an integer) in ``field`` of every row, as a string."""
    labels = []
    for number, row in rows:
        value = _field(path, number, row, field)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InputFileError(f"{path}:{number}: field {field!r} must be a string or integer")
        labels.append(str(value))
    return labels


def vectors_of(
    path: Path, rows: list[tuple[int, dict[str, Any]]], field: str
) -> tuple[np.ndarray, list[str]]:
    """Numeric vectors in ``field``: a list of numbers, or an object of named numbers (the
    names of the first row fix the dimensions). Returns the (n, d) array and the names."""
    names: list[str] | None = None
    vectors = []
    for number, row in rows:
        value = _field(path, number, row, field)
        where = f"{path}:{number}: field {field!r}"
        if isinstance(value, dict):
            if names is None:
                names = list(value)
            if sorted(value) != sorted(names):
                raise InputFileError(f"{where} has keys {sorted(value)}, expected {sorted(names)}")
            value = [value[name] for name in names]
        if not isinstance(value, list) or not value:
            raise InputFileError(f"{where} must be a non-empty list or object of numbers")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise InputFileError(f"{where} must hold numbers only")
        if not all(math.isfinite(v) for v in value):
            raise InputFileError(f"{where} holds a NaN or infinite number")
        if vectors and len(value) != len(vectors[0]):
            raise InputFileError(f"{where} has {len(value)} numbers, expected {len(vectors[0])}")
        vectors.append(value)
    dims = names or [f"dim{j}" for j in range(len(vectors[0]))]
    return np.asarray(vectors, dtype=float), dims
