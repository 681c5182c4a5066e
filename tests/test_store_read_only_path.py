"""Reads on a read-only mount and under a held SQLite write lock."""

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
