"""Several writers at once, and a writer killed mid-execution: nothing is lost or corrupted."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from click.testing import CliRunner

from cmf_core import Cmf
from cmf_core.records import ExecutionStatus
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

WRITER = textwrap.dedent(
    """
    import sys
    from cmf_core import Cmf

    url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Cmf(pipeline="load", store=url, git_refresh_s=60) as cmf:
        for i in range(count):
            with cmf.execution(stage=f"stage-{i % 3}", params={"worker": worker, "i": i}) as run:
                run.log_dataset("shared.csv")
                run.log_metrics({"value": i})
                run.log_metric("loss", 1.0 / (i + 1))
    """
)


def test_several_processes_logging_into_one_store_lose_nothing(
    project: Path, store_url: str
) -> None:
    (project / "shared.csv").write_text("a\n1\n")
    (project / "writer.py").write_text(WRITER)
    workers, each = 4, 40
    processes = [
        subprocess.Popen(
            [sys.executable, "writer.py", store_url, str(w), str(each)],
            cwd=project,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * workers, errors
    with Store(store_url) as store:
        assert store.count("executions") == workers * each
        assert store.count("events") == workers * each
        assert store.count("metrics") == 2 * workers * each
        assert store.count("stages") == 3
        assert store.list_executions(status=ExecutionStatus.RUNNING) == []


def test_threads_sharing_one_cmf_record_every_execution(project: Path, store_url: str) -> None:
    (project / "shared.csv").write_text("a\n1\n")
    failures: list[BaseException] = []
    with Cmf(pipeline="threads", store=store_url) as cmf:

        def work(n: int) -> None:
            try:
                for i in range(25):
                    with cmf.execution("s", params={"thread": n}) as run:
                        run.log_dataset("shared.csv")
                        for step in range(10):
                            run.log_metric("loss", step / (i + 1))
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert cmf.store.count("executions") == 100
        assert cmf.store.count("metrics") == 1000


KILLED = textwrap.dedent(
    """
    import sys
    from cmf_core import Cmf

    cmf = Cmf(pipeline="fragile")
    run = cmf.start_execution("train", params={"lr": 0.1})
    run.log_dataset("data.csv")
    run.log_metrics({"accuracy": 0.5})
    for step in range(100):
        run.log_metric("loss", step)          # buffered: lost with the process
    print(run.id, flush=True)
    sys.stdin.read()                          # wait here until killed
    """
)


def test_a_process_killed_mid_execution_leaves_it_visible_as_running(project: Path) -> None:
    (project / "data.csv").write_text("x\n")
    (project / "killed.py").write_text(KILLED)
    with subprocess.Popen(
        [sys.executable, "killed.py"],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        execution_id = process.stdout.readline().strip()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    database = project / ".cmf" / "metadata.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(f"sqlite:///{database}") as store:
        detail = store.get_execution_detail(execution_id)
    assert detail.execution.status is ExecutionStatus.RUNNING
    assert [e.path for e in detail.inputs] == ["data.csv"]
    assert [m.name for m in detail.metrics] == ["accuracy"]

    result = CliRunner().invoke(cli, ["ls", "executions", "--status", "running", "--json"])
    [row] = json.loads(result.stdout)
    assert row["id"] == execution_id and row["started_at"] and row["ended_at"] is None
    assert row["stale"] is True  # recorded running; its process is gone
    table = CliRunner().invoke(cli, ["ls", "executions", "--status", "running"]).stdout
    assert execution_id in table and "stale" in table

    # The store takes new work after the crash.
    with Cmf(pipeline="fragile") as cmf, cmf.execution("train"):
        pass
