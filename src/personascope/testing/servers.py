"""Real servers on loopback for tests.

* :class:`LlamaServer` runs llama-cpp-python's OpenAI-compatible server
  (``python -m llama_cpp.server``) on a free port and waits until it answers;
* :class:`ScriptedProxy` is a small HTTP server in a thread that answers its first
  requests from a script (503s, 429s with ``Retry-After``, 400s, delays) and forwards the
  rest to an upstream server, recording every request it received;
* :func:`silent_port` listens without ever answering; :func:`closed_port` is a port
  where nothing listens.

Use them as context managers, e.g. in a module-scoped fixture::

    @pytest.fixture(scope="module")
    def server():
        with LlamaServer(smollm2_gguf(), alias="smollm2") as running:
            yield running
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def smollm2_gguf() -> Path:
    """The embedded SmolLM2 GGUF file."""
    from personascope.models.providers import resolve

    path = resolve("llamacpp/smollm2-135m-instruct").path
    assert path is not None
    return path


class LlamaServer:
    """``python -m llama_cpp.server`` serving one GGUF file on a free loopback port.

    ``base_url`` is ``http://127.0.0.1:PORT/v1``; the served model name is ``alias``. The
    server's output goes to ``log_path``; a server that fails to start raises with the end
    of that log. One thread by default: on this 2-core machine shared with other jobs,
    llama.cpp's spinning worker threads made 2-thread runs several times slower.
    """

    def __init__(
        self,
        model: Path,
        alias: str = "model",
        n_ctx: int = 2048,
        n_threads: int = 1,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
    ) -> None:
        self.model = Path(model)
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="llama-server-")
        self.log_path = Path(self._log_dir.name) / "server.log"

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``, e.g. the upstream of a :class:`ScriptedProxy`."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the URL to give an OpenAI-compatible client."""
        return f"{self.root_url}/v1"

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model), "--model_alias", self.alias,
            "--host", LOOPBACK, "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
            "--verbose", "False",
            *self.extra_args,
        ]  # fmt: skip

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> LlamaServer:
        for _ in range(3):  # another process may take the port between probe and bind
            self.port = free_port()
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    self._command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            if self._wait_ready():
                return self
            if self.process.poll() is None:
                break
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"llama-cpp-python server did not start:\n{tail}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log_dir.cleanup()


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, a JSON (or text) body, headers, a delay before it."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request the proxy received: path, decoded JSON body, headers (lower-case), time."""

    path: str
    body: Any
    headers: dict[str, str]
    at: float


class ScriptedProxy:
    """An HTTP server on loopback: scripted replies first, then forwarding to ``upstream``.

    ``upstream`` is a base URL such as ``http://127.0.0.1:PORT`` (the request path is kept);
    with no upstream, requests past the script get a 502. ``received`` lists every request
    in arrival order; ``max_in_flight`` is the largest number handled at the same time.
    """

    def __init__(self, script: Sequence[Reply] = (), upstream: str | None = None) -> None:
        self.script = list(script)
        self.upstream = upstream.rstrip("/") if upstream else None
        self.received: list[Received] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's base URL with ``/v1``, to give to a client."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/v1"

    def _next(self, path: str, body: Any, headers: dict[str, str]) -> Reply | None:
        with self._lock:
            self.received.append(Received(path, body, headers, time.monotonic()))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self.script.pop(0) if self.script else None

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _forward(self, path: str, raw: bytes) -> Reply:
        if self.upstream is None:
            return Reply(502, {"error": {"message": "no upstream"}})
        answer = httpx.post(
            self.upstream + path,
            content=raw,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        return Reply(answer.status_code, answer.content, {"Content-Type": "application/json"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = proxy._next(self.path, body, headers)
                try:
                    if reply is None:
                        reply = proxy._forward(self.path, raw)
                    elif reply.delay:
                        time.sleep(reply.delay)
                    self._send(reply)
                finally:
                    proxy._done()

            def _send(self, reply: Reply) -> None:
                if isinstance(reply.body, bytes):
                    payload = reply.body
                elif isinstance(reply.body, str):
                    payload = reply.body.encode()
                else:
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def __enter__(self) -> ScriptedProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections (in the kernel) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port where nothing listens: connections are refused."""
    return free_port()
