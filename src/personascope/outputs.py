"""Writing outputs safely: one check for output folders, one atomic writer.

Run folders may come from someone else, so an output is never written *through* what is
already at its path: :func:`atomic_output` writes a new temporary file in the target's
folder (created exclusively, so a planted symlink cannot redirect it) and renames it over
the target with ``os.replace``, which replaces a symlink itself rather than the file it
points to. An interrupted write leaves the old file (or nothing), never half a file.
Problems (a path that names a file where a folder is needed, a folder where a file is
needed, no permission) are :class:`PersonascopeError` messages naming the path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from personascope.errors import PersonascopeError


def output_dir(path: Path | str, what: str = "output folder") -> Path:
    """Create ``path`` (and its parents) as a folder; an error if it is something else."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PersonascopeError(f"the {what} {path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PersonascopeError(
            f"cannot create the {what} {path}: a file stands where a folder is needed"
        ) from None
    except OSError as exc:
        raise PersonascopeError(f"cannot create the {what} {path}: {exc.strerror}") from None
    return path


def output_file(path: Path | str) -> Path:
    """Check that ``path`` can be written as a file (its folder is created); call it before
    a long run so that a bad output path fails first."""
    path = Path(path)
    output_dir(path.parent, "folder of the output")
    if path.is_dir() and not path.is_symlink():
        raise PersonascopeError(f"cannot write {path}: it is a folder")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename."""
    path = output_file(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PersonascopeError(f"cannot write {path}: {exc.strerror}") from None
    os.close(handle)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide a report from its readers
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise PersonascopeError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, never through a symlink."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
