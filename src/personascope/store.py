"""The run store: one embedded DuckDB file per run folder.

Everything a run produces is kept here, so a report can be rebuilt without a model and an
interrupted run resumes by re-planning and skipping what is stored:

* ``runs``: one row per command invocation (command line, package versions, host, timings);
* ``models``: what each model said about itself (id, file hash, backend, sampler order);
* ``results``: one row per executed request, keyed by its content hash, with the request,
  the raw result (text, token log-probs, option log-probs ...) and its timing;
* ``embeddings``: sentence embeddings cached by (embedder, text hash);
* ``findings``: the analysed output of each study (tables and figure data as JSON).

All SQL is parameterised; model output never becomes SQL text. Each batch is written in
one transaction, so a process killed mid-run loses at most the batch in flight. A store that
fails while open (a file truncated or damaged under a running command) raises a
:class:`PersonascopeError` naming the file, from every query as from opening. Opening a store
for writing marks the ``runs`` rows still ``running`` as ``interrupted``: DuckDB admits one
writing process, so such a row belongs to a command that was killed.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import PersonascopeError
from personascope.outputs import output_dir

STORE_FILENAME = "store.duckdb"
SCHEMA_VERSION = 1

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at DOUBLE,
        finished_at DOUBLE, status VARCHAR, info VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS models (
        model_key VARCHAR PRIMARY KEY, model_id VARCHAR, info VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS results (
        request_hash VARCHAR PRIMARY KEY, kind VARCHAR, model_key VARCHAR,
        request VARCHAR, result VARCHAR, run_id VARCHAR, elapsed_s DOUBLE,
        created_at DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS embeddings (
        embedder VARCHAR, text_hash VARCHAR, vector BLOB,
        PRIMARY KEY (embedder, text_hash))""",
    """CREATE TABLE IF NOT EXISTS findings (
        study VARCHAR, name VARCHAR, data VARCHAR, run_id VARCHAR, created_at DOUBLE,
        PRIMARY KEY (study, name))""",
]


@dataclass(frozen=True)
class ResultRow:
    """One executed request as the ``results`` table holds it (written and read back)."""

    request_hash: str
    kind: str
    model_key: str
    request: dict[str, Any]
    result: dict[str, Any]
    run_id: str
    elapsed_s: float


