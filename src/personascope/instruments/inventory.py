"""Inventories as data: one JSON format for every questionnaire, validated on load.

A file in the format ``personascope-inventory/1`` holds::

    {
      "format": "personascope-inventory/1",
      "id": "ipip50", "name": "...", "source": "https://...", "citation": "...",
      "license": "public domain", "notes": ["..."],
      "stem_style": "sentence" | "stem",
      "scale": {"labels": ["Very inaccurate", ..., "Very accurate"]},
      "domains": [{"code": "O", "name": "Openness"}, ...],
      "facets": [{"code": "O1", "name": "Imagination", "domain": "O"}, ...],   (optional)
      "items": [{"id": "O1", "text": "...", "domain": "O", "facet": null, "key": 1}, ...],
      "content_hash": "sha256:..."                                               (optional)
    }

``key`` is +1 when agreeing with the item means more of the domain, -1 when it means
less (a reverse-keyed item). ``stem_style`` says how an item is put to a respondent:
``sentence`` items are full sentences ("I am the life of the party."), ``stem`` items are
IPIP stems that take an implied "I" ("Worry about things" -> "I worry about things.").
The content hash is the SHA-256 of the file's canonical JSON (sorted keys, no spaces)
without the ``content_hash`` field; it identifies the exact item texts and keys that
produced a score. A malformed file raises :class:`InputFileError` naming the line and
the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from personascope.errors import InputFileError
from personascope.models.base import canonical_json
from personascope.safejson import parse_json

FORMAT = "personascope-inventory/1"
DATA_DIR = Path(__file__).parent / "data"
SHIPPED: dict[str, str] = {
    "ipip50": "ipip50.json",
    "mini_ipip": "mini_ipip.json",
    "ipip_neo_120": "ipip_neo_120.json",
}
ALIASES: dict[str, str] = {
    "ipip-50": "ipip50",
    "mini-ipip": "mini_ipip",
    "miniipip": "mini_ipip",
    "ipip-neo-120": "ipip_neo_120",
    "neo120": "ipip_neo_120",
}
_ID = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    domain: str
    facet: str | None
    key: int  # +1 or -1


@dataclass(frozen=True)
class Inventory:
    id: str
    name: str
    source: str
    citation: str
    license: str
    stem_style: str
    scale_labels: tuple[str, ...]
    domains: tuple[str, ...]
    domain_names: dict[str, str]
    facets: tuple[str, ...]
    facet_names: dict[str, str]
    items: tuple[Item, ...]
    content_hash: str
    notes: tuple[str, ...] = ()
    path: str | None = field(default=None, compare=False)

    @property
    def points(self) -> int:
        """Number of answer options (5 for a 1-5 Likert scale)."""
        return len(self.scale_labels)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def keys(self) -> np.ndarray:
        """The +1/-1 key of every item, in item order."""
        return np.array([item.key for item in self.items], dtype=float)

    def statement(self, item: Item) -> str:
        """The item as put to a respondent: the sentence, or "I " + stem + "."."""
        if self.stem_style == "sentence":
            return item.text
        stem = item.text.rstrip(".")
        return f"I {stem[0].lower()}{stem[1:]}."

    def domain_indices(self, domain: str) -> list[int]:
        return [i for i, item in enumerate(self.items) if item.domain == domain]

    def facet_indices(self, facet: str) -> list[int]:
        return [i for i, item in enumerate(self.items) if item.facet == facet]

    def facet_domain(self, facet: str) -> str:
        return next(item.domain for item in self.items if item.facet == facet)

    def provenance(self) -> dict[str, Any]:
        """What a score must carry to say which instrument produced it."""
        return {
            "inventory": self.id,
            "name": self.name,
            "n_items": len(self.items),
            "content_hash": self.content_hash,
            "citation": self.citation,
        }


# --- JSON with line numbers -------------------------------------------------------------


class _Located(dict):
    """A JSON object that remembers the line it starts on."""

    line: int = 0


def _locating_decoder(text: str) -> json.JSONDecoder:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    decoder = json.JSONDecoder()

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[_Located, int]:
        obj, end = json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
        located = _Located(obj)
        located.line = bisect_right(starts, s_and_end[1] - 1)
        return located, end

    decoder.parse_object = parse_object  # type: ignore[assignment]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def _line(obj: Any) -> int:
    return obj.line if isinstance(obj, _Located) else 0


def content_hash(document: dict[str, Any]) -> str:
    """``sha256:`` + SHA-256 of the canonical JSON of ``document`` minus ``content_hash``."""
    payload = {k: v for k, v in document.items() if k != "content_hash"}
    return "sha256:" + hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, obj: Any, where: str, message: str) -> InputFileError:
        line = _line(obj)
        at = f"{self.path}:{line}" if line else self.path
        return InputFileError(f"{at}: {where}: {message}")

    def text(self, obj: dict, key: str, where: str, required: bool = True) -> str:
        value = obj.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(obj, f"{where}.{key}", f"must be a non-empty string, got {value!r}")
        return value

    def listing(self, obj: dict, key: str, where: str, required: bool = True) -> list:
        value = obj.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            raise self.fail(obj, f"{where}.{key}", "must be a non-empty list")
        return value

    def code(self, obj: Any, where: str) -> str:
        if not isinstance(obj, dict):
            raise self.fail(obj, where, "must be an object")
        value = self.text(obj, "code", where)
        if not _ID.fullmatch(value):
            raise self.fail(obj, f"{where}.code", f"{value!r} is not a plain code")
        return value


def parse_inventory(document: Any, path: str = "<inventory>") -> Inventory:
    """Validate a decoded inventory document (see the module docstring)."""
    check = _Checker(path)
    if not isinstance(document, dict):
        raise InputFileError(f"{path}: the file must hold one JSON object")
    if document.get("format") != FORMAT:
        raise check.fail(document, "format", f"must be {FORMAT!r}, got {document.get('format')!r}")
    inv_id = check.text(document, "id", "inventory")
    if not _ID.fullmatch(inv_id):
        raise check.fail(document, "inventory.id", f"{inv_id!r} is not a plain identifier")
    stem_style = document.get("stem_style", "sentence")
    if stem_style not in ("sentence", "stem"):
        raise check.fail(
            document, "inventory.stem_style", f"must be 'sentence' or 'stem', not {stem_style!r}"
        )
    scale = document.get("scale")
    if not isinstance(scale, dict):
        raise check.fail(document, "inventory.scale", "must be an object with 'labels'")
    labels = check.listing(scale, "labels", "scale")
    if len(labels) < 2 or not all(isinstance(x, str) and x.strip() for x in labels):
        raise check.fail(scale, "scale.labels", "must list at least two non-empty labels")
    if len(labels) > 9:
        raise check.fail(scale, "scale.labels", "at most 9 answer options (digits 1-9)")

    domain_names: dict[str, str] = {}
    for i, entry in enumerate(check.listing(document, "domains", "inventory")):
        code = check.code(entry, f"domains[{i}]")
        if code in domain_names:
            raise check.fail(entry, f"domains[{i}].code", f"duplicate domain {code!r}")
        domain_names[code] = check.text(entry, "name", f"domains[{i}]")

    facet_names: dict[str, str] = {}
    facet_domain: dict[str, str] = {}
    for i, entry in enumerate(check.listing(document, "facets", "inventory", required=False)):
        code = check.code(entry, f"facets[{i}]")
        if code in facet_names:
            raise check.fail(entry, f"facets[{i}].code", f"duplicate facet {code!r}")
        facet_names[code] = check.text(entry, "name", f"facets[{i}]")
        domain = entry.get("domain")
        if domain not in domain_names:
            raise check.fail(entry, f"facets[{i}].domain", f"unknown domain {domain!r}")
        facet_domain[code] = domain

    items: list[Item] = []
    seen: set[str] = set()
    for i, entry in enumerate(check.listing(document, "items", "inventory")):
        where = f"items[{i}]"
        if not isinstance(entry, dict):
            raise check.fail(entry, where, "must be an object")
        item_id = check.text(entry, "id", where)
        if not _ID.fullmatch(item_id):
            raise check.fail(entry, f"{where}.id", f"{item_id!r} is not a plain identifier")
        if item_id in seen:
            raise check.fail(entry, f"{where}.id", f"duplicate item id {item_id!r}")
        seen.add(item_id)
        text = check.text(entry, "text", where)
        domain = entry.get("domain")
        if domain not in domain_names:
            raise check.fail(
                entry, f"{where}.domain", f"{domain!r} is not one of {', '.join(domain_names)}"
            )
        facet = entry.get("facet")
        if facet is not None:
            if facet not in facet_names:
                raise check.fail(entry, f"{where}.facet", f"unknown facet {facet!r}")
            if facet_domain[facet] != domain:
                raise check.fail(
                    entry, f"{where}.facet", f"facet {facet!r} belongs to {facet_domain[facet]!r}"
                )
        key = entry.get("key")
        if isinstance(key, bool) or key not in (1, -1):
            raise check.fail(entry, f"{where}.key", f"must be 1 or -1, got {key!r}")
        items.append(Item(item_id, text, domain, facet, int(key)))

    for code in domain_names:
        if not any(item.domain == code for item in items):
            raise check.fail(document, "inventory.domains", f"domain {code!r} has no items")
    for code in facet_names:
        if not any(item.facet == code for item in items):
            raise check.fail(document, "inventory.facets", f"facet {code!r} has no items")

    digest = content_hash(document)
    stated = document.get("content_hash")
    if stated is not None and stated != digest:
        raise check.fail(
            document,
            "inventory.content_hash",
            f"does not match the content (the content hashes to {digest}); "
            "fix the field or remove it",
        )
    notes = document.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise check.fail(document, "inventory.notes", "must be a list of strings")
    return Inventory(
        id=inv_id,
        name=check.text(document, "name", "inventory"),
        source=check.text(document, "source", "inventory"),
        citation=check.text(document, "citation", "inventory"),
        license=check.text(document, "license", "inventory", required=False),
        stem_style=stem_style,
        scale_labels=tuple(labels),
        domains=tuple(domain_names),
        domain_names=domain_names,
        facets=tuple(facet_names),
        facet_names=facet_names,
        items=tuple(items),
        content_hash=digest,
        notes=tuple(notes),
        path=path,
    )


def read_inventory_file(path: Path) -> Inventory:
    """Load and validate an inventory file; errors name the file, the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the inventory file {path}: {exc}") from exc
    document = parse_json(text, str(path), _locating_decoder(text))
    return parse_inventory(document, str(path))


