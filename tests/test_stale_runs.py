"""Stale runs: a run whose process died shows as stale everywhere, and close-stale ends it."""

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core.config import load_settings
from cmf_core.duration import format_duration, parse_duration
from cmf_core.errors import ConfigError, InvalidInputError
from cmf_core.ids import Uuid7Generator
from cmf_core.stale import close_stale, find_stale
from cmf_core.store import Store
from cmf_mcp.cli.main import cli
from tests.mcp_support import connect, make_server

CHILD = """
import sys, time
from cmf_core import Cmf
cmf = Cmf(pipeline="fraud", store=sys.argv[1], capture_git=False, capture_environment=False)
run = cmf.start_execution("train", params={"lr": 0.1})
print(run.id, flush=True)
time.sleep(600)
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def journal_seq(store: Store, execution_id: str) -> int:
    from sqlalchemy import func, select

    from cmf_core.store.schema import changes

    with store._read() as conn:
        query = select(func.max(changes.c.seq)).where(
            changes.c.kind == "execution", changes.c.key == execution_id
        )
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def killed_run(bare_project: Path, sqlite_url: str) -> Iterator[tuple[str, int]]:
    """(execution id, pid) of a run whose recording process was SIGKILLed mid-run."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, sqlite_url],
        cwd=bare_project,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        execution_id = child.stdout.readline().strip()
        with Store(sqlite_url) as store:
            assert find_stale(store) == []  # alive: not stale
            assert [live.pid for live in store.liveness([execution_id])] == [child.pid]
        child.send_signal(signal.SIGKILL)
        child.wait()
        yield execution_id, child.pid
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_killed_run_shows_stale_in_ls_show_and_the_mcp_tools(
    killed_run: tuple[str, int], sqlite_url: str
) -> None:
    execution_id, pid = killed_run
    reason = f"process {pid} on {socket.gethostname()} gone"
    with Store(sqlite_url) as store:
        [stale] = find_stale(store)
        assert (stale.execution_id, stale.pid, stale.reason) == (execution_id, pid, reason)
        assert store.get_execution(execution_id).status.value == "running"  # nothing written

    code, out, _ = invoke("--store", sqlite_url, "ls", "executions")
    assert code == 0 and "stale" in out and "running" not in out
    code, out, _ = invoke("--store", sqlite_url, "ls", "executions", "--json")
    [row] = json.loads(out)
    assert row["stale"] is True and row["status"] == "running"
    code, out, _ = invoke("--store", sqlite_url, "show", execution_id)
    assert code == 0 and "running (stale)" in out and reason in out
    code, out, _ = invoke("--store", sqlite_url, "show", execution_id, "--json")
    assert json.loads(out)["stale_reason"] == reason

    with connect(make_server(sqlite_url)) as client:
        view = client.ok("get_execution", {"execution_id": execution_id})
        assert view["execution"]["stale"] is True
        page = client.ok("search_executions", {"pipeline": "fraud"})
        assert [item["stale"] for item in page["items"]] == [True]
        text = client.call("search_executions", {}).content[0]
        assert "stale" in getattr(text, "text", "")


