"""Property: whatever bytes, JSON or YAML a user file holds, every command that reads one
either succeeds or fails with a :class:`PersonascopeError` (one ``error:`` line, exit 1) --
never another exception (issue 19).

Examples run the CLI in-process (typer's runner) to stay fast; one subprocess per command
checks the real entry point on random bytes. ``generate`` stops at ``--executor none`` (an
error raised after its config has been read); ``audit`` builds its executor before reading
any file, so there the run itself is replaced by :class:`ReachedTheRun`: an input that gets
that far was read, validated and accepted.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from personascope.cli import app
from personascope.errors import PersonascopeError
from personascope.testing.clitools import one_error_line, run_cli

ANSWERS = "answers.csv"
# a model that resolves without loading anything, and a run folder in the example's folder
AUDIT = ["--model", "fake/echo", "--out", "{dir}/run"]

# command line per role of a user file; {file} is the file under test, {dir} its folder
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "diversity": ("personas.jsonl", ["diversity", "{file}", "--no-semantic", "--no-syntax"]),
    "diversity --against": (
        "reference.jsonl",
        ["diversity", "{dir}/good.jsonl", "--against", "{file}", "--no-semantic", "--no-syntax"],
    ),
    # pressure checks that the personas carry the fields it needs
    "audit --personas": (
        "personas.jsonl",
        ["audit", "--personas", "{file}", "--studies", "collapse,pressure", *AUDIT],
    ),
    "audit --config": ("audit.yaml", ["audit", "--config", "{file}", *AUDIT]),
    "generate --config": (
        "strategy.yaml",
        ["generate", "--strategy", "layered", "--config", "{file}", "--executor", "none"],
    ),
    "score": (ANSWERS, ["score", "{file}", "--inventory", "mini_ipip"]),
    "score --inventory": ("inventory.json", ["score", "{dir}/" + ANSWERS, "--inventory", "{file}"]),
    "report": ("run/store.duckdb", ["report", "{dir}/run"]),
    # a port nobody holds: the store is opened, then the first request is refused
    "sample --run-dir": (
        "run/store.duckdb",
        [
            *("sample", "openai-api/x", "-p", "x", "--base-url", "http://127.0.0.1:9"),
            *("-O", "max_retries=0", "--run-dir", "{dir}/run", "-o", "{dir}/s.jsonl"),
        ],
    ),
}

# with the fields the pressure study asks of a persona file
GOOD_PERSONAS = "".join(
    json.dumps(
        {
            **{"id": f"p{i}", "name": f"Sam {w.title()}", "age": 30 + i},
            **{"occupation": f"{w[:-1]} mender", "hometown": f"Town {i}"},
            "description": f"Person {i} fixes {w} on weekends.",
        }
    )
    + "\n"
    for i, w in enumerate(["clocks", "bikes", "boats", "radios", "fences", "roofs"])
)


def args_for(role: str, folder: Path) -> tuple[Path, list[str]]:
    name, template = COMMANDS[role]
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    (folder / "good.jsonl").write_text(GOOD_PERSONAS)
    (folder / ANSWERS).write_text("E1,A1\n1,2\n")
    return target, [a.format(file=target, dir=folder) for a in template]


class ReachedTheRun(Exception):
    """Raised where ``audit`` would start its run: every input was read and accepted."""


def no_run(*args: object, **kwargs: object) -> None:
    raise ReachedTheRun


def check(role: str, content: bytes) -> str | None:
    """Run the command on ``content``: success (None), or a PersonascopeError and exit 1
    (its message, one line)."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch("personascope.audit.RunSession", no_run):
        folder = Path(tmp)
        target, args = args_for(role, folder)
        target.write_bytes(content)
        result = CliRunner().invoke(app, args)
    if isinstance(result.exception, ReachedTheRun):
        return None
    if result.exception is None or isinstance(result.exception, SystemExit):
        assert result.exit_code == 0, (role, result.exit_code, result.output)
        return None
    assert isinstance(result.exception, PersonascopeError), (role, repr(result.exception))
    message = str(result.exception).strip()
    assert result.exit_code == 1 and message and "\n" not in message
    if message.startswith("unknown executor"):  # only generate gets this far: file accepted
        assert role == "generate --config", (role, message)
        return None
    return message


