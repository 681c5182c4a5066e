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