class Store:
    """A DuckDB file holding one run folder's results. Use as a context manager."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        import duckdb

        path = Path(path)
        if path.is_dir() or path.suffix != ".duckdb":
            path = path / STORE_FILENAME
        if read_only and not path.is_file():
            raise PersonascopeError(f"no run store at {path}")
        if not read_only:
            output_dir(path.parent, "run folder")
        self.path = path
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            first_line = str(exc).splitlines()[0]
            raise PersonascopeError(f"cannot open the run store {path}: {first_line}") from exc
        except duckdb.Error as exc:
            first_line = str(exc).splitlines()[0]
            raise PersonascopeError(f"the run store {path} is unreadable: {first_line}") from exc
        if not read_only:
            for statement in _SCHEMA:
                self._sql(statement)
            self._sql(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            self._sql("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")

    def _sql(self, statement: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement and fetch its rows; a database failure is a user-facing error."""
        import duckdb

        try:
            return self._con.execute(statement, params or []).fetchall()
        except duckdb.Error as exc:
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise PersonascopeError(
                f"the run store {self.path} failed ({first_line}); it may be damaged: "
                "move it away to start a new one"
            ) from exc

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._sql("ROLLBACK")
            raise
        self._sql("COMMIT")

    # -- runs --------------------------------------------------------------------------

    def start_run(self, command: str, info: dict[str, Any]) -> str:
        run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        info = {"host": socket.gethostname(), **info}
        self._sql(
            "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', ?)",
            [run_id, command, time.time(), json.dumps(info)],
        )
        return run_id

    def finish_run(self, run_id: str, status: str, info: dict[str, Any] | None = None) -> None:
        self._sql(
            "UPDATE runs SET finished_at = ?, status = ?, "
            "info = CASE WHEN ? IS NULL THEN info ELSE ? END WHERE run_id = ?",
            [time.time(), status, None if info is None else 1, json.dumps(info), run_id],
        )

    def runs(self) -> list[dict[str, Any]]:
        rows = self._sql(
            "SELECT run_id, command, started_at, finished_at, status, info FROM runs "
            "ORDER BY started_at"
        )
        return [
            {
                "run_id": r[0],
                "command": r[1],
                "started_at": r[2],
                "finished_at": r[3],
                "status": r[4],
                "info": json.loads(r[5]),
            }
            for r in rows
        ]

    # -- models ------------------------------------------------------------------------

    def put_model(self, model_key: str, model_id: str, info: dict[str, Any]) -> None:
        self._sql(
            "INSERT OR REPLACE INTO models VALUES (?, ?, ?)",
            [model_key, model_id, json.dumps(info)],
        )

    def models(self) -> dict[str, dict[str, Any]]:
        rows = self._sql("SELECT model_key, model_id, info FROM models")
        return {r[0]: {"model_id": r[1], **json.loads(r[2])} for r in rows}

    # -- results -----------------------------------------------------------------------

    def known_hashes(self, hashes: Sequence[str]) -> set[str]:
        """The subset of ``hashes`` that already has a stored result."""
        if not hashes:
            return set()
        rows = self._sql(
            "SELECT request_hash FROM results WHERE request_hash IN (SELECT unnest(?))",
            [list(hashes)],
        )
        return {r[0] for r in rows}

    def put_results(self, rows: Iterable[ResultRow]) -> None:
        """Store result rows atomically (a row whose hash is stored already is ignored)."""
        rows = list(rows)
        if not rows:
            return
        self._bulk_insert(
            "results",
            {
                "request_hash": [r.request_hash for r in rows],
                "kind": [r.kind for r in rows],
                "model_key": [r.model_key for r in rows],
                "request": [json.dumps(r.request) for r in rows],
                "result": [json.dumps(r.result) for r in rows],
                "run_id": [r.run_id for r in rows],
                "elapsed_s": [float(r.elapsed_s) for r in rows],
                "created_at": [time.time()] * len(rows),
            },
        )

    def get_results(self, hashes: Sequence[str]) -> dict[str, ResultRow]:
        """The stored rows of those ``hashes`` that have one, by hash."""
        if not hashes:
            return {}
        rows = self._sql(
            "SELECT request_hash, kind, model_key, request, result, run_id, elapsed_s "
            "FROM results WHERE request_hash IN (SELECT unnest(?))",
            [list(hashes)],
        )
        return {
            r[0]: ResultRow(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5], r[6])
            for r in rows
        }

    def count_results(self, model_key: str | None = None) -> int:
        if model_key is None:
            return self._sql("SELECT count(*) FROM results")[0][0]
        return self._sql("SELECT count(*) FROM results WHERE model_key = ?", [model_key])[0][0]

    # -- embeddings --------------------------------------------------------------------

    def get_embeddings(self, embedder: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not text_hashes:
            return {}
        rows = self._sql(
            "SELECT text_hash, vector FROM embeddings "
            "WHERE embedder = ? AND text_hash IN (SELECT unnest(?))",
            [embedder, list(text_hashes)],
        )
        return {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def put_embeddings(self, embedder: str, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        vectors = [np.asarray(v, np.float32).tobytes() for v in items.values()]
        self._bulk_insert(
            "embeddings",
            {"embedder": [embedder] * len(items), "text_hash": list(items), "vector": vectors},
        )

    def _bulk_insert(self, table: str, columns: dict[str, list[Any]]) -> None:
        """Insert columns in one transaction through an Arrow table.

        ``executemany`` inserts row by row (about 70 rows/s); a registered Arrow table is
        inserted in one statement. Rows whose key exists are ignored.
        """
        import pyarrow as pa

        frame = pa.table(columns)
        self._con.register("_incoming", frame)
        try:
            with self.transaction():
                self._sql(
                    f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "  # names are ours
                    f"SELECT {', '.join(columns)} FROM _incoming"
                )
        finally:
            self._con.unregister("_incoming")

    # -- findings ----------------------------------------------------------------------

    def put_finding(self, study: str, name: str, data: Any, run_id: str | None = None) -> None:
        self._sql(
            "INSERT OR REPLACE INTO findings VALUES (?, ?, ?, ?, ?)",
            [study, name, json.dumps(data), run_id, time.time()],
        )

    def findings(self, study: str | None = None) -> dict[tuple[str, str], Any]:
        if study is None:
            rows = self._sql("SELECT study, name, data FROM findings")
        else:
            rows = self._sql("SELECT study, name, data FROM findings WHERE study = ?", [study])
        return {(r[0], r[1]): json.loads(r[2]) for r in rows}