ROLES = list(COMMANDS)
FAST = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# nesting depths around the limits that matter: the reader's (64) and Python's recursion (1000)
DEPTHS = st.sampled_from([2, 64, 65, 1200]) | st.integers(1, 1500)
# PyYAML's parser recurses a few frames per level: 600 levels exhaust Python's stack
YAML_DEPTHS = st.sampled_from([2, 700]) | st.integers(1, 800)
DEEP_PERSONA = ('{"description": "d", "extra": ' + "[" * 1200 + "]" * 1200 + "}").encode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def nested_json(draw) -> bytes:
    """JSON (or JSONL) documents: random values, or brackets nested to a random depth,
    balanced or not, inside a persona record or alone."""
    depth = draw(DEPTHS)
    opener = draw(st.sampled_from(["[", '{"a":', '{"description":']))
    closer = {"[": "]", '{"a":': "}", '{"description":': "}"}[opener]
    balanced = draw(st.booleans())
    deep = opener * depth + "1" + (closer * depth if balanced else "")
    wrapped = draw(
        st.sampled_from(["{}", '{{"id": "x", "description": "d", "extra": {}}}', "[{}]"])
    ).format(deep)
    value = json.dumps(draw(json_values), allow_nan=True)
    lines = draw(st.lists(st.sampled_from([deep, wrapped, value]), min_size=1, max_size=3))
    return "\n".join(lines).encode()


yaml_text = st.text(alphabet=":-[]{}&*!|>'\"#%@ ,?\n\tab1.", max_size=200)


@st.composite
def random_yaml(draw) -> bytes:
    """YAML documents: dumped random values (mappings of known and unknown keys), raw YAML
    punctuation, aliases, deep flow nesting."""
    keys = st.sampled_from(["seed", "models", "studies", "quick", "collapse", "sampler", "layers"])
    mapping = st.dictionaries(keys | st.text(max_size=6), json_values, max_size=4)
    kind = draw(st.sampled_from(["dump", "raw", "alias", "deep"]))
    if kind == "dump":
        return yaml.safe_dump(draw(mapping | json_values), allow_unicode=True).encode()
    if kind == "raw":
        return draw(yaml_text).encode()
    if kind == "alias":
        return b"a: &x [1, 2]\nb: [*x, *x]\nseed: *x\n"
    depth = draw(YAML_DEPTHS)
    return ("seed: " + "[" * depth + "]" * depth).encode()


@pytest.mark.parametrize("role", ROLES)
@FAST
@given(content=st.binary(max_size=600))
@example(content=b"\xff\xfe\x00")
def test_random_bytes_are_read_or_refused_in_one_line(role, content):
    check(role, content)


@pytest.mark.parametrize("role", ROLES)
@FAST
@given(content=nested_json())
@example(content=b"[" * 1200 + b"]" * 1200)
@example(content=DEEP_PERSONA)
def test_random_json_nesting_is_read_or_refused_in_one_line(role, content):
    check(role, content)


@pytest.mark.parametrize("role", ROLES)
@FAST
@given(content=random_yaml())
@example(content=b"seed: " + b"[" * 700 + b"]" * 700)
@example(content=b"# only a comment\n")
@example(content=b"[[1]]\n")
def test_random_yaml_is_read_or_refused_in_one_line(role, content):
    check(role, content)


ONE_PER_COMMAND = ["diversity", "audit --config", "generate --config", "score", "report"]


@pytest.mark.parametrize("role", [*ONE_PER_COMMAND, "sample --run-dir"])
def test_each_command_refuses_random_bytes_in_one_line_through_the_real_entry_point(role):
    with tempfile.TemporaryDirectory() as tmp:
        target, args = args_for(role, Path(tmp))
        target.write_bytes(random.Random(19).randbytes(3000))
        done = run_cli(*args, cwd=Path(tmp))
    assert done.returncode == 1, (role, done.stderr)
    one_error_line(done.stderr)


@pytest.mark.parametrize(
    ("role", "valid"), [("audit --personas", GOOD_PERSONAS), ("audit --config", "seed: 1\n")]
)
def test_the_audit_roles_read_their_file(role, valid):
    """Not vacuous: a valid file gets as far as the run, an invalid one is refused naming it."""
    assert check(role, valid.encode()) is None
    message = check(role, b"[1]\n")
    assert message is not None and COMMANDS[role][0] in message
