"""A real `cmf server` process: REST and MCP (tools/list over streamable HTTP) with tokens."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp_support import drive, over_http
from server_support import free_port, wait_ready

from cmf_core.auth import create_token
from cmf_core.store import Store

CMF = [sys.executable, "-m", "cmf_mcp"]


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def server(
    request: pytest.FixtureRequest, store_url: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    project = tmp_path / "project"
    (project / ".cmf").mkdir(parents=True)
    with Store(store_url) as store:
        secrets = {s: create_token(store, s, s)[1] for s in ("read", "write")}
        gone, secrets["revoked"] = create_token(store, "gone", "read")
        store.revoke_token(gone.id)
    port = free_port()
    env = {**os.environ, "CMF_STORE_URL": store_url}
    command = [*CMF, "server", "--port", str(port), "--workers", str(request.param)]
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with (
        log.open("wb") as sink,
        subprocess.Popen(command, cwd=project, env=env, stderr=sink) as process,
    ):
        try:
            wait_ready(base, process, log)
            yield base, secrets
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert f"127.0.0.1:{port}" in log.read_text()


def test_a_real_server_answers_rest_and_mcp_with_tokens(
    server: tuple[str, dict[str, str]],
) -> None:
    base, secrets = server
    read = {"Authorization": f"Bearer {secrets['read']}"}
    assert httpx.get(f"{base}/readyz").status_code == 200
    assert httpx.get(f"{base}/api/v1/pipelines").status_code == 401
    assert httpx.get(f"{base}/api/v1/pipelines", headers=read).json() == []
    revoked = {"Authorization": f"Bearer {secrets['revoked']}"}
    assert httpx.get(f"{base}/api/v1/pipelines", headers=revoked).status_code == 401

    with drive(over_http(f"{base}/mcp", secrets["read"])) as client:
        names = {tool.name for tool in client.run("list_tools").tools}
    assert {"query_lineage", "search_executions"} <= names

    refused = httpx.post(
        f"{base}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert refused.status_code == 401


def test_the_server_refuses_a_filesystem_root_as_project(store_url: str) -> None:
    env = {**os.environ, "CMF_STORE_URL": store_url}
    done = subprocess.run(
        [*CMF, "server", "--port", str(free_port())],
        cwd=Path("/").anchor,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "not a project" in done.stderr


def _sign_in_cookie(base: str, secret: str) -> str:
    """The sign-in cookie a browser behind a TLS-terminating proxy would be given."""
    https = {"X-Forwarded-Proto": "https"}
    form = httpx.get(f"{base}/signin", headers=https)
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    # The proxy speaks https to the browser, so it sends even a Secure cookie back.
    cookie = f"cmf_ui_csrf={form.cookies['cmf_ui_csrf']}"
    response = httpx.post(
        f"{base}/signin",
        data={"token": secret, "csrf": csrf},
        headers={**https, "Cookie": cookie},
    )
    assert response.status_code == 303, response.text
    return next(c for c in response.headers.get_list("set-cookie") if c.startswith("cmf_ui_token="))


@pytest.mark.parametrize("trusted", [False, True], ids=["no-proxy", "trusted-proxy"])
def test_a_sign_in_cookie_is_secure_behind_a_trusted_tls_proxy_only(
    trusted: bool, sqlite_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / ".cmf").mkdir(parents=True)
    with Store(sqlite_url) as store:
        secret = create_token(store, "ui", "read")[1]
    port = free_port()
    command = [*CMF, "server", "--port", str(port)]
    if trusted:
        command += ["--trust-proxy", "127.0.0.1"]
    env = {**os.environ, "CMF_STORE_URL": sqlite_url}
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with (
        log.open("wb") as sink,
        subprocess.Popen(command, cwd=project, env=env, stderr=sink) as process,
    ):
        try:
            wait_ready(base, process, log)
            cookie = _sign_in_cookie(base, secret)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert ("Secure" in cookie) is trusted  # an untrusted X-Forwarded-Proto is ignored
