"""The team server: ``create_app(...)`` and the ``uvicorn --factory`` entry point.

::

    cmf server                                             # one process, 127.0.0.1:8080
    CMF_STORE_URL=postgresql://… uvicorn --factory --workers 4 cmf_mcp.http.app:app_from_env

The app holds one :class:`~cmf_core.Store` per process, opened in its lifespan
and closed at shutdown; REST reads are under ``/api/v1`` (OpenAPI at
``/openapi.json``, pages at ``/docs``), sync under ``/api/v1/sync``, and the MCP
server at ``/mcp`` on the same store and the same tokens. Every error is an
RFC 9457 problem; bodies are capped (by ``Content-Length`` and while streaming).
"""

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from cmf_core.config import load_settings
from cmf_core.errors import CmfError
from cmf_core.store import Store
from cmf_mcp.http import problems
from cmf_mcp.http.problems import problem_response

MIB = 1024 * 1024
DEFAULT_THREADS = 1
DEFAULT_MAX_BODY_BYTES = 64 * MIB
# The uvicorn --factory entry reads these (`cmf server` sets them for its workers).
ENV_STORE_URL = "CMF_STORE_URL"
ENV_PROJECT = "CMF_SERVER_PROJECT"
ENV_CORS = "CMF_SERVER_CORS_ORIGINS"  # comma-separated
ENV_MAX_BODY = "CMF_SERVER_MAX_BODY_BYTES"
ENV_HOST = "CMF_SERVER_HOST"
ENV_PORT = "CMF_SERVER_PORT"
ENV_ALLOWED_HOSTS = "CMF_SERVER_ALLOWED_HOSTS"  # comma-separated
ENV_MCP = "CMF_SERVER_MCP"  # "0" leaves /mcp out
ENV_THREADS = "CMF_SERVER_THREADS"
ENV_FEDERATE = "CMF_SERVER_FEDERATE_EVERY"  # seconds; unset or 0: never
log = logging.getLogger("cmf.server")


def create_app(
    store_url: str | None = None,
    *,
    project_root: Path | None = None,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    mcp: bool = True,
    host: str = "127.0.0.1",
    port: int = 8080,
    allowed_hosts: Sequence[str] = (),
    stateless_mcp: bool = False,
    federate_every: float | None = None,
    threads: int = DEFAULT_THREADS,
    ui: bool = True,
) -> FastAPI:
    """The team server on ``store_url`` (default: the project's store around ``project_root``).

    ``cors_origins`` opens CORS to those origins only (none by default);
    ``max_body_bytes`` caps request bodies (413 beyond); ``mcp`` mounts the MCP
    server at ``/mcp`` with Host/Origin checked against ``host:port`` and
    ``allowed_hosts``; ``stateless_mcp`` keeps no MCP session between requests
    (needed with several worker processes); ``federate_every`` pulls from and pushes
    to the configured federation peers every that many seconds; ``threads`` is how many
    requests this process works on at once (more wait their turn); ``ui`` serves the
    web UI at ``/`` (signed in with a token).
    """
    settings = load_settings(project_root)
    url = store_url or settings.store_url
    root = settings.project_root
    mcp_server: Any = None
    if mcp:
        from cmf_mcp.mcp.server import create_server

        mcp_server = create_server(
            url, project_root=project_root, token_auth=True, trust_client_roots=False
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Routes run in worker threads. Threads of one process share its GIL, so more than
        # one serve fewer requests, not more: the lineage endpoint (2 workers, 100,000
        # executions) answered 534 requests/s with one thread each, 198 with two.
        # Processes (--workers) are the way to use more cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        store = await run_in_threadpool(Store, url)
        app.state.store = store
        async with AsyncExitStack() as stack:
            stack.callback(store.close)
            if mcp_server is not None:
                stack.callback(mcp_server.close)
                await stack.enter_async_context(mcp_server.session_manager.run())
            if federate_every:
                task = asyncio.create_task(_federating(store, root, federate_every))
                stack.callback(task.cancel)
            yield

    app = FastAPI(
        title="cmf team server",
        summary="ML metadata and lineage: read, sync, and MCP at /mcp",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.project_root = root
    problems.install(app)
    _routes(app)
    if ui:
        from cmf_mcp.http.ui import install as install_ui

        install_ui(app)
    if mcp_server is not None:
        from cmf_mcp.mcp.server import http_app

        mcp_app = http_app(
            mcp_server,
            host=host,
            port=port,
            allowed_hosts=list(allowed_hosts),
            stateless=stateless_mcp,
        )
        app.add_middleware(McpAt, mcp_app=mcp_app)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Mcp-Session-Id",
                "Mcp-Protocol-Version",
            ],
            expose_headers=["Mcp-Session-Id", "WWW-Authenticate"],
        )
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


