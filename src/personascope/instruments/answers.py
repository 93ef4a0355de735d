"""Answer tables: read a wide CSV of human or model answers and summarise its scores.

One row per respondent, one column per item id (other columns are ignored), answers
``1..K``; ``0`` or an empty cell means missing. Tab-separated when the file ends in
``.tsv`` or ``.tab``, comma-separated otherwise.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import InputFileError
from personascope.instruments.inventory import Inventory
from personascope.instruments.norms import norms_for
from personascope.instruments.reliability import cronbach_alpha, mcdonald_omega
from personascope.instruments.scoring import score_answers


def _is_answer(cell: str, k: int) -> bool:
    """``cell`` is an answer 1..k written in ASCII digits (``str.isdigit`` alone accepts
    ``²`` and other digits ``int`` rejects; the length cap keeps ``int`` off huge strings)."""
    return cell.isascii() and cell.isdigit() and len(cell) <= 6 and 1 <= int(cell) <= k


def read_answer_table(path: Path, inventory: Inventory) -> tuple[np.ndarray, list[str]]:
    """(respondents, items) answers as floats with NaN for missing, and ignored columns."""
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(f"cannot read the answer table {path}: {exc}") from exc
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputFileError(f"{path}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}:1: unreadable header ({exc})") from exc
        where = {name: j for j, name in enumerate(header)}
        missing = [i for i in inventory.item_ids if i not in where]
        if missing:
            raise InputFileError(
                f"{path}:1: no column for item(s) {', '.join(missing[:10])}"
                f"{' ...' if len(missing) > 10 else ''} of inventory {inventory.id}"
            )
        columns = [where[i] for i in inventory.item_ids]
        k = inventory.points
        rows: list[list[float]] = []
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                values = []
                for item_id, j in zip(inventory.item_ids, columns):
                    cell = row[j].strip() if j < len(row) else ""
                    if cell in ("", "0"):
                        values.append(np.nan)
                    elif _is_answer(cell, k):
                        values.append(float(cell))
                    else:
                        raise InputFileError(
                            f"{path}:{reader.line_num}: column {item_id}: {cell[:20]!r} is not "
                            f"an answer 1-{k} (0 or empty = missing)"
                        )
                rows.append(values)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}:{reader.line_num}: unreadable row ({exc})") from exc
    if not rows:
        raise InputFileError(f"{path}: no answer rows")
    ignored = [h for h in header if h not in set(inventory.item_ids)]
    return np.array(rows), ignored


def _round(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if np.isfinite(value) else None


def summarize(inventory: Inventory, raw: np.ndarray, n_boot: int = 200) -> dict[str, Any]:
    """Domain score summaries, alpha (Feldt CI) and omega (bootstrap CI) per domain.

    Reliability uses listwise deletion within each domain; mean T-scores and
    percentiles are given when human norms exist for exactly this inventory.
    """
    scores = score_answers(inventory, raw)
    norms = norms_for(inventory)
    domains: dict[str, Any] = {}
    for j, d in enumerate(inventory.domains):
        idx = inventory.domain_indices(d)
        values = scores.domain[:, j]
        finite = values[np.isfinite(values)]
        entry: dict[str, Any] = {
            "name": inventory.domain_names[d],
            "n": int(finite.size),
            "mean": _round(finite.mean()) if finite.size else None,
            "sd": _round(finite.std(ddof=1)) if finite.size > 1 else None,
        }
        keyed = scores.keyed[:, idx]
        try:
            a = cronbach_alpha(keyed)
            o = mcdonald_omega(keyed, n_boot=n_boot)
            entry["alpha"] = {
                "value": _round(a["alpha"]),
                "low": _round(a["low"]),
                "high": _round(a["high"]),
                "n": a["n"],
            }
            entry["omega"] = {
                "value": _round(o["omega"]),
                "low": _round(o["low"]),
                "high": _round(o["high"]),
                "n": o["n"],
            }
        except ValueError as exc:
            entry["alpha"] = entry["omega"] = {"value": None, "note": str(exc)}
        if norms is not None and finite.size:
            k = norms.index(d)
            entry["mean_t"] = _round(50 + 10 * (finite.mean() - norms.mean[k]) / norms.sd[k], 2)
        domains[d] = entry
    return {
        **inventory.provenance(),
        "n_respondents": int(raw.shape[0]),
        "n_missing_answers": int(np.isnan(raw).sum()),
        "norms": "shipped human norms" if norms is not None else None,
        "domains": domains,
    }


def answer_matrix(inventory: Inventory, frame: Any) -> np.ndarray:
    """(respondents, items) answers of a pandas DataFrame with one column per item id, as
    floats with NaN for missing (empty or 0); a value outside 1..k is an error naming it."""
    missing = [i for i in inventory.item_ids if i not in frame.columns]
    if missing:
        raise InputFileError(
            f"no column for item(s) {', '.join(missing[:10])} of inventory {inventory.id}"
        )
    try:
        raw = frame[list(inventory.item_ids)].to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputFileError(f"answers must be numbers 1..{inventory.points}: {exc}") from exc
    raw[raw == 0] = np.nan
    bad = np.isfinite(raw) & ((raw < 1) | (raw > inventory.points) | (raw != np.round(raw)))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise InputFileError(
            f"row {r + 1}, item {inventory.item_ids[c]}: {raw[r, c]:g} is not an answer "
            f"1..{inventory.points}"
        )
    return raw
