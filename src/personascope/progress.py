"""Progress on long work: a rich bar on a terminal, plain lines in logs and pipes.

Both show done/total, the rate and the time remaining. Plain lines are written at most
once a second (and at the end) so that CI logs stay short and a supervising process can
follow a run line by line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Tracker(Protocol):
    def advance(self, n: int) -> None: ...


class _RichTracker:
    def __init__(self, bar: Progress, label: str, total: int, done: int) -> None:
        self._bar = bar
        self._task = bar.add_task(label, total=total, completed=done, rate="")
        self._started = time.perf_counter()
        self._executed = 0

    def advance(self, n: int) -> None:
        self._executed += n
        rate = self._executed / max(time.perf_counter() - self._started, 1e-9)
        self._bar.update(self._task, advance=n, rate=f"{rate:.1f}/s")


class _LineTracker:
    def __init__(self, label: str, total: int, done: int, enabled: bool) -> None:
        self._label, self._total, self._done = label, total, done
        self._enabled = enabled
        self._started = self._last = time.perf_counter()
        self._executed = 0

    def advance(self, n: int) -> None:
        self._done += n
        self._executed += n
        now = time.perf_counter()
        if not self._enabled or (now - self._last < 1.0 and self._done < self._total):
            return
        self._last = now
        rate = self._executed / max(now - self._started, 1e-9)
        eta = (self._total - self._done) / rate if rate > 0 else float("inf")
        print(
            f"{self._label}: {self._done}/{self._total} ({rate:.2f}/s, eta {eta:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


@contextmanager
def track(label: str, total: int, done: int = 0, enabled: bool = True) -> Iterator[Tracker]:
    """A progress tracker for ``total`` units of work of which ``done`` are already done."""
    console = Console(stderr=True)
    if enabled and console.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as bar:
            yield _RichTracker(bar, label, total, done)
    else:
        yield _LineTracker(label, total, done, enabled)