def _routes(app: FastAPI) -> None:
    from cmf_mcp.http.routes import router as read_router
    from cmf_mcp.http.sync_routes import router as sync_router

    @app.get("/healthz", tags=["health"], summary="The process answers (no store read)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The store is reachable")
    def readyz(request: Request) -> JSONResponse:
        store: Store = request.app.state.store
        try:
            store.list_pipelines()
        except CmfError as exc:
            return problem_response(503, problems.shown(exc), kind=str(exc.kind or "store"))
        return JSONResponse({"status": "ready"})

    app.include_router(read_router, prefix="/api/v1")
    app.include_router(sync_router, prefix="/api/v1")


async def _federating(store: Store, root: Path, every: float) -> None:
    """Federate with every peer, then wait ``every`` seconds, until cancelled; a failed
    round is logged and the next one tries again (the cursors make it resume)."""
    from cmf_core.sync.federation import federate

    while True:
        try:
            # Its own thread: a long round must not hold the one the requests use.
            reports = await anyio.to_thread.run_sync(
                federate, store, root, limiter=anyio.CapacityLimiter(1)
            )
        except CmfError as exc:
            log.warning("federation round failed: %s", problems.shown(exc))
        else:
            moved = sum(report.received + report.sent for report in reports)
            if moved:
                log.info("federation round moved %d records", moved)
        await asyncio.sleep(every)


class McpAt:
    """ASGI: requests for ``/mcp`` go to the MCP app, every other one to the server."""

    def __init__(self, app: Any, *, mcp_app: Any) -> None:
        self.app, self.mcp_app = app, mcp_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == "/mcp":
            await self.mcp_app(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class BodyLimit:
    """ASGI: refuse bodies over ``max_bytes`` with 413, by ``Content-Length`` and by
    counting streamed (chunked) bytes, before any of it reaches a route."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"The request body is over {self.max_bytes} bytes; send less per request."
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await problem_response(413, detail)(scope, receive, send)
                return
        received = 0
        started = False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail)
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException as exc:
            if started or exc.status_code != 413:
                raise
            await problem_response(413, detail)(scope, receive, send)


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``, configured by ``CMF_STORE_URL`` and ``CMF_SERVER_*``."""
    project = os.environ.get(ENV_PROJECT)
    return create_app(
        os.environ.get(ENV_STORE_URL) or None,
        project_root=Path(project) if project else None,
        cors_origins=_list(os.environ.get(ENV_CORS)),
        max_body_bytes=int(os.environ.get(ENV_MAX_BODY) or DEFAULT_MAX_BODY_BYTES),
        mcp=os.environ.get(ENV_MCP, "1") != "0",
        host=os.environ.get(ENV_HOST, "127.0.0.1"),
        port=int(os.environ.get(ENV_PORT) or 8080),
        allowed_hosts=_list(os.environ.get(ENV_ALLOWED_HOSTS)),
        stateless_mcp=True,
        federate_every=float(os.environ.get(ENV_FEDERATE) or 0) or None,
        threads=int(os.environ.get(ENV_THREADS) or DEFAULT_THREADS),
    )


def serve(
    store_url: str,
    project_root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allowed_hosts: Sequence[str] = (),
    federate_every: float | None = None,
    threads: int = DEFAULT_THREADS,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Run the server under uvicorn until interrupted.

    The workers (and the single process alike) build the app with
    :func:`app_from_env`, so the configuration travels in the environment.
    Forwarded headers are believed only from ``trusted_proxies`` (none by default):
    behind a TLS-terminating proxy that makes the request's scheme ``https``, so the
    UI's sign-in cookie is ``Secure``.
    """
    import uvicorn

    os.environ.update(
        {
            ENV_STORE_URL: store_url,
            ENV_PROJECT: str(project_root),
            ENV_CORS: ",".join(cors_origins),
            ENV_MAX_BODY: str(max_body_bytes),
            ENV_HOST: host,
            ENV_PORT: str(port),
            ENV_ALLOWED_HOSTS: ",".join(allowed_hosts),
            ENV_FEDERATE: str(federate_every or 0),
            ENV_THREADS: str(threads),
        }
    )
    uvicorn.run(
        "cmf_mcp.http.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=",".join(trusted_proxies) or None,
    )


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cmf")
    except PackageNotFoundError:
        return "0"


__all__ = ["DEFAULT_MAX_BODY_BYTES", "app_from_env", "create_app", "serve"]
