"""Settings of the OpenAI-compatible backend, read from a spec's options and the
environment (docs/backends.md lists them), and the URL helpers they need."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from personascope.errors import BackendError, ModelNotFoundError
from personascope.models.catalog import ModelSpec

OPENAI_URL = "https://api.openai.com/v1"

Prefill = Literal["drop", "continue_final_message"]


@dataclass(frozen=True)
class HTTPSettings:
    """Where and how to talk to the servers (the API key is never stored in results).

    ``base_urls`` are replicas serving the same model; ``concurrency[i]`` is the number of
    requests in flight to ``base_urls[i]``.
    """

    base_urls: tuple[str, ...]
    api_key: str | None = None
    timeout: float = 30.0
    concurrency: tuple[int, ...] = (4,)
    max_retries: int = 4
    backoff: float = 0.5
    top_logprobs: int = 20
    prefill: Prefill = "drop"
    echo: bool = True
    extra_sampling: bool = True
    logprobs: bool = True


def normalize_base_url(url: str, model_id: str) -> str:
    """``scheme://host[:port]`` -> ``.../v1``; a URL with a path is kept as given."""
    given = url
    url = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ModelNotFoundError(f"{model_id}: base URL {given!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ModelNotFoundError(
            f"{model_id}: base URL {given!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)"
        )
    return url + "/v1" if parsed.path in ("", "/") else url


def parse_base_urls(raw: str | Sequence[str], model_id: str) -> tuple[str, ...]:
    """One or more base URLs (a comma-separated string or a list), each normalised.

    A malformed entry is a one-line error naming its position; a URL listed twice too.
    """
    pieces = raw.split(",") if isinstance(raw, str) else [str(u) for u in raw]
    n = len(pieces)
    urls: list[str] = []
    for i, piece in enumerate(pieces, 1):
        where = model_id if n == 1 else f"{model_id} (endpoint {i} of {n})"
        if not piece.strip():
            raise ModelNotFoundError(f"{where}: empty base URL in {printable(str(raw), 200)!r}")
        url = normalize_base_url(piece, where)
        if url in urls:
            raise ModelNotFoundError(f"{where}: base URL {redact_url(url)!r} is listed twice")
        urls.append(url)
    return tuple(urls)


def parse_concurrency(raw: Any, n: int, model_id: str) -> tuple[int, ...]:
    """Requests in flight per endpoint: one number for all, or one per endpoint
    (``"4,2"``, matching the order of the base URLs)."""
    if raw is None:
        return (4,) * n
    pieces = str(raw).split(",") if not isinstance(raw, (list, tuple)) else list(raw)
    values = tuple(_option({"concurrency": p}, "concurrency", 4, int, 1, model_id) for p in pieces)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise BackendError(
            f"{model_id}: option concurrency={raw!r} gives {len(values)} limits for {n} "
            "base URLs (give one number, or one per URL)"
        )
    return values


def redact_url(url: str) -> str:
    """The URL without any user:password part (safe to store and print)."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


def _option(
    options: Mapping[str, Any], name: str, default: Any, cast: type, minimum: float, model_id: str
) -> Any:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        raise BackendError(f"{model_id}: option {name}={raw!r} is not a {cast.__name__}") from None
    if value < minimum:
        raise BackendError(f"{model_id}: option {name}={raw!r} must be >= {minimum}")
    return value


def _flag(options: Mapping[str, Any], name: str, default: bool, model_id: str) -> bool:
    raw = options.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise BackendError(f"{model_id}: option {name}={raw!r} is not true or false")


def settings_from_spec(spec: ModelSpec, environ: Mapping[str, str] | None = None) -> HTTPSettings:
    """Read :class:`HTTPSettings` from ``spec.options`` with environment fallbacks."""
    env = os.environ if environ is None else environ
    options, model_id = spec.options, spec.model_id
    is_openai = spec.provider == "openai"
    if is_openai:
        url = options.get("base_url") or env.get("OPENAI_BASE_URL") or OPENAI_URL
    else:
        url = (
            options.get("base_url")
            or env.get("PERSONASCOPE_BASE_URL")
            or env.get("OPENAI_BASE_URL")
        )
        if not url:
            raise ModelNotFoundError(
                f"{model_id} needs the server's URL: pass --base-url URL "
                "(or set PERSONASCOPE_BASE_URL)"
            )
    api_key = options.get("api_key") or env.get("OPENAI_API_KEY") or None
    if is_openai and not api_key:
        raise ModelNotFoundError(f"{model_id} needs an API key: set OPENAI_API_KEY")
    prefill = options.get("prefill") or "drop"
    if prefill not in ("drop", "continue_final_message"):
        raise BackendError(
            f"{model_id}: option prefill={prefill!r} must be 'drop' or 'continue_final_message'"
        )
    base_urls = parse_base_urls(url, model_id)
    return HTTPSettings(
        base_urls=base_urls,
        api_key=api_key,
        timeout=_option(options, "timeout", 30.0, float, 0.001, model_id),
        concurrency=parse_concurrency(options.get("concurrency"), len(base_urls), model_id),
        max_retries=_option(options, "max_retries", 4, int, 0, model_id),
        backoff=_option(options, "backoff", 0.5, float, 0.0, model_id),
        top_logprobs=_option(options, "top_logprobs", 20, int, 1, model_id),
        prefill=prefill,
        echo=_flag(options, "echo", not is_openai, model_id),
        extra_sampling=_flag(options, "extra_sampling", not is_openai, model_id),
        logprobs=_flag(options, "logprobs", True, model_id),
    )


def printable(text: str, limit: int) -> str:
    """Untrusted text for a one-line message: whitespace collapsed, control characters
    (terminal escapes) removed, cut to ``limit`` characters."""
    text = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
    return text if len(text) <= limit else text[: limit - 3] + "..."
