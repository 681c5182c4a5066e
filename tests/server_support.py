"""A real team server on a real port, in a thread of the test process (uvicorn)."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
def live_server(store_url: str, project: Path, **options: Any) -> Iterator[str]:
    """Serve ``store_url`` on 127.0.0.1 until the block ends; yields the base URL."""
    project.mkdir(parents=True, exist_ok=True)
    (project / ".cmf").mkdir(exist_ok=True)
    options.setdefault("mcp", False)
    port = free_port()
    app = create_app(store_url, project_root=project, port=port, **options)
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
