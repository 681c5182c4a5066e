"""No absolute path reaches an MCP client in an error, whatever file or store the error is about.

A model on the other side of the protocol may be remote; where the project, the
store or anything outside them lives on this machine is none of its business.
Each case makes a tool (or a resource) fail with an error about a file — a
missing one, one outside the project, one cmf cannot hash, a bad store — and
checks its text for any absolute path.
"""

import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import connect, make_server, write

from cmf_core.store import Store

# An absolute path starts at a slash that follows nothing, a space, a quote or a bracket.
ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"`(=])/[\w.~-]")


def assert_no_absolute_path(message: str, *places: Path | str) -> None:
    assert message, "an error without a message"
    for place in places:
        assert str(place) not in message, message
    assert not ABSOLUTE_PATH.search(message), message


@pytest.fixture
def tree(bare_project: Path, tmp_path: Path) -> Path:
    """The project, with files a caller may name and files cmf cannot read or hash."""
    write(bare_project / "data" / "train.csv", "a,b\n1,2\n")
    write(tmp_path / "outside" / "secret.csv", "s")
    (bare_project / "link-out.csv").symlink_to("/etc/hostname")
    write(bare_project / "holds-link-out" / "ok.csv", "1")
    (bare_project / "holds-link-out" / "out.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    os.mkfifo(bare_project / "pipe")
    write(bare_project / "holds-pipe" / "ok.csv", "1")
    os.mkfifo(bare_project / "holds-pipe" / "pipe")
    write(bare_project / "holds-dangling" / "ok.csv", "1")
    (bare_project / "holds-dangling" / "gone.csv").symlink_to(bare_project / "gone.csv")
    write(bare_project / "locked.csv", "x").chmod(0)
    return bare_project


def places(tree: Path, tmp_path: Path) -> tuple[Path | str, ...]:
    """What must never be named: the project, the test's folder (its parent) and /etc."""
    return (tree, tree.resolve(), tmp_path, tmp_path.resolve(), "/etc")


PATHS: list[tuple[str, Callable[[Path], str]]] = [
    ("a missing relative path", lambda root: "data/missing.csv"),
    ("a missing absolute path in the project", lambda root: str(root / "data" / "missing.csv")),
    ("a system file", lambda root: "/etc/shadow"),
    ("a system folder", lambda root: "/etc"),
    ("a file outside the project", lambda root: str(root.parent / "outside" / "secret.csv")),
    ("a dot-dot escape", lambda root: "../outside/secret.csv"),
    ("a home path", lambda root: "~/secret.csv"),
    ("a link leading out", lambda root: "link-out.csv"),
    ("a folder holding a link leading out", lambda root: "holds-link-out"),
    ("the store itself", lambda root: str(root / ".cmf" / "metadata.db")),
    ("a named pipe", lambda root: "pipe"),
    ("a named pipe by its absolute path", lambda root: str(root / "pipe")),
    ("a folder holding a named pipe", lambda root: str(root / "holds-pipe")),
    ("a folder holding a dangling link", lambda root: "holds-dangling"),
    ("an unreadable file", lambda root: str(root / "locked.csv")),
]


@pytest.mark.parametrize("path", [p[1] for p in PATHS], ids=[p[0] for p in PATHS])
def test_log_artifact_errors_name_no_absolute_path(
    tree: Path, tmp_path: Path, sqlite_url: str, path: Callable[[Path], str]
) -> None:
    given = path(tree)
    if given.endswith("locked.csv") and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            message = client.error(
                "log_artifact", {"execution_id": run, "path": given, "event": "input"}
            )
    finally:
        server.close()
    assert_no_absolute_path(message, *places(tree, tmp_path), sqlite_url.removeprefix("sqlite:///"))


def test_a_file_in_the_project_is_named_relative_to_it(
    tree: Path, tmp_path: Path, sqlite_url: str
) -> None:
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            message = client.error(
                "log_artifact",
                {"execution_id": run, "path": str(tree / "holds-pipe"), "event": "input"},
            )
    finally:
        server.close()
    assert "'holds-pipe/pipe' is a FIFO" in message
    assert_no_absolute_path(message, *places(tree, tmp_path))


REFERENCES: list[tuple[str, Callable[[Path], str]]] = [
    ("a system file", lambda root: "/etc/passwd"),
    ("a file outside the project", lambda root: str(root.parent / "outside" / "secret.csv")),
    ("an unrecorded file in the project", lambda root: str(root / "data" / "train.csv")),
    ("a dot-dot escape", lambda root: "../outside/secret.csv"),
]


@pytest.mark.parametrize("tool", ["get_artifact", "query_lineage"])
@pytest.mark.parametrize("reference", [r[1] for r in REFERENCES], ids=[r[0] for r in REFERENCES])
def test_lookups_by_path_name_no_absolute_path_when_nothing_matches(
    tree: Path, tmp_path: Path, sqlite_url: str, tool: str, reference: Callable[[Path], str]
) -> None:
    argument = {"get_artifact": "reference", "query_lineage": "node"}[tool]
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            client.ok("start_execution", {"pipeline": "p", "stage": "s"})  # a store, not empty
            message = client.error(tool, {argument: reference(tree)})
    finally:
        server.close()
    assert_no_absolute_path(message, *places(tree, tmp_path))


def test_a_file_cmf_cannot_hash_in_a_client_root_is_not_located(
    tree: Path, tmp_path: Path, sqlite_url: str
) -> None:
    from mcp_types import ListRootsResult, Root

    shared = tmp_path / "shared"
    shared.mkdir()
    os.mkfifo(shared / "pipe")

    async def roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=f"file://{shared}", name="shared")])

    server = make_server(sqlite_url)
    try:
        with connect(server, list_roots_callback=roots) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            message = client.error(
                "log_artifact",
                {"execution_id": run, "path": str(shared / "pipe"), "event": "input"},
            )
    finally:
        server.close()
    assert "named pipe" in message  # the reason is kept; only the place is not shown
    assert_no_absolute_path(message, *places(tree, tmp_path), shared)


