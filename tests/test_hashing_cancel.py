"""Stopping a hash: an MCP request cancelled by its client, Ctrl-C on `cmf run`.

The file is a sparse 8 GiB file (instant to make, read as zeros): hashing it whole takes
many seconds, so a hash that did not stop would finish and be recorded.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import connect, make_server, text

from cmf_core.errors import ArtifactError
from cmf_core.hashing import hash_path
from cmf_core.records import ExecutionStatus
from cmf_core.store import Store

CMF = str(Path(sys.executable).parent / "cmf")
BIG = 8 << 30


def sparse(path: Path) -> Path:
    with path.open("wb") as file:
        file.truncate(BIG)
    return path


def test_a_set_stop_flag_ends_hashing_with_an_error(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(ArtifactError, match="was stopped before it finished"):
        hash_path(sparse(tmp_path / "big.bin"), stop=stop)


def test_a_cancelled_mcp_log_artifact_stops_hashing_and_records_nothing(
    project: Path, sqlite_url: str
) -> None:
    sparse(project / "big.bin")
    server = make_server(sqlite_url)
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        try:  # the client gives up after 0.3 s and sends notifications/cancelled
            result = client.call(
                "log_artifact",
                {"execution_id": run, "path": "big.bin", "event": "input"},
                read_timeout_seconds=0.3,
            )
        except MCPError:
            pass  # the timeout reached the caller before the server's answer
        else:
            assert result.is_error and "was stopped before it finished" in text(result)
        assert client.ok("get_execution", {"execution_id": run})["execution"]["id"] == run
    # Leaving the client waited for the hashing thread: had it not stopped, it would have
    # finished the 8 GiB and recorded the file.
    with Store(sqlite_url) as store:
        assert store.find_artifacts_by_path("big.bin") == []


def test_ctrl_c_on_cmf_run_stops_hashing_and_ends_the_run_failed_interrupted(
    project: Path,
) -> None:
    sparse(project / "big.bin")
    url = f"sqlite:///{project / '.cmf' / 'metadata.db'}"
    process = subprocess.Popen(
        [CMF, "run", "--pipeline", "p", "--stage", "s", "-i", "big.bin", "--", "true"],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _running(url):  # hashing starts once the execution is recorded
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0 and "Traceback" not in stderr, stderr
    with Store(url) as store:
        (execution,) = store.list_executions()
        assert execution.status == ExecutionStatus.FAILED and execution.error == "interrupted"
        assert store.find_artifacts_by_path("big.bin") == []


def _running(url: str) -> bool:
    if not os.path.exists(url.removeprefix("sqlite:///")):
        return False
    try:
        with Store(url) as store:
            return any(e.status == ExecutionStatus.RUNNING for e in store.list_executions())
    except Exception:  # the store is still being made
        return False
