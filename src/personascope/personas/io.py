"""Reading and writing persona files: JSONL (one persona per line) and Parquet.

The format follows the file suffix: ``.jsonl`` (or ``.json`` lines) and ``.parquet``.
Parquet files keep the scalar fields (id, description, name, age, gender, occupation)
as typed columns; nested fields and user extensions are JSON text columns, listed in
the file's schema metadata (``personascope.json_columns``) so that reading restores
them exactly. Parquet files written by other tools are read column by column as is.

A malformed input raises :class:`~personascope.errors.InputFileError` naming the file,
the line (or row) and the field. Files are written atomically (temporary file, rename),
so an interrupted write never leaves half a file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from personascope.errors import InputFileError
from personascope.metrics.files import read_jsonl
from personascope.outputs import atomic_output
from personascope.personas.persona import Persona
from personascope.safejson import parse_json

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
SCALAR_COLUMNS = ("id", "description", "name", "age", "gender", "occupation")
_JSON_COLUMNS_KEY = b"personascope.json_columns"


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InputFileError(
        f"{path}: unknown persona file type {suffix or '(no suffix)'!r}; use .jsonl or .parquet"
    )


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error, as ``field 'a.b': message``."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(record)"
    return f"field {where!r}: {first['msg']}"


def persona_from_record(record: Any, where: str, model: type[Persona] = Persona) -> Persona:
    """Validate one record; ``where`` (``file:line``) prefixes the error message."""
    if not isinstance(record, dict):
        raise InputFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        raise InputFileError(f"{where}: {validation_message(exc)}") from exc


def read_personas(
    path: Path | str, model: type[Persona] = Persona, allow_empty: bool = False
) -> list[Persona]:
    """All personas of a JSONL or Parquet file, validated (``model`` may be a subclass)."""
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise InputFileError(f"no such persona file: {path}")
    personas = _read_parquet(path, model) if fmt == "parquet" else _read_jsonl(path, model)
    if not personas and not allow_empty:
        raise InputFileError(f"{path}: the file holds no personas (empty population)")
    return personas


def _read_jsonl(path: Path, model: type[Persona]) -> list[Persona]:
    rows = read_jsonl(path, allow_empty=True)
    return [persona_from_record(record, f"{path}:{number}", model) for number, record in rows]


def _read_parquet(path: Path, model: type[Persona]) -> list[Persona]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    metadata = table.schema.metadata or {}
    listed = parse_json(metadata.get(_JSON_COLUMNS_KEY, b"[]"), f"{path}: schema metadata")
    if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
        raise InputFileError(f"{path}: schema metadata: JSON columns must be a list of names")
    json_columns = set(listed)
    personas = []
    for row_number, row in enumerate(table.to_pylist(), start=1):
        record: dict[str, Any] = {}
        for column, value in row.items():
            if value is None:
                continue
            if column in json_columns:
                if not isinstance(value, str):
                    raise InputFileError(
                        f"{path}: row {row_number}: field {column!r}: not JSON text"
                    )
                value = parse_json(value, f"{path}: row {row_number}: field {column!r}")
            record[column] = value
        personas.append(persona_from_record(record, f"{path}: row {row_number}", model))
    return personas


def write_personas(path: Path | str, personas: Sequence[Persona]) -> Path:
    """Write personas to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    fmt = file_format(path)
    with atomic_output(path) as tmp:
        if fmt == "parquet":
            _write_parquet(tmp, personas)
        else:
            _write_jsonl(tmp, personas)
    return path


def _records(personas: Iterable[Persona]) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json", exclude_none=True) for p in personas]


def _write_jsonl(path: Path, personas: Sequence[Persona]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in _records(personas):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, personas: Sequence[Persona]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = _records(personas)
    columns: list[str] = list(SCALAR_COLUMNS)
    for record in records:
        columns.extend(c for c in record if c not in columns)
    json_columns = [c for c in columns if c not in SCALAR_COLUMNS]
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for record in records:
        for column in columns:
            value = record.get(column)
            if column in json_columns and value is not None:
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            data[column].append(value)
    types = {"age": pa.int64()}
    table = pa.table(
        {c: pa.array(v, type=types.get(c, pa.string())) for c, v in data.items()},
    )
    table = table.replace_schema_metadata({_JSON_COLUMNS_KEY: json.dumps(json_columns)})
    pq.write_table(table, path)
