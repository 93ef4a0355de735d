"""Inventories as data: the shipped files, their keys, and errors for malformed files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from personascope.errors import InputFileError
from personascope.instruments.inventory import (
    DATA_DIR,
    FORMAT,
    content_hash,
    load_inventory,
    read_inventory_file,
)

HUMAN_DIR = Path(__file__).resolve().parents[2] / "shared/data/human"
CODEBOOK = HUMAN_DIR / "ipip50_openpsychometrics_codebook.txt"


def _codebook() -> dict[str, tuple[str, int]]:
    if not CODEBOOK.is_file():
        pytest.skip(f"the IPIP-50 codebook is not at {CODEBOOK}")
    entries = {}
    for line in CODEBOOK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([ENACO]\d+)\t(.*)\(([+-])\)\s*$", line)
        if match:
            entries[match.group(1)] = (match.group(2), 1 if match.group(3) == "+" else -1)
    return entries


def test_ipip50_matches_the_codebook_with_neuroticism_reversed():
    codebook = _codebook()
    inv = load_inventory("ipip50")
    assert len(codebook) == 50
    assert set(inv.item_ids) == set(codebook)
    for item in inv.items:
        text, key = codebook[item.id]
        assert item.text == text
        assert item.domain == item.id[0]
        # the codebook keys N as emotional stability; the inventory as neuroticism
        assert item.key == (-key if item.domain == "N" else key), item.id


def test_ipip50_neuroticism_items_point_the_usual_way():
    inv = load_inventory("ipip50")
    by_id = {item.id: item for item in inv.items}
    assert by_id["N1"].text == "I get stressed out easily." and by_id["N1"].key == 1
    assert by_id["N2"].text == "I am relaxed most of the time." and by_id["N2"].key == -1
    assert inv.domain_names["N"] == "Neuroticism"


def test_mini_ipip_is_twenty_ipip50_items_four_per_domain():
    mini, full = load_inventory("mini_ipip"), load_inventory("ipip50")
    by_id = {item.id: item for item in full.items}
    assert len(mini.items) == 20
    for item in mini.items:
        assert by_id[item.id] == item
    for d in mini.domains:
        assert len(mini.domain_indices(d)) == 4
    # Donnellan et al. (2006), Appendix: the 20 items in order
    assert mini.item_ids == (
        "E1", "A4", "C5", "N8", "O3", "E2", "A5", "C6", "N2", "O4",
        "E7", "A9", "C7", "N6", "O2", "E4", "A7", "C4", "N4", "O6",
    )  # fmt: skip


def test_ipip_neo_120_structure_and_keys():
    inv = load_inventory("ipip_neo_120")
    assert len(inv.items) == 120 and len(inv.facets) == 30
    for f in inv.facets:
        assert len(inv.facet_indices(f)) == 4
        assert inv.facet_domain(f) == f[0]
    # positively keyed items per domain in Johnson's (2014) key
    plus = {d: sum(inv.items[i].key > 0 for i in inv.domain_indices(d)) for d in inv.domains}
    assert plus == {"N": 17, "E": 18, "O": 12, "A": 7, "C": 11}
    assert {inv.items[i].key for i in inv.facet_indices("A2")} == {-1}  # Morality
    assert {inv.items[i].key for i in inv.facet_indices("C6")} == {-1}  # Cautiousness
    assert inv.items[0].text == "Worry about things" and inv.items[0].facet == "N1"
    assert inv.items[29].text == "Jump into things without thinking"
    assert inv.facet_names["O6"] == "Liberalism"
    assert inv.statement(inv.items[0]) == "I worry about things."
    assert inv.statement(inv.items[16]) == "I am always busy."


@pytest.mark.parametrize("name", ["ipip50", "mini_ipip", "ipip_neo_120"])
def test_shipped_files_carry_their_content_hash(name):
    document = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert document["content_hash"] == content_hash(document)
    assert load_inventory(name).content_hash == document["content_hash"]


def _user_file(tmp_path: Path, mutate=None, text: str | None = None) -> Path:
    document = {
        "format": FORMAT,
        "id": "mine",
        "name": "My scale",
        "source": "test",
        "citation": "nobody",
        "stem_style": "stem",
        "scale": {"labels": ["no", "maybe", "yes"]},
        "domains": [{"code": "X", "name": "Xness"}],
        "items": [
            {"id": "x1", "text": "Like tests", "domain": "X", "facet": None, "key": 1},
            {"id": "x2", "text": "Avoid tests", "domain": "X", "facet": None, "key": -1},
            {"id": "x3", "text": "Write tests", "domain": "X", "facet": None, "key": 1},
        ],
    }
    if mutate:
        mutate(document)
    path = tmp_path / "mine.json"
    path.write_text(text if text is not None else json.dumps(document, indent=2))
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_a_user_inventory_loads_from_a_path(tmp_path):
    inv = load_inventory(str(_user_file(tmp_path)))
    assert inv.points == 3 and inv.item_ids == ("x1", "x2", "x3")
    assert inv.statement(inv.items[1]) == "I avoid tests."
    assert inv.content_hash.startswith("sha256:")


def test_a_bad_key_names_the_line_and_the_field(tmp_path):
    path = _user_file(tmp_path, lambda d: d["items"][2].update(key=0))
    with pytest.raises(InputFileError) as info:
        read_inventory_file(path)
    message = str(info.value)
    # the item object opens on the line before its "id"
    line = _line_of(path, '"id": "x3"') - 1
    assert f"{path}:{line}:" in message
    assert "items[2].key" in message and "must be 1 or -1" in message


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["items"][1].update(domain="Y"), "items[1].domain"),
        (lambda d: d["items"][1].update(id="x1"), "items[1].id"),
        (lambda d: d["items"][0].pop("text"), "items[0].text"),
        (lambda d: d["items"][0].update(facet="F1"), "items[0].facet"),
        (lambda d: d.update(format="something/2"), "format"),
        (lambda d: d["scale"].update(labels=["only one"]), "scale.labels"),
        (lambda d: d.update(content_hash="sha256:0"), "content_hash"),
    ],
)
def test_malformed_fields_are_named(tmp_path, mutate, field):
    path = _user_file(tmp_path, mutate)
    with pytest.raises(InputFileError, match=re.escape(field)):
        read_inventory_file(path)


def test_invalid_json_names_the_line(tmp_path):
    path = _user_file(tmp_path, text='{\n  "format": "x",\n  "id": oops\n}')
    with pytest.raises(InputFileError, match=rf"{re.escape(str(path))}:3: not valid JSON"):
        read_inventory_file(path)


def test_unknown_inventory_names_the_choices():
    with pytest.raises(InputFileError, match="ipip50, mini_ipip, ipip_neo_120"):
        load_inventory("bfi-44")
