"""The server says which store it reads: in its instructions and in every empty answer."""

import sqlite3
from pathlib import Path

import pytest
from mcp_support import MODES, connect, make_server, text

from cmf_mcp.mcp.where import store_name

EMPTY = ("list_pipelines", "search_executions", "search_artifacts", "metric_table")
ARGS = {"metric_table": {"names": ["val_loss"]}}


def cmflib_file(folder: Path) -> None:
    """A file such as cmflib writes: SQLite with ML Metadata's tables."""
    with sqlite3.connect(folder / "mlmd") as conn:
        conn.execute("CREATE TABLE MLMDEnv (schema_version INTEGER)")
        conn.execute("CREATE TABLE Artifact (id INTEGER)")
    conn.close()


@pytest.mark.parametrize("mode", MODES)
def test_instructions_and_empty_answers_name_the_project_store(
    bare_project: Path, mode: str
) -> None:
    url = f"sqlite:///{bare_project / '.cmf' / 'metadata.db'}"
    server = make_server(url)
    with connect(server, mode) as client:
        instructions = client.client.instructions
        answers = {name: text(client.call(name, ARGS.get(name))) for name in EMPTY}
        filtered = text(client.call("search_executions", {"where": "metrics.acc > 0.9"}))
    server.close()
    assert "reads the store .cmf/metadata.db" in (instructions or "")
    assert "--store URL" in (instructions or "") and "CMF_STORE_URL" in (instructions or "")
    for name, answer in {**answers, "filtered": filtered}.items():
        assert "Store read: .cmf/metadata.db" in answer, name
        assert "--store URL" in answer and "CMF_STORE_URL" in answer, name
        assert str(bare_project) not in answer, name
    assert "mlmd" not in answers["search_executions"]


def test_a_cmflib_mlmd_file_is_pointed_out_in_every_empty_answer(
    bare_project: Path, sqlite_url: str
) -> None:
    cmflib_file(bare_project)
    server = make_server(sqlite_url)
    with connect(server) as client:
        instructions = client.client.instructions or ""
        answers = {name: text(client.call(name, ARGS.get(name))) for name in EMPTY}
    server.close()
    assert "cmf import-mlmd mlmd" in instructions
    for name, answer in answers.items():
        assert "cmf import-mlmd mlmd" in answer, name
        assert answer.count("import-mlmd") == 1, f"{name} names the file once"
        assert "a SQLite file outside the project" in answer, name
        assert str(sqlite_url.partition(":///")[2]) not in answer, name


def test_an_answer_with_items_carries_no_store_note(bare_project: Path, sqlite_url: str) -> None:
    server = make_server(sqlite_url)
    with connect(server) as client:
        client.ok("start_execution", {"pipeline": "p", "stage": "s"})
        answers = [text(client.call(name)) for name in ("list_pipelines", "search_executions")]
    server.close()
    assert all("Store read:" not in a for a in answers)


def test_a_postgresql_store_is_named_without_its_password(bare_project: Path) -> None:
    url = "postgresql+psycopg://alice:s3cret-pw@db.example:5432/cmf?sslpassword=hush"
    shown = store_name(url, bare_project)
    assert "s3cret-pw" not in shown and "hush" not in shown
    assert "alice" in shown and "db.example" in shown
    server = make_server(url)
    try:
        with connect(server) as client:
            instructions = client.client.instructions or ""
    finally:
        server.close()
    assert shown in instructions and "s3cret-pw" not in instructions


def test_a_read_only_server_without_a_store_names_where_it_looked(bare_project: Path) -> None:
    cmflib_file(bare_project)
    server = make_server(f"sqlite:///{bare_project / '.cmf' / 'metadata.db'}", read_only=True)
    with connect(server) as client:
        message = client.error("list_pipelines")
    server.close()
    assert "No store yet at .cmf/metadata.db" in message
    assert "--store URL" in message and "cmf import-mlmd mlmd" in message
    assert not (bare_project / ".cmf" / "metadata.db").exists()


def test_the_store_name_never_shows_a_path_outside_the_project(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert store_name(f"sqlite:///{tmp_path}/elsewhere.db", project) == (
        "a SQLite file outside the project"
    )
    assert store_name(f"sqlite:///{project}/runs/x.db", project) == "runs/x.db"
    assert store_name("sqlite:///:memory:", project) == "an in-memory SQLite store"
