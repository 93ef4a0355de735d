"""Files the user cache holds: its folder, memoised file hashes, and the manifests that
verify a converted or exported model folder (shared by the model layer and the embedder)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST = "personascope-manifest.json"


def user_cache_dir() -> Path:
    """``$PERSONASCOPE_CACHE`` or ``~/.cache/personascope``."""
    root = os.environ.get("PERSONASCOPE_CACHE") or Path.home() / ".cache" / "personascope"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, memoised in the user cache by (path, size, mtime)."""
    stat = path.stat()
    memo_file = user_cache_dir() / "file-hashes.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    memo_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    memo[memo_key] = digest.hexdigest()
    tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_file)
    return memo[memo_key]


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds a manifest whose files all exist with the recorded
    sizes and SHA-256 hashes (hashes are memoised by path, size and mtime)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        for name, entry in files.items():
            path = folder / name
            if path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(files)