def newer_store(path: Path) -> None:
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")


def garbage(path: Path) -> None:
    write(path, b"this is not a database\n" * 100)


def mlmd(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE Artifact (id INTEGER PRIMARY KEY)")


def a_folder(path: Path) -> None:
    path.mkdir(parents=True)


def under_a_file(path: Path) -> None:
    write(path.parent, "a file where the store's folder should be")


BAD_STORES: list[tuple[str, str, Callable[[Path], None]]] = [
    ("a folder", "outside/store.db", a_folder),
    ("under a file", "outside/file/store.db", under_a_file),
    ("not a database", "outside/store.db", garbage),
    ("not a database, in the project", "bare/.cmf/store.db", garbage),
    ("an mlmd file", "outside/mlmd.db", mlmd),
    ("a newer schema", "outside/store.db", newer_store),
]


@pytest.fixture(params=BAD_STORES, ids=[s[0] for s in BAD_STORES])
def bad_store(request: pytest.FixtureRequest, tree: Path, tmp_path: Path) -> Path:
    _, where, make = request.param
    path: Path = tmp_path / where
    make(path)
    return path


def test_a_bad_store_is_reported_without_its_location(
    tree: Path, tmp_path: Path, bad_store: Path
) -> None:
    server = make_server(f"sqlite:///{bad_store}")
    try:
        with connect(server) as client:
            messages = [
                client.error("list_pipelines"),
                client.error("start_execution", {"pipeline": "p", "stage": "s"}),
                client.error("get_execution", {"execution_id": "0190abcd"}),
            ]
            with pytest.raises(MCPError) as unreadable:
                client.run("read_resource", "cmf://pipelines")
            messages.append(str(unreadable.value))
    finally:
        server.close()
    for message in messages:
        assert_no_absolute_path(message, *places(tree, tmp_path), bad_store)
