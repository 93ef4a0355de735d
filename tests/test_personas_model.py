"""The persona data model and its files: content-hash ids, extensions, JSONL and Parquet."""

from __future__ import annotations

import hashlib
import json

import pytest

from personascope.errors import InputFileError
from personascope.models.base import canonical_json
from personascope.personas.io import read_personas, write_personas
from personascope.personas.persona import Persona, Provenance, Turn


def make(**extra):
    return Persona(
        description="A night-shift nurse who paints on weekends.",
        name="Ana Ruiz",
        age=41,
        gender="female",
        occupation="nurse",
        big_five={"O": 62.5, "C": 48.0, "E": 39.1, "A": 55.0, "N": 51.2},
        context={"formality": "casual"},
        attributes={"topic": "health"},
        provenance=Provenance(strategy="layered", model_id="m", seed=3, sampler={"temperature": 1}),
        **extra,
    )


def test_id_is_the_sha256_of_the_canonical_defining_content():
    persona = make()
    content = {
        "description": "A night-shift nurse who paints on weekends.",
        "name": "Ana Ruiz",
        "age": 41,
        "gender": "female",
        "occupation": "nurse",
        "big_five": {"O": 62.5, "C": 48.0, "E": 39.1, "A": 55.0, "N": 51.2},
        "context": {"formality": "casual"},
        "attributes": {"topic": "health"},
    }
    expected = hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
    assert persona.id == expected


def test_provenance_does_not_change_the_id_but_content_does():
    a, b = make(), make()
    b.provenance = Provenance(strategy="naive", seed=99)
    assert Persona.model_validate(b.model_dump()).id == a.id
    assert make(hobby="chess").id != a.id
    assert Persona(description="x").id != Persona(description="y").id


def test_a_given_id_is_kept():
    assert Persona(id="user-7", description="x").id == "user-7"


def test_user_fields_survive_jsonl_and_parquet(tmp_path):
    personas = [
        make(hobby="chess", scores=[1, 2]),
        Persona(
            description="Simulated user.",
            turns=[Turn(index=0, intent="request", user="hi", assistant="hello", latent={"a": 1})],
        ),
    ]
    for name in ("p.jsonl", "p.parquet"):
        path = write_personas(tmp_path / name, personas)
        back = read_personas(path)
        assert [p.model_dump() for p in back] == [p.model_dump() for p in personas]
        assert back[0].model_extra == {"hobby": "chess", "scores": [1, 2]}


def test_subclass_schema(tmp_path):
    class Respondent(Persona):
        panel_wave: int

    path = tmp_path / "r.jsonl"
    write_personas(path, [Respondent(description="x", panel_wave=2)])
    assert read_personas(path, model=Respondent)[0].panel_wave == 2
    path.write_text('{"description": "y", "panel_wave": "two"}\n')
    with pytest.raises(InputFileError, match=r"r\.jsonl:1: field 'panel_wave'"):
        read_personas(path, model=Respondent)


def test_malformed_line_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"description": "fine"})
    path.write_text(f"{good}\n\n{good}\n{{not json\n")
    with pytest.raises(InputFileError, match=r"bad\.jsonl:4: not valid JSON"):
        read_personas(path)
    path.write_text(f'{good}\n{{"description": "x", "age": "old"}}\n')
    with pytest.raises(InputFileError, match=r"bad\.jsonl:2: field 'age'"):
        read_personas(path)
    path.write_text('{"name": "no description"}\n')
    with pytest.raises(InputFileError, match=r"bad\.jsonl:1: field 'description'"):
        read_personas(path)
    path.write_text('{"description": "x", "big_five": {"Q": 50}}\n')
    with pytest.raises(InputFileError, match=r"field 'big_five'.*unknown Big Five domain"):
        read_personas(path)


def test_empty_population_and_unknown_suffix(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputFileError, match="no personas"):
        read_personas(empty)
    assert read_personas(empty, allow_empty=True) == []
    with pytest.raises(InputFileError, match=r"unknown persona file type '\.csv'"):
        write_personas(tmp_path / "p.csv", [make()])
    with pytest.raises(InputFileError, match="no such persona file"):
        read_personas(tmp_path / "missing.parquet")


def test_parquet_from_another_tool_is_read_column_by_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "other.parquet"
    pq.write_table(
        pa.table({"description": ["a", "b"], "age": [30, None], "note": ["42", "x"]}), path
    )
    back = read_personas(path)
    assert [p.age for p in back] == [30, None]
    assert back[0].model_extra == {"note": "42"}  # a plain string column is not JSON-decoded
