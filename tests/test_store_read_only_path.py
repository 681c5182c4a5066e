"""Reads on a read-only mount and under a held SQLite write lock."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def run_cmf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("cmf")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "CMF_STORE_URL"},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    assert run_cmf("init", cwd=root).returncode == 0
    return root


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mnt)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {made.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("kind", ["pipelines", "stages", "executions", "artifacts"])
def test_cmf_ls_reads_a_store_on_a_read_only_mount(
    project: Path, read_only_mount: Path, kind: str
) -> None:
    shutil.copytree(project, read_only_mount / "project")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    result = run_cmf("ls", kind, cwd=read_only_mount / "project")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_cmf_ls_answers_while_a_writer_holds_the_lock(project: Path) -> None:
    writer = sqlite3.connect(project / ".cmf" / "metadata.db", isolation_level=None)
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer.execute("BEGIN IMMEDIATE")
    try:
        result = run_cmf("ls", "executions", cwd=project)
        assert writer.in_transaction  # the lock was held for the whole read
    finally:
        writer.rollback()
        writer.close()
    assert result.returncode == 0, result.stderr


RECORD = """
from cmf_core import Cmf
with Cmf(pipeline="p") as cmf:
    with cmf.execution("prep") as prep:
        prep.log_dataset("raw.csv")
        open("clean.csv", "w").write("a\\n1\\n")
        prep.log_dataset("clean.csv", event="output")
    with cmf.execution("train", params={"lr": 0.1}) as train:
        train.log_dataset("clean.csv")
        open("model.pkl", "w").write("m")
        train.log_model("model.pkl")
        train.log_metric("loss", 0.5)
print(prep.id, train.id)
"""


@pytest.fixture
def recorded_on_a_read_only_mount(project: Path, read_only_mount: Path) -> tuple[Path, str, str]:
    """A project with a two-stage pipeline recorded, copied to a mount made read-only."""
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    (project / "raw.csv").write_text("a\n1\n")
    made = subprocess.run(
        [sys.executable, "-c", RECORD], cwd=project, capture_output=True, text=True, check=True
    )
    prep, train = made.stdout.split()
    shutil.copytree(project, read_only_mount / "project")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    return read_only_mount / "project", prep, train


READ_COMMANDS = [
    "show {train}",
    "show model.pkl",
    "lineage model.pkl",
    "trace model.pkl",
    "impact raw.csv",
    "export {train}",
    "metrics {train}",
    "compare {prep} {train}",
    "reproduce {train}",
    "card model.pkl",
    "audit",
    "storage stats",
    "artifact status",
    "runs close-stale --dry-run",
]


def test_every_read_command_reads_a_store_on_a_read_only_mount(
    recorded_on_a_read_only_mount: tuple[Path, str, str],
) -> None:
    root, prep, train = recorded_on_a_read_only_mount
    for command in READ_COMMANDS:
        result = run_cmf(*command.format(prep=prep, train=train).split(), cwd=root)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr, command


def test_a_write_on_a_read_only_mount_says_so_in_one_line(
    recorded_on_a_read_only_mount: tuple[Path, str, str],
) -> None:
    root, _, train = recorded_on_a_read_only_mount
    result = run_cmf("annotate", train, "quality=bad", cwd=root)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error:") and "read-only" in line.lower(), line


def test_cmf_mcp_read_only_serves_a_store_on_a_read_only_mount(
    recorded_on_a_read_only_mount: tuple[Path, str, str],
) -> None:
    from mcp import StdioServerParameters
    from mcp_support import connect

    root, _, train = recorded_on_a_read_only_mount
    params = StdioServerParameters(
        command=str(Path(sys.executable).with_name("cmf")),
        args=["mcp", "--read-only"],
        cwd=str(root),
    )
    with connect(params) as client:
        assert client.ok("list_pipelines")["total"] == 1
        found = client.ok("search_executions", {"stage": "train"})
        lineage = client.ok("query_lineage", {"node": "model.pkl", "direction": "upstream"})
    assert [e["id"] for e in found["items"]] == [train]
    assert "raw.csv" in str(lineage)


@pytest.mark.postgres
def test_a_postgresql_store_opened_read_only_runs_no_ddl_and_refuses_writes(
    postgres_url: str,
) -> None:
    """A role that may only SELECT reads the store through every read path of cmf ls."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    from cmf_core import Cmf
    from cmf_core.errors import StoreError
    from cmf_core.store import Store

    with (
        Cmf(pipeline="p", store=postgres_url, capture_git=False) as cmf,
        cmf.execution("train") as run,
    ):
        run.log_metric("loss", 0.5)
    url = make_url(postgres_url)
    schema = url.query["options"].removeprefix("-csearch_path=")
    reader = f"cmf_reader_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{reader}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{reader}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{reader}"')
    try:
        as_reader = url.set(username=reader).render_as_string(hide_password=False)
        result = run_cmf("--store", as_reader, "ls", "executions", "--json", cwd=Path.cwd())
        assert result.returncode == 0, result.stderr
        assert [row["id"] for row in json.loads(result.stdout)] == [run.id]
        with Store(postgres_url, read_only=True) as store:
            assert store.get_execution(run.id).stage == "train"
            with pytest.raises(StoreError, match="opened read-only"):
                store.heartbeat([run.id])
            # Even SQL that went around the store's write path is refused by the session.
            with pytest.raises(StoreError, match="read-only"), store._read() as conn:
                conn.exec_driver_sql("CREATE TABLE never_made (i integer)")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{reader}"')
            conn.execute(f'DROP ROLE "{reader}"')