@lru_cache(maxsize=8)
def _shipped(name: str) -> Inventory:
    return read_inventory_file(DATA_DIR / SHIPPED[name])


def load_inventory(name_or_path: str | Path) -> Inventory:
    """A shipped inventory by name (``ipip50``, ``mini_ipip``, ``ipip_neo_120``) or a file."""
    if isinstance(name_or_path, str):
        name = ALIASES.get(name_or_path.lower(), name_or_path.lower())
        if name in SHIPPED:
            return _shipped(name)
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() != ".json" or not path.exists():
        raise InputFileError(
            f"unknown inventory {str(name_or_path)!r}: give one of {', '.join(SHIPPED)} "
            "or the path of an inventory .json file"
        )
    return read_inventory_file(path)


def item_subset(inv: Inventory, per_domain: int | None) -> Inventory:
    """The first ``per_domain`` items of each domain, in inventory order (all when None).

    The subset is a derived inventory with its own id and content hash (sha256 of the
    parent's hash and the kept item ids), so its scores never pass for the full scale's.
    """
    if per_domain is None:
        return inv
    keep = sorted(i for d in inv.domains for i in inv.domain_indices(d)[:per_domain])
    items = tuple(inv.items[i] for i in keep)
    digest = hashlib.sha256(
        (inv.content_hash + "|" + ",".join(item.id for item in items)).encode("utf-8")
    ).hexdigest()
    return replace(
        inv,
        id=f"{inv.id}:first-{per_domain}-per-domain",
        name=f"{inv.name} (first {per_domain} items of each domain)",
        items=items,
        facets=tuple(f for f in inv.facets if any(item.facet == f for item in items)),
        content_hash=f"sha256:{digest}",
        path=None,
    )
