"""Configuration files: YAML in, validated pydantic models out (shared by every config).

Every config model derives from :class:`StrictModel`, which forbids unknown keys, so a
typo (``valuse:``) is an error naming the file and the field path (``layers.yaml:
layers.2.valuse: unknown key``) rather than a silently ignored setting. Semantic checks
(probabilities that do not sum to 1, marginals whose totals disagree) raise
``ValueError`` inside the models and come out the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from personascope.errors import InputFileError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """A config model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")


def error_message(source: str, exc: ValidationError) -> str:
    """``source: field.path: message`` for the first problem pydantic found (an unknown
    key first: a typo in a key also makes the intended key look missing)."""
    errors = exc.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    message = message.removeprefix("Value error, ")
    return f"{source}: {where}: {message}" if where else f"{source}: {message}"


def validate_config(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` against ``model``; errors name ``source`` and the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputFileError(error_message(source, exc)) from exc


def read_yaml(path: Path | str) -> Any:
    """Parse a UTF-8 YAML file; syntax errors name the file and line.

    A file that is not UTF-8 text, or nests deeper than the parser's recursion allows, is
    an ``InputFileError`` like any other malformed config."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read the config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise InputFileError(f"{path}: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputFileError(f"{path}{line}: {problem}") from exc


def read_settings(path: Path | str) -> dict[str, Any]:
    """A YAML file of settings (``audit.yaml``, a strategy config) as a mapping.

    An empty file, or one holding only comments, gives no settings (all defaults); any
    other top level (a list, a number, a string) is an ``InputFileError`` naming the
    file."""
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
