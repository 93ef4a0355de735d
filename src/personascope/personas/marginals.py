"""Demographics that match user-supplied marginal tables: iterative proportional fitting.

The user gives a *seed table* (rows of attribute combinations, e.g. a survey sample,
with optional weights) and *marginals*: target totals for one attribute or a crosstab of
several. Iterative proportional fitting (IPF; Deming & Stephan 1940) rescales the seed
weights, one marginal at a time, until every marginal is met:

    for each marginal m and each of its cells c:
        w_r <- w_r * T_m(c) / sum_{r' in c} w_{r'}     for every row r in cell c

It keeps the seed's association structure where the marginals are silent (IPF gives the
table closest to the seed in Kullback-Leibler divergence among those with the target
margins; Ireland & Kullback 1968). Personas are then drawn from the fitted weights.

Inconsistent input is an error naming the file and field: marginals whose totals
disagree (no table can meet them all), a category in a marginal that the seed table
never has (IPF cannot create it), or a seed category a marginal does not list.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from personascope.config import StrictModel
from personascope.errors import InputFileError
from personascope.personas.config import SamplerConfig

TOTAL_TOLERANCE = 1e-6


class Marginal(StrictModel):
    """Target totals for one attribute (``{value: total}``) or a crosstab of several
    (nested mappings, outer key = first attribute)."""

    attributes: list[str] = Field(min_length=1)
    totals: dict[str, Any]

    def cells(self) -> dict[tuple[str, ...], float]:
        """The flat ``{(v1, v2, ...): total}`` form, depth-checked."""
        flat: dict[tuple[str, ...], float] = {}

        def walk(node: Any, path: tuple[str, ...]) -> None:
            if len(path) == len(self.attributes):
                if isinstance(node, bool) or not isinstance(node, int | float):
                    raise ValueError(f"totals for {path}: {node!r} is not a number")
                if not math.isfinite(node) or node < 0:
                    raise ValueError(f"totals for {path}: {node!r} must be finite and >= 0")
                flat[path] = float(node)
                return
            if not isinstance(node, dict):
                raise ValueError(
                    f"totals: expected {len(self.attributes)} nested levels "
                    f"({', '.join(self.attributes)}), got a value at {path or 'the top'}"
                )
            for key, child in node.items():
                walk(child, (*path, str(key)))

        walk(self.totals, ())
        return flat

    @model_validator(mode="after")
    def _check(self) -> Marginal:
        cells = self.cells()
        if sum(cells.values()) <= 0:
            raise ValueError("totals sum to 0")
        return self


class MarginalsConfig(StrictModel):
    """A marginals file: the seed table (CSV path relative to the file, or inline rows),
    its weight column, and the marginals to match."""

    seed_table: str | None = None
    rows: list[dict[str, Any]] | None = None
    weight_column: str | None = None
    marginals: list[Marginal] = Field(min_length=1)
    max_iterations: int = Field(1000, ge=1)
    tolerance: float = Field(1e-9, gt=0)
    max_options: int = Field(5, ge=2, le=9)
    sampler: SamplerConfig = SamplerConfig(max_tokens=120)

    @model_validator(mode="after")
    def _check(self) -> MarginalsConfig:
        if (self.seed_table is None) == (self.rows is None):
            raise ValueError("give either seed_table (a CSV file) or rows (inline), not both")
        return self

    @field_validator("marginals")
    @classmethod
    def _totals_agree(cls, marginals: list[Marginal]) -> list[Marginal]:
        totals = [sum(m.cells().values()) for m in marginals]
        for i, total in enumerate(totals[1:], start=1):
            if abs(total - totals[0]) > TOTAL_TOLERANCE * max(1.0, totals[0]):
                raise ValueError(
                    f"marginals.{i}.totals sum to {total:g} but marginals.0.totals sum to "
                    f"{totals[0]:g}: marginals whose totals disagree cannot all be met"
                )
        return marginals


@dataclass(frozen=True)
class SeedTable:
    attributes: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    weights: np.ndarray


def read_seed_table(config: MarginalsConfig, source: Path) -> SeedTable:
    """The seed rows and weights; errors name the CSV file and line."""
    if config.rows is not None:
        records = [dict(r) for r in config.rows]
        where = [f"{source}: rows.{i}" for i in range(len(records))]
    else:
        path = (source.parent / (config.seed_table or "")).resolve()
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                records = list(csv.DictReader(handle))
        except OSError as exc:
            raise InputFileError(
                f"{source}: seed_table: cannot read {path}: {exc.strerror}"
            ) from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputFileError(
                f"{source}: seed_table: {path} is not a UTF-8 CSV ({exc})"
            ) from exc
        where = [f"{path}:{i + 2}" for i in range(len(records))]
    if not records:
        raise InputFileError(f"{source}: the seed table has no rows")
    weight_key = config.weight_column
    attributes = tuple(k for k in records[0] if k != weight_key)
    rows, weights = [], []
    for record, at in zip(records, where):
        if set(record) != set(records[0]) or None in record.values():
            raise InputFileError(f"{at}: the row does not have the columns of the first row")
        weight = 1.0
        if weight_key is not None:
            if weight_key not in record:
                raise InputFileError(f"{at}: no weight column {weight_key!r}")
            try:
                weight = float(record[weight_key])
            except (TypeError, ValueError):
                raise InputFileError(
                    f"{at}: {weight_key} {record[weight_key]!r} is not a number"
                ) from None
            if not math.isfinite(weight) or weight < 0:
                raise InputFileError(f"{at}: {weight_key} must be finite and >= 0")
        rows.append({a: str(record[a]).strip() for a in attributes})
        weights.append(weight)
    return SeedTable(attributes, tuple(rows), np.asarray(weights, dtype=float))


@dataclass(frozen=True)
class IPFResult:
    weights: np.ndarray
    iterations: int
    max_abs_error: float
    converged: bool


def ipf(
    seed: SeedTable,
    marginals: list[Marginal],
    source: str,
    max_iterations: int = 1000,
    tolerance: float = 1e-9,
) -> IPFResult:
    """Fit the seed weights to the marginals (see the module docstring).

    Convergence: the largest absolute difference between a fitted and a target cell
    total, relative to the grand total, is below ``tolerance``.
    """
    cell_rows: list[dict[tuple[str, ...], np.ndarray]] = []
    targets: list[dict[tuple[str, ...], float]] = []
    for i, marginal in enumerate(marginals):
        missing = [a for a in marginal.attributes if a not in seed.attributes]
        if missing:
            raise InputFileError(
                f"{source}: marginals.{i}.attributes: {missing[0]!r} is not a seed table "
                f"column (columns: {', '.join(seed.attributes)})"
            )
        cells = marginal.cells()
        keys = [tuple(row[a] for a in marginal.attributes) for row in seed.rows]
        members = {cell: np.array([k == cell for k in keys]) for cell in cells}
        for cell, total in cells.items():
            if total > 0 and not (members[cell] & (seed.weights > 0)).any():
                raise InputFileError(
                    f"{source}: marginals.{i}.totals: {'/'.join(cell)} has a target of "
                    f"{total:g} but no seed row with weight > 0"
                )
        unlisted = sorted(set(keys) - set(cells))
        if unlisted:
            raise InputFileError(
                f"{source}: marginals.{i}.totals: seed table value {'/'.join(unlisted[0])} "
                f"of {', '.join(marginal.attributes)} has no target"
            )
        cell_rows.append(members)
        targets.append(cells)
    grand = sum(targets[0].values())
    weights = seed.weights * (grand / seed.weights.sum())
    error = math.inf
    for iteration in range(1, max_iterations + 1):
        for members, cells in zip(cell_rows, targets):
            for cell, total in cells.items():
                current = weights[members[cell]].sum()
                weights[members[cell]] *= total / current if current > 0 else 0.0
        error = max(
            abs(weights[members[c]].sum() - t)
            for members, cells in zip(cell_rows, targets)
            for c, t in cells.items()
        )
        if error <= tolerance * grand:
            return IPFResult(weights, iteration, error, True)
    return IPFResult(weights, max_iterations, error, False)
