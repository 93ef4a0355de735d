"""Open a page in real headless Chromium (Debian's ``chromium``), offline.

Returns the DOM after scripts ran, every console message, every URL the page tried to
fetch (from Chromium's net log, without Chromium's own background hosts), and a
screenshot. Host name resolution is mapped to nowhere, so nothing can be fetched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=8000",
]
_BROWSER_HOSTS = re.compile(r"https?://[^/]*(google\.com|googleapis\.com|gstatic\.com)/")
_CONSOLE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\] (.*)")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    dom: str
    console: list[str]
    fetched: list[str]
    screenshot: Path


def visit(page: Path, screenshot: Path, width: int = 1200, height: int = 2400) -> PageVisit:
    binary = chromium()
    assert binary, "chromium is not installed"
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as tmp:
        netlog = Path(tmp) / "net.json"
        dumped = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={tmp}/a",
                "--enable-logging=stderr",
                "--v=0",
                f"--log-net-log={netlog}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={tmp}/b",
                f"--window-size={width},{height}",
                f"--screenshot={screenshot}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        log = netlog.read_text(errors="replace") if netlog.exists() else "{}"
    urls = set(re.findall(r'"url":"([^"]+)"', log))
    fetched = sorted(u for u in urls if not _BROWSER_HOSTS.match(u) and u != url)
    console = [m.group(1) for m in map(_CONSOLE.search, dumped.stderr.splitlines()) if m]
    return PageVisit(dumped.stdout, console, fetched, screenshot)
