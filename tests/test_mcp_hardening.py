"""The MCP server refuses what it must: unsafe paths and names, unsafe HTTP set-ups, bad
ports, colliding metrics; a failing client or store is reported plainly; read-only writes
nothing."""

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp_support import connect, make_server, write

from cmf_core.errors import StoreError
from cmf_core.store import Store
from cmf_mcp.cli.serve import cmf_mcp
from cmf_mcp.mcp.server import StoreUnavailable, http_app


def test_a_client_whose_roots_list_fails_just_has_no_roots(
    bare_project: Path, tmp_path: Path, sqlite_url: str
) -> None:
    from mcp_types import ErrorData
    from mcp_types import ListRootsResult as Roots

    outside = write(tmp_path / "shared" / "features.csv", "f\n")
    write(bare_project / "inside.csv", "i\n")

    async def broken(context: object) -> Roots | ErrorData:
        return ErrorData(code=-32603, message="the client cannot list its roots")

    server = make_server(sqlite_url)
    try:  # legacy: the server asks over the back channel (in the input-required era the
        # client answers the roots round itself, so a failure there stays client-side)
        with connect(server, "legacy", list_roots_callback=broken) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            refused = client.error(
                "log_artifact", {"execution_id": run, "path": str(outside), "event": "input"}
            )
            inside = {"execution_id": run, "path": "inside.csv", "event": "input"}
            logged = client.ok("log_artifact", inside)
    finally:
        server.close()
    assert "outside the project" in refused
    assert logged["path"] == "inside.csv"


def test_a_read_only_server_creates_no_store_and_says_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    monkeypatch.chdir(project)
    server = make_server(None, project_root=project, read_only=True)
    try:
        with connect(server) as client:
            for tool, arguments in [
                ("list_pipelines", {}),
                ("search_executions", {}),
                ("get_artifact", {"reference": "data.csv"}),
            ]:
                assert "No store yet" in client.error(tool, arguments)
    finally:
        server.close()
    assert list(project.iterdir()) == []


def test_http_app_refuses_a_server_without_tokens_or_with_trusted_roots(
    bare_project: Path, sqlite_url: str
) -> None:
    for options in (
        {"token_auth": False, "trust_client_roots": False},
        {"token_auth": True, "trust_client_roots": True},
    ):
        server = make_server(sqlite_url, **options)
        try:
            with pytest.raises(ValueError, match="token_auth=True, trust_client_roots=False"):
                http_app(server, host="127.0.0.1", port=8765, allowed_hosts=[])
        finally:
            server.close()


def test_a_store_failure_while_checking_a_token_is_a_503_not_a_401(
    bare_project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cmf_core.auth
    from cmf_mcp.mcp.server import StoreErrors, StoreTokenVerifier

    server = make_server(sqlite_url, token_auth=True, trust_client_roots=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("the database is locked")

    monkeypatch.setattr(cmf_core.auth, "authenticate", broken)
    try:
        with pytest.raises(StoreUnavailable):
            asyncio.run(StoreTokenVerifier(server.state).verify_token("cmf_x"))
    finally:
        server.close()

    async def failing_app(scope: Any, receive: Any, send: Any) -> None:
        raise StoreUnavailable("the database is locked")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": []}
    asyncio.run(StoreErrors(failing_app)(scope, receive, send))
    assert sent[0]["status"] == 503
    assert b"store is unavailable" in sent[1]["body"]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_cmf_mcp_rejects_a_port_out_of_range_with_a_usage_error(port: str) -> None:
    result = CliRunner().invoke(
        cmf_mcp, ["--transport", "http", "--port", port], prog_name="cmf-mcp"
    )
    assert result.exit_code == 2
    assert (
        result.stderr.startswith("Usage: cmf-mcp") and "Invalid value for '--port'" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_query_lineage_and_the_lineage_resource_read_paths_from_the_project_root(
    bare_project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(bare_project / "train.csv", "top\n")
    write(bare_project / "data" / "train.csv", "nested\n")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            digests = [
                client.ok("log_artifact", {"execution_id": run, "path": path, "event": "input"})[
                    "digest"
                ]
                for path in ("train.csv", "data/train.csv")
            ]
            client.ok("end_execution", {"execution_id": run})
            monkeypatch.chdir(bare_project / "data")  # the server's cwd moves away
            graph = client.ok("query_lineage", {"node": "train.csv"})
            body = client.run("read_resource", "cmf://lineage/train.csv")
    finally:
        server.close()
    assert graph["start"] == digests[0]  # the project's train.csv, not data/train.csv
    assert digests[0][4:12] in body.contents[0].text
    assert digests[1][4:12] not in body.contents[0].text


@pytest.mark.parametrize(
    "path", [".", "./", ".cmf", ".cmf/config.local.toml", ".git", ".git/config", "sub/.git"]
)
def test_log_artifact_refuses_the_store_git_internals_and_folders_holding_them(
    bare_project: Path, sqlite_url: str, path: str
) -> None:
    write(bare_project / ".cmf" / "config.local.toml", "site = 'laptop'\n")
    write(bare_project / ".git" / "config", "[core]\n")
    write(bare_project / "sub" / ".git" / "HEAD", "ref\n")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            refused = client.error(
                "log_artifact", {"execution_id": run, "path": path, "event": "input"}
            )
    finally:
        server.close()
    assert "(.cmf)" in refused and "(.git)" in refused and "never logged" in refused
    with Store(sqlite_url) as store:
        assert store.count("artifacts") == 0


def test_log_metrics_refuses_names_that_collide_once_stripped(
    bare_project: Path, sqlite_url: str
) -> None:
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            refused = client.error(
                "log_metrics", {"execution_id": run, "metrics": {"x": 1, " x": 2}}
            )
            shown = client.ok("get_execution", {"execution_id": run})
    finally:
        server.close()
    assert "'x' and ' x' are the same metric" in refused
    assert shown["metrics"] == {}


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "a\tb", "a\x1bb", "a\u2028b"])
def test_names_with_control_characters_are_refused(
    bare_project: Path, sqlite_url: str, name: str
) -> None:
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            refused = client.error("start_execution", {"pipeline": name, "stage": "s"})
    finally:
        server.close()
    assert "control characters" in refused
    assert not os.path.exists(sqlite_url.removeprefix("sqlite:///")) or (
        Store(sqlite_url).count("executions") == 0
    )


def test_prompts_name_the_tools_and_the_pipeline_resource(
    bare_project: Path, sqlite_url: str
) -> None:
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            prompts = [
                client.run("get_prompt", "explain_lineage", {"artifact": "models/m.pkl"}),
                client.run("get_prompt", "investigate_regression", {"run_a": "a", "run_b": "b"}),
                client.run("get_prompt", "summarize_pipeline", {"pipeline": "fraud detection"}),
            ]
    finally:
        server.close()
    texts = [p.messages[0].content.text for p in prompts]
    assert not any("when it is available" in t or "{name}" in t for t in texts)
    assert "query_lineage(direction='upstream')" in texts[0]
    assert "Call compare_runs with both ids" in texts[1]
    assert '"cmf://pipelines/fraud%20detection"' in texts[2]
