"""A real team server on a real port, in a thread of the test process (uvicorn)."""

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cmf_core.auth import create_token
from cmf_core.store import Store
from cmf_mcp.http.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_tokens(store_url: str, *names: str, scope: str = "write") -> dict[str, str]:
    """A token per name (each a site), of ``scope``; secrets by name."""
    with Store(store_url) as store:
        return {name: create_token(store, name, scope)[1] for name in names}


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve the ASGI ``app`` on 127.0.0.1 (``port``, else a free one) until the block
    ends; yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(2000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def live_server(store_url: str, project: Path, **options: Any) -> Iterator[str]:
    """The team server on ``store_url`` for ``project``, served until the block ends."""
    project.mkdir(parents=True, exist_ok=True)
    (project / ".cmf").mkdir(exist_ok=True)
    options.setdefault("mcp", False)
    port = free_port()
    with serving(create_app(store_url, project_root=project, port=port, **options), port) as base:
        yield base


def wait_ready(base: str, process: "subprocess.Popen[bytes]", log: Path | None = None) -> None:
    """Poll ``base``/readyz until the server process answers (or exits: its log is shown)."""
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(log.read_text() if log else "the server exited")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
    raise AssertionError("the server never answered /readyz")
