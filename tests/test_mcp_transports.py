"""The real server process over stdio, and streamable HTTP with bearer tokens."""

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_support import MODES, connect, drive, make_server, over_http, text, write

from cmf_core.auth import create_token
from cmf_core.store import Store
from cmf_mcp.mcp.server import http_app

BIN = Path(sys.executable).parent


def stdio(project: Path, store_url: str, *extra: str) -> Any:
    """The installed `cmf-mcp` console script, as an MCP client configuration starts it."""
    args = [*extra, "--project", str(project), "--store", store_url]
    return StdioServerParameters(command=str(BIN / "cmf-mcp"), args=args, cwd=str(project))


@pytest.mark.parametrize("mode", MODES)
def test_the_server_process_records_and_reads_a_run_over_stdio(
    bare_project: Path, sqlite_url: str, mode: str
) -> None:
    write(bare_project / "data.csv", "a,b\n")
    with connect(stdio(bare_project, sqlite_url), mode) as client:
        names = {t.name for t in client.run("list_tools").tools}
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        logged = client.ok(
            "log_artifact", {"execution_id": run, "path": "data.csv", "event": "input"}
        )
        client.ok("end_execution", {"execution_id": run})
        shown = client.ok("get_artifact", {"reference": "data.csv"})
    assert {"query_lineage", "start_execution"} <= names
    assert shown["digest"] == logged["digest"]
    assert [u["execution_id"] for u in shown["used_by"]] == [run]


def test_cmf_mcp_read_only_over_stdio_through_the_cli(bare_project: Path, sqlite_url: str) -> None:
    Store(sqlite_url).close()  # a store with nothing recorded
    params = StdioServerParameters(
        command=str(BIN / "cmf"),
        args=["--store", sqlite_url, "mcp", "--read-only"],
        cwd=str(bare_project),
    )
    with connect(params) as client:
        names = {t.name for t in client.run("list_tools").tools}
        assert "start_execution" not in names and "get_execution" in names
        assert client.ok("list_pipelines")["total"] == 0


