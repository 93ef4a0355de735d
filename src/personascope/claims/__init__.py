"""The claims table: for the models audited, which of the field's claims hold.

Each claim (``claims.yaml``, docs/claims.md) names a study and one or more measures: a
path into that study's per-model findings, compared with a named threshold. Per model (or
per base/tuned pair) a claim gets one status:

* ``supported``: every measure's 95% interval lies on the claim's side of its threshold;
* ``contradicted``: some interval lies wholly on the other side;
* ``inconclusive``: an interval spans the threshold, or an estimate has no interval;
* ``not measurable``: an estimate is missing, or its validity verdict is invalid or not
  measured (the reason is given);
* ``not run``: the study is not in this run.

A difference (tuned minus base, or one strategy minus another) gets the normal-
approximation interval ``d +- z sqrt(se_a^2 + se_b^2)`` with ``se = (high - low) / (2 z)``
read from each estimate's 95% interval (independent samples). The table is built from
stored findings alone; it never says "supported" of a missing or invalid measurement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from personascope.defaults import DEFAULT_BASE_MODEL
from personascope.errors import PersonascopeError
from personascope.findings import Findings, is_estimate
from personascope.metrics.estimate import estimate_dict

CLAIMS_FILE = Path(__file__).parent / "claims.yaml"
Z95 = 1.959964

# Named thresholds (docs/claims.md gives each one's rationale).
THRESHOLDS: dict[str, float] = {
    "ZERO": 0.0,  # a difference or a rate: any effect in the claimed direction
    "HALF": 0.5,  # a share of variance: persona explains at most half
    "FULL_MOVEMENT": 1.0,  # a movement ratio: measured moves less than the targets do
    "MINUS_TENTH": -0.1,  # persistence under pressure minus control: at most 0.1 lost
}

Status = Literal["supported", "contradicted", "inconclusive", "not measurable", "not run"]
STATUSES: tuple[str, ...] = (
    "supported",
    "contradicted",
    "inconclusive",
    "not measurable",
    "not run",
)
INVALID_VERDICTS = ("invalid", "not measured")


@dataclass(frozen=True)
class Measure:
    """One estimate a claim reads: ``kind`` value, pair or contrast (see claims.yaml)."""

    kind: Literal["value", "pair", "contrast"]
    path: str
    side: Literal["below", "above"]
    threshold: str
    minus: str | None = None
    validity: str | None = None

    @property
    def threshold_value(self) -> float:
        return THRESHOLDS[self.threshold]


@dataclass(frozen=True)
class Claim:
    number: int
    claim: str
    study: str
    measures: tuple[Measure, ...]


@dataclass
class ClaimRow:
    """One claim for one model (or base/tuned pair): its status and the evidence."""

    number: int
    claim: str
    study: str
    status: Status
    models: str = "-"
    estimates: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    caveat: str = ""


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    """The claims of a YAML file, checked (a bad entry is an error naming it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PersonascopeError(f"cannot read claims file {path}: {exc}") from exc
    if not isinstance(data, list):
        raise PersonascopeError(f"{path}: expected a list of claims")
    return [_claim(entry, f"{path}: claim {i + 1}") for i, entry in enumerate(data)]


def _claim(entry: Any, where: str) -> Claim:
    try:
        measures = tuple(Measure(**m) for m in entry["measures"])
        claim = Claim(int(entry["number"]), str(entry["claim"]), str(entry["study"]), measures)
    except (KeyError, TypeError, ValueError) as exc:
        raise PersonascopeError(f"{where}: {exc}") from exc
    for m in measures:
        if m.kind not in ("value", "pair", "contrast") or m.side not in ("below", "above"):
            raise PersonascopeError(f"{where}: measure kind or side of {m.path!r} is unknown")
        if m.threshold not in THRESHOLDS:
            raise PersonascopeError(f"{where}: unknown threshold {m.threshold!r}")
        if (m.kind == "contrast") != (m.minus is not None):
            raise PersonascopeError(f"{where}: a contrast (and only a contrast) has `minus`")
    if len({m.kind == "pair" for m in measures}) > 1:
        raise PersonascopeError(f"{where}: pair and per-model measures cannot be mixed")
    return claim


def evaluate(
    findings: Mapping[str, Findings],
    kinds: Mapping[str, str],
    claims: Sequence[Claim] | None = None,
) -> list[ClaimRow]:
    """Every claim's rows for the stored findings; ``kinds`` maps a model id to ``base``
    or ``chat`` (pairs are each chat model against each base model)."""
    rows: list[ClaimRow] = []
    for claim in claims if claims is not None else load_claims():
        study = findings.get(claim.study)
        if study is None:
            rows.append(
                ClaimRow(
                    claim.number,
                    claim.claim,
                    claim.study,
                    "not run",
                    reason=f"the {claim.study} study was not in this run",
                )
            )
            continue
        per_model = study.per_model()
        subjects = list(_subjects(claim, per_model, kinds))
        if not subjects:
            rows.append(
                ClaimRow(
                    claim.number,
                    claim.claim,
                    claim.study,
                    "not measurable",
                    reason=_no_subject(claim, per_model),
                )
            )
        for label, caveat, read in subjects:
            rows.append(_row(claim, label, caveat, read))
    return rows


Reader = Any  # (Measure) -> tuple[estimate dict | None, reason]


def _subjects(
    claim: Claim, per_model: Mapping[str, Any], kinds: Mapping[str, str]
) -> Iterable[tuple[str, str, Reader]]:
    if claim.measures[0].kind != "pair":
        for model_id, data in per_model.items():
            yield model_id, "", lambda m, data=data: _measure(m, data)
        return
    bases = [m for m in per_model if kinds.get(m) == "base"]
    tuned = [m for m in per_model if kinds.get(m) == "chat"]
    for b in bases:
        for t in tuned:
            yield (
                f"{t} minus {b}",
                pair_caveat(b, t),
                lambda m, b=b, t=t: _difference(
                    _read(per_model[t], m.path),
                    _read(per_model[b], m.path),
                    f"{m.path}: tuned minus base",
                ),
            )


def _no_subject(claim: Claim, per_model: Mapping[str, Any]) -> str:
    if claim.measures[0].kind == "pair":
        return "needs a base and a tuned (chat) model in the same run"
    return f"the {claim.study} study stored no per-model results"


def pair_caveat(base: str, tuned: str) -> str:
    if tuned.startswith("lab/") and base == DEFAULT_BASE_MODEL:
        return ""  # a lab checkpoint of the base model: a matched pair
    return (
        f"{base} and {tuned} may be different model families: the difference mixes "
        "preference tuning with everything else that differs between them"
    )


def _measure(m: Measure, data: Any) -> tuple[dict[str, Any] | None, str]:
    verdict = _read(data, m.validity) if m.validity else None
    if isinstance(verdict, Mapping) and verdict.get("verdict") in INVALID_VERDICTS:
        return None, f"{m.validity}: {verdict.get('verdict')} ({verdict.get('summary', '')})"
    if m.kind == "contrast":
        assert m.minus is not None
        return _difference(_read(data, m.path), _read(data, m.minus), f"{m.path} - {m.minus}")
    return _checked(_read(data, m.path), m.path)


def _read(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _checked(estimate: Any, path: str) -> tuple[dict[str, Any] | None, str]:
    if not is_estimate(estimate) or estimate.get("value") is None:
        note = estimate.get("note") if isinstance(estimate, Mapping) else None
        return None, f"no estimate at {path}" + (f" ({note})" if note else "")
    return dict(estimate), ""


def _difference(a: Any, b: Any, label: str) -> tuple[dict[str, Any] | None, str]:
    (ea, why_a), (eb, why_b) = _checked(a, label), _checked(b, label)
    if ea is None or eb is None:
        return None, why_a or why_b
    d = float(ea["value"]) - float(eb["value"])
    ses = [_se(e) for e in (ea, eb)]
    ci = None
    if all(s is not None for s in ses):
        half = Z95 * math.sqrt(sum(s * s for s in ses if s is not None))
        ci = (d - half, d + half)
    n = min(int(ea.get("n") or 0), int(eb.get("n") or 0))
    return estimate_dict(d, ci, n, f"{label}; normal-approximation interval"), ""


def _se(estimate: Mapping[str, Any]) -> float | None:
    low, high = estimate.get("low"), estimate.get("high")
    return None if low is None or high is None else (float(high) - float(low)) / (2 * Z95)


def _row(claim: Claim, label: str, caveat: str, read: Reader) -> ClaimRow:
    statuses, estimates, reasons = [], [], []
    for m in claim.measures:
        estimate, why = read(m)
        if estimate is None:
            statuses.append("not measurable")
            reasons.append(why)
            continue
        estimates.append(
            {
                **estimate,
                "path": m.path,
                "side": m.side,
                "threshold": m.threshold,
                "threshold_value": m.threshold_value,
            }
        )
        status, why = _judge(estimate, m)
        statuses.append(status)
        if why:
            reasons.append(why)
    return ClaimRow(
        claim.number,
        claim.claim,
        claim.study,
        _combine(statuses),
        label,
        estimates,
        "; ".join(dict.fromkeys(reasons)),  # one measure's verdict is often every measure's
        caveat,
    )


def _judge(estimate: Mapping[str, Any], m: Measure) -> tuple[str, str]:
    low, high, t = estimate.get("low"), estimate.get("high"), m.threshold_value
    if low is None or high is None:
        return "inconclusive", f"{m.path}: no interval"
    inside, outside = (high < t, low > t) if m.side == "below" else (low > t, high < t)
    if inside:
        return "supported", ""
    if outside:
        return "contradicted", ""
    return "inconclusive", f"{m.path}: the interval spans {m.threshold} = {t:g}"


def _combine(statuses: Sequence[str]) -> Status:
    for status in ("not measurable", "contradicted", "inconclusive"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "supported"
