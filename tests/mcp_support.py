"""What the MCP tests share: a server on a real store, a synchronous client, result helpers."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from anyio.from_thread import start_blocking_portal
from mcp import Client
from mcp_types import CallToolResult

from cmf_mcp.mcp.server import CmfServer, create_server

MODES = ["auto", "legacy"]


def make_server(store_url: str, **options: Any) -> CmfServer:
    """A server on the project around the current folder (tests chdir into one)."""
    options.setdefault("capture_git", False)
    options.setdefault("capture_environment", False)
    return create_server(store_url, **options)


class SyncClient:
    """An MCP client driven from synchronous test code through an anyio portal."""

    def __init__(self, portal: Any, client: Client) -> None:
        self.portal = portal
        self.client = client

    def call(self, name: str, arguments: dict[str, Any] | None = None, **kw: Any) -> CallToolResult:
        result: CallToolResult = self.portal.call(
            lambda: self.client.call_tool(name, arguments or {}, **kw)
        )
        return result

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed; its structured content."""
        result = self.call(name, arguments)
        assert not result.is_error, text(result)
        assert result.structured_content is not None
        return result.structured_content

    def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool that must fail with a ToolError; its message."""
        result = self.call(name, arguments)
        assert result.is_error, text(result)
        message = text(result)
        assert message != f"Error executing tool {name}", "an unexpected exception"
        return message

    def run(self, method: str, *args: Any, **kw: Any) -> Any:
        return self.portal.call(lambda: getattr(self.client, method)(*args, **kw))


@contextmanager
def connect(server: Any, mode: str = "auto", **options: Any) -> Iterator[SyncClient]:
    options.setdefault("read_timeout_seconds", 30)
    with drive(Client(server, mode=mode, **options)) as client:
        yield client


@contextmanager
def drive(session: AbstractAsyncContextManager[Client]) -> Iterator[SyncClient]:
    """Enter an async context manager that yields a connected Client, from sync code."""
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(session) as client:
        yield SyncClient(portal, client)


@asynccontextmanager
async def over_http(url: str, secret: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    """A client of a streamable HTTP server sending ``secret`` as its bearer token."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, read_timeout_seconds=30) as client:
            yield client


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def size_in_chars(result: CallToolResult) -> int:
    """What a result costs a model: its text plus its structured content as JSON."""
    return len(text(result)) + len(json.dumps(result.structured_content or {}))


def write(path: Path, content: str | bytes = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path
