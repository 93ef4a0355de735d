"""Running the real ``personascope`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "personascope.cli"]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


PROGRESS_LINE = re.compile(r"^(?P<label>.*): (?P<done>\d+)/(?P<total>\d+) \(")


def run_until(
    args: list[str],
    done: int,
    sig: int = signal.SIGKILL,
    label: str = "",
    timeout: float = 600,
):
    """Start the CLI, wait for a plain progress line (``label: k/N (...)``, written at most
    once a second, so counts can be skipped) with ``k >= done``, then send ``sig``.

    Returns (exit code, stderr text seen).
    """
    proc = subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    seen: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        match = PROGRESS_LINE.match(line.strip())
        if match and label in match["label"] and int(match["done"]) >= done:
            proc.send_signal(sig)
            break
    _, rest = proc.communicate(timeout=timeout)
    return proc.returncode, "".join(seen) + (rest or "")


def one_error_line(stderr: str) -> str:
    """The stderr of a failed command must be exactly one ``error:`` line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in stderr
    return lines[0]
