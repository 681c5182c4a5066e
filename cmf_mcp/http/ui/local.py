"""``cmf ui``: the web UI alone, over the local store opened read-only, on 127.0.0.1.

Nothing else is served (no REST, no sync, no MCP) and the store is never
written. On the loopback address no token is needed, and the Host header must
name the loopback (so a web page elsewhere cannot reach it by DNS rebinding);
bound to any other address, every page needs a signed-in token as on the team
server.
"""

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from cmf_core.store import Store
from cmf_mcp.http import problems
from cmf_mcp.http.ui.pages import install

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_ui_app(store_url: str, project_root: Path, *, host: str = "127.0.0.1") -> FastAPI:
    """The UI on ``store_url`` (read-only); open without a token when ``host`` is loopback."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(lambda: Store(store_url, read_only=True))
        app.state.store = store
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="cmf ui", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.project_root = project_root
    problems.install(app)
    is_open = is_loopback(host)
    install(app, is_open=is_open)
    if is_open:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_NAMES))
    return app


def serve_ui(store_url: str, project_root: Path, *, host: str, port: int) -> None:
    """Run the UI under uvicorn until interrupted."""
    import uvicorn

    app = create_ui_app(store_url, project_root, host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


__all__ = ["create_ui_app", "is_loopback", "serve_ui"]