def test_the_server_refuses_to_serve_a_filesystem_root(sqlite_url: str) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "cmf_mcp.mcp", "--project", "/", "--store", sqlite_url],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert "is not a project" in done.stderr and "--project PATH" in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server(bare_project: Path, sqlite_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A token-guarded server on 127.0.0.1 (uvicorn in a thread); its URL and three tokens."""
    with Store(sqlite_url) as store:
        secrets = {
            scope: create_token(store, scope, scope)[1] for scope in ("read", "write", "admin")
        }
        revoked = create_token(store, "gone", "write")[1]
        store.revoke_token("gone")
    secrets["revoked"] = revoked
    server = make_server(sqlite_url, token_auth=True, trust_client_roots=False)
    port = free_port()
    app = http_app(server, host="127.0.0.1", port=port, allowed_hosts=[])
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp", secrets
    finally:
        runner.should_exit = True
        thread.join(timeout=30)
        server.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_write_token_records_and_a_read_token_only_reads_over_http(
    http_server: tuple[str, dict[str, str]], bare_project: Path, mode: str
) -> None:
    url, secrets = http_server
    write(bare_project / "data.csv", "a,b\n")
    with drive(over_http(url, secrets["write"], mode)) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        client.ok("log_artifact", {"execution_id": run, "path": "data.csv", "event": "input"})
    with drive(over_http(url, secrets["read"], mode)) as client:
        assert client.ok("get_execution", {"execution_id": run})["inputs_total"] == 1
        refused = client.error("end_execution", {"execution_id": run})
        assert "Token 'read' may only read" in refused and "--scope write" in refused
        assert secrets["read"] not in refused
    with drive(over_http(url, secrets["admin"], mode)) as client:
        client.ok("end_execution", {"execution_id": run})


@pytest.mark.parametrize("mode", MODES)
def test_a_read_token_lists_only_the_read_tools(
    http_server: tuple[str, dict[str, str]], mode: str
) -> None:
    url, secrets = http_server
    with drive(over_http(url, secrets["read"], mode)) as client:
        read = client.run("list_tools").tools
        refused = client.error("start_execution", {"pipeline": "p", "stage": "s"})
    with drive(over_http(url, secrets["write"], mode)) as client:
        every = client.run("list_tools").tools
    assert read and all(t.annotations and t.annotations.read_only_hint for t in read)
    hidden = {t.name for t in every} - {t.name for t in read}
    assert {"start_execution", "log_artifact", "log_metrics", "end_execution"} <= hidden
    assert all(
        not (t.annotations and t.annotations.read_only_hint) for t in every if t.name in hidden
    )
    assert "Token 'read' may only read" in refused and "--scope write" in refused


@pytest.mark.parametrize("secret", [None, "cmf_not-a-real-token", "revoked", "not-even-cmf"])
def test_http_refuses_a_missing_unknown_or_revoked_token(
    http_server: tuple[str, dict[str, str]], secret: str | None
) -> None:
    url, secrets = http_server
    token = secrets.get(secret or "", secret)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}'
    answer = httpx2.post(url, headers=headers, content=body, timeout=30)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(ExceptionGroup) as refused, drive(over_http(url, token)) as client:
        client.run("list_tools")
    assert refused.group_contains(MCPError, match="error response")


def test_http_checks_the_host_and_origin_against_dns_rebinding(
    http_server: tuple[str, dict[str, str]],
) -> None:
    url, secrets = http_server
    headers = {
        "Authorization": f"Bearer {secrets['read']}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    body = '{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}'
    rebound = httpx2.post(url, headers={**headers, "Host": "attacker.example"}, content=body)
    foreign = httpx2.post(
        url, headers={**headers, "Origin": "http://attacker.example"}, content=body
    )
    assert rebound.status_code == 421
    assert foreign.status_code == 403
    assert "tools" not in rebound.text + foreign.text
    with drive(over_http(url, secrets["read"])) as client:
        assert "get_execution" in {t.name for t in client.run("list_tools").tools}
        answer = text(client.call("list_pipelines"))
    assert answer.startswith("No pipelines recorded yet; start_execution records the first run.")


def test_cmf_mcp_serves_http_until_interrupted(bare_project: Path, sqlite_url: str) -> None:
    import signal
    import subprocess

    with Store(sqlite_url) as store:
        secret = create_token(store, "ci", "read")[1]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cmf_mcp.mcp",
            "--transport",
            "http",
            "--port",
            str(port),
            "--project",
            str(bare_project),
            "--store",
            sqlite_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it listens
            assert server.poll() is None and time.monotonic() < deadline, "it did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        with drive(over_http(f"http://127.0.0.1:{port}/mcp", secret)) as client:
            assert client.ok("list_pipelines")["total"] == 0
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert out == "" and f"on http://127.0.0.1:{port}/mcp (bearer token required)" in err


def test_over_stdio_every_line_on_stdout_is_protocol(bare_project: Path, sqlite_url: str) -> None:
    """Raw JSON-RPC, so anything else the server printed would show; logs go to stderr."""
    import json
    import os
    import select
    import subprocess

    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "start_execution", "arguments": {"pipeline": "p", "stage": "s"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_execution", "arguments": {"execution_id": "ffffffff"}},
        },
    ]
    command = [sys.executable, "-m", "cmf_mcp.mcp", "--project", str(bare_project)]
    server = subprocess.Popen(
        [*command, "--store", sqlite_url, "--log-level", "INFO"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("".join(json.dumps(r) + "\n" for r in requests).encode())
    server.stdin.flush()
    received = b""
    while received.count(b"\n") < 3:  # the answers; then communicate() closes stdin
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "no answer within 60 s"
        received += os.read(server.stdout.fileno(), 65536)
    rest, errors = server.communicate(timeout=60)
    assert rest == b"" and server.returncode == 0
    answers = sorted((json.loads(line) for line in received.splitlines()), key=lambda a: a["id"])
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert all(a["jsonrpc"] == "2.0" for a in answers)
    assert answers[1]["result"]["isError"] is False
    assert "No execution matches" in answers[2]["result"]["content"][0]["text"]
    assert b"get_execution" in errors  # the INFO log of the failed call went to stderr