def test_close_stale_ends_a_killed_run_failed_through_the_journal(
    killed_run: tuple[str, int], sqlite_url: str
) -> None:
    execution_id, pid = killed_run
    with Store(sqlite_url) as store:
        before = journal_seq(store, execution_id)

    code, out, _ = invoke("--store", sqlite_url, "runs", "close-stale", "--dry-run", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["dry_run"] is True
    assert [r["execution_id"] for r in answer["runs"]] == [execution_id]
    code, out, _ = invoke("--store", sqlite_url, "runs", "close-stale", "--older-than", "1h")
    assert (code, out) == (0, "No stale runs.\n")  # it went silent seconds ago
    with Store(sqlite_url) as store:
        assert store.get_execution(execution_id).status.value == "running"

    code, out, _ = invoke("--store", sqlite_url, "runs", "close-stale")
    assert code == 0 and f"Closed {execution_id} as failed" in out
    with Store(sqlite_url) as store:
        ended = store.get_execution(execution_id)
        assert ended.status.value == "failed" and ended.ended_at is not None
        assert ended.error == f"stale: process {pid} on {socket.gethostname()} gone"
        assert journal_seq(store, execution_id) > before  # sync sees the end
        assert find_stale(store) == []
    assert invoke("--store", sqlite_url, "runs", "close-stale")[1] == "No stale runs.\n"
    code, out, _ = invoke("--store", sqlite_url, "ls", "executions")
    assert "failed" in out and "stale" not in out


def test_a_cmf_run_whose_cmf_process_dies_is_stale_under_cmf_s_pid(
    bare_project: Path, sqlite_url: str
) -> None:
    command = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(600)"]
    cmf_run = ["-m", "cmf_mcp", "--store", sqlite_url, "run", "--pipeline", "p", "--stage", "s"]
    cmf = subprocess.Popen(
        [sys.executable, *cmf_run, "--", *command],
        cwd=bare_project,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert cmf.stdout is not None and cmf.stdout.readline() == "ready\n"
        with Store(sqlite_url) as store:
            [live] = store.liveness()
            assert live.pid == cmf.pid  # cmf records the run, not the command it watches
            assert find_stale(store) == []
        os.killpg(cmf.pid, signal.SIGKILL)  # cmf and the command both
        cmf.wait()
        with Store(sqlite_url) as store:
            assert [s.execution_id for s in find_stale(store)] == [live.execution_id]
    finally:
        if cmf.poll() is None:
            os.killpg(cmf.pid, signal.SIGKILL)
            cmf.wait()
        if cmf.stdout is not None:
            cmf.stdout.close()


def _running(store: Store, **liveness: object) -> str:
    execution_id = Uuid7Generator().new()
    stage_id = store.ensure_stage("p", "s")
    store.start_execution(id=execution_id, stage_id=stage_id, **liveness)  # type: ignore[arg-type]
    return execution_id


def test_a_run_on_another_host_is_stale_once_its_heartbeat_is_older_than_stale_after(
    store_url: str,
) -> None:
    now = datetime.now(UTC)
    with Store(store_url) as store:
        run = _running(store, host="gpu-7.elsewhere", pid=4242, started_at=now - timedelta(hours=1))
        [stale] = find_stale(store, now=now)
        assert stale.reason == "no sign of life since the start from gpu-7.elsewhere for 1h"
        assert store.heartbeat([run, run]) == 1
        assert find_stale(store) == []
        later = now + timedelta(minutes=20)
        [stale] = find_stale(store, now=later)
        assert stale.reason.startswith("no heartbeat from gpu-7.elsewhere for ")
        assert find_stale(store, now=later, stale_after=timedelta(hours=1)) == []
        assert find_stale(store, now=later, older_than=timedelta(hours=1)) == []
        [closed] = close_stale(store, stale_after=timedelta(seconds=0))
        assert closed.execution_id == run
        assert store.heartbeat([run]) == 0  # ended runs keep no heartbeat
        assert store.liveness([run]) == []


def test_on_this_host_a_live_pid_is_not_stale_but_a_reused_pid_is(sqlite_url: str) -> None:
    host = socket.gethostname()
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with Store(sqlite_url) as store:
            alive = _running(store, host=host, pid=os.getppid())  # started before this run
            reused = _running(
                store,
                host=host,
                pid=newer.pid,  # alive, but started an hour after the run did
                started_at=datetime.now(UTC) - timedelta(hours=1),
            )
            old = _running(store, started_at=datetime.now(UTC) - timedelta(days=2))  # no pid
            stale = {s.execution_id: s.reason for s in find_stale(store)}
            assert alive not in stale
            assert stale[reused] == f"process {newer.pid} on {host} gone"
            assert stale[old] == "no sign of life since the start for 2d"
    finally:
        newer.kill()
        newer.wait()


def test_stale_after_is_a_setting_and_bad_durations_are_refused(bare_project: Path) -> None:
    assert load_settings().stale_after == timedelta(minutes=15)
    assert load_settings(environ={"CMF_STALE_AFTER": "2h"}).stale_after == timedelta(hours=2)
    (bare_project / ".cmf" / "config.toml").write_text('stale_after = "soon"\n')
    with pytest.raises(ConfigError, match="not a duration"):
        load_settings()
    (bare_project / ".cmf" / "config.toml").write_text('stale_after = "45s"\n')
    assert load_settings().stale_after == timedelta(seconds=45)
    code, _, err = invoke("runs", "close-stale", "--older-than", "soon")
    assert code == 1 and err.startswith("Error: --older-than 'soon' is not a duration")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1.5d", 129600), ("1w", 604800)],
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "h", "-1h", "2 hours", "1e9w", "15min"])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_duration(text)


def test_durations_print_short() -> None:
    shown = [format_duration(timedelta(seconds=s)) for s in (5, 125, 3600, 3900, 86400, 90000)]
    assert shown == ["5s", "2m", "1h", "1h 5m", "1d", "1d 1h"]
