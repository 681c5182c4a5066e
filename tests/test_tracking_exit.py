"""Buffered step metrics reach the store without another call, at exit, on SIGTERM and
before a SIGKILL; a run left open when its process ends is recorded ``failed``.

Each case is a real Python process that logs through ``cmf_core`` into a real SQLite
file and is then ended for real: it returns, gets SIGTERM, or gets SIGKILL.
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cmf_core import Cmf
from cmf_core.records import ExecutionStatus

CHILD = """
import sys
from cmf_core import Cmf
cmf = Cmf(pipeline="fraud", store=sys.argv[1], capture_git=False)
run = cmf.start_execution("train")
for step in range(5):
    run.log_metric("loss", 1.0 / (step + 1), step=step)
print(run.id, flush=True)
if sys.argv[2] == "wait":
    sys.stdin.readline()  # stays alive, its buffer unwritten by any further call
"""


@contextmanager
def child_process(
    store: str, mode: str, tmp_path: Path, script: str = CHILD
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The child running ``script``, and the id of the run it started."""
    with subprocess.Popen(
        [sys.executable, "-c", script, store, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    ) as child:
        assert child.stdout is not None
        try:
            yield child, child.stdout.readline().strip()
        finally:
            if child.poll() is None:
                child.kill()


def recorded(store: str, run_id: str) -> tuple[ExecutionStatus, str | None, list[int | None]]:
    with Cmf(pipeline="fraud", store=store, capture_git=False) as cmf:
        execution = cmf.store.get_execution(run_id)
        steps = [m.step for m in cmf.store.get_metrics(run_id, name="loss")]
    return execution.status, execution.error, steps


def assert_intact(store: str) -> None:
    with sqlite3.connect(store.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metadata.db'}"


def test_a_process_that_exits_without_ending_its_run_records_it_failed_with_every_step(
    store: str, tmp_path: Path
) -> None:
    with child_process(store, "exit", tmp_path) as (child, run_id):
        assert child.wait(timeout=60) == 0
    status, error, steps = recorded(store, run_id)
    assert status is ExecutionStatus.FAILED
    assert error == "process exited without ending the execution"
    assert steps == [0, 1, 2, 3, 4]
    assert_intact(store)


def test_sigterm_writes_the_buffer_ends_the_run_failed_and_still_terminates(
    store: str, tmp_path: Path
) -> None:
    with child_process(store, "wait", tmp_path) as (child, run_id):
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == -signal.SIGTERM  # the default action still happens
    status, error, steps = recorded(store, run_id)
    assert status is ExecutionStatus.FAILED
    assert error == "terminated by SIGTERM"
    assert steps == [0, 1, 2, 3, 4]
    assert_intact(store)


def test_buffered_steps_are_written_within_about_a_second_without_another_call(
    store: str, tmp_path: Path
) -> None:
    with child_process(store, "wait", tmp_path) as (child, run_id):
        try:
            deadline = time.monotonic() + 30  # generous: the flush thread writes within ~1.25 s
            while recorded(store, run_id)[2] != [0, 1, 2, 3, 4]:
                assert time.monotonic() < deadline, "the buffered steps never reached the store"
                time.sleep(0.05)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=60)
    status, _, steps = recorded(store, run_id)
    assert status is ExecutionStatus.RUNNING  # SIGKILL ends nothing; the steps are kept
    assert steps == [0, 1, 2, 3, 4]
    assert_intact(store)


def test_a_handler_the_program_had_for_sigterm_is_still_called(store: str, tmp_path: Path) -> None:
    script = (
        "import signal, sys\n"
        "signal.signal(signal.SIGTERM, lambda s, f: (print('mine', flush=True), sys.exit(3)))\n"
        + CHILD
    )
    with child_process(store, "wait", tmp_path, script) as (child, run_id):
        assert child.stdout is not None
        child.send_signal(signal.SIGTERM)
        assert child.stdout.readline().strip() == "mine"
        assert child.wait(timeout=60) == 3
    status, error, steps = recorded(store, run_id)
    assert (status, error, steps) == (
        ExecutionStatus.FAILED,
        "terminated by SIGTERM",
        [0, 1, 2, 3, 4],
    )


# -- kills at random points --------------------------------------------------------------

LOGGER = """
import sys
from cmf_core import Cmf
cmf = Cmf(pipeline="fraud", store=sys.argv[1], capture_git=False)
run = cmf.start_execution("train")
print(run.id, flush=True)
limit = int(sys.argv[2])
step = 0
while limit < 0 or step < limit:
    run.log_metric("loss", 1.0 / (step + 1))
    if step % 25 == 0:
        print(step, flush=True)  # every step up to this one was acknowledged
    step += 1
"""

# Read at import: the suite's fixtures clear every CMF_* variable for each test.
SLOW = os.environ.get("CMF_SLOW_TESTS") == "1"
TRIALS = int(os.environ.get("CMF_EXIT_TRIALS", "60"))


def kill_trial(store: str, tmp_path: Path, seed: int) -> None:
    """One logging process ended at a random point by SIGKILL, SIGTERM or its own exit."""
    rng = random.Random(seed)
    how = rng.choice(["kill", "term", "exit"])
    limit = rng.randrange(1, 3_000) if how == "exit" else -1
    with subprocess.Popen(
        [sys.executable, "-c", LOGGER, store, str(limit)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    ) as child:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        acknowledged = -1
        if how != "exit":
            for _ in range(rng.randrange(1, 40)):
                line = child.stdout.readline().strip()
                if not line:
                    break
                acknowledged = int(line)
            child.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        for line in child.stdout:
            acknowledged = int(line)
        child.wait(timeout=60)
    assert_intact(store)
    status, error, steps = recorded(store, run_id)
    assert steps == list(range(len(steps))), "steps are recorded once each, in order"
    if how == "kill":
        assert status is ExecutionStatus.RUNNING
        return
    # An exit or SIGTERM writes everything logged, acknowledged or not.
    assert status is ExecutionStatus.FAILED, (how, error)
    assert len(steps) - 1 >= acknowledged
    if how == "exit":
        assert len(steps) == limit and error == "process exited without ending the execution"
    else:
        assert error == "terminated by SIGTERM"


@pytest.mark.parametrize("seed", range(3))
def test_a_process_ended_at_a_random_point_leaves_an_intact_store(
    tmp_path: Path, seed: int
) -> None:
    kill_trial(f"sqlite:///{tmp_path / 'metadata.db'}", tmp_path, seed)


@pytest.mark.slow
def test_many_processes_ended_at_random_points_leave_intact_stores(tmp_path: Path) -> None:
    if not SLOW:
        pytest.skip("set CMF_SLOW_TESTS=1 for the many-trial run")
    for seed in range(100, 100 + TRIALS):
        folder = tmp_path / str(seed)
        folder.mkdir()
        kill_trial(f"sqlite:///{folder / 'metadata.db'}", folder, seed)


def test_the_flush_thread_writes_a_heartbeat_for_open_runs(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cmf_core.run_guard.HEARTBEAT_S", 0.0)
    with Cmf(pipeline="fraud", store=store, capture_git=False) as cmf:
        run = cmf.start_execution("train")
        deadline = time.monotonic() + 30
        while (alive := cmf.store.liveness([run.id])[0]).heartbeat_at is None:
            assert time.monotonic() < deadline, "no heartbeat was written"
            time.sleep(0.05)
        run.end()
    assert alive.host and alive.pid == os.getpid()


def test_the_flush_thread_never_writes_through_a_store_its_program_closed(store: str) -> None:
    cmf = Cmf(pipeline="fraud", store=store, capture_git=False)
    run = cmf.start_execution("train")
    run.log_metric("loss", 0.5)
    cmf.store.close()
    run._buffered_since -= 60  # due long ago: the thread would write it if it could
    time.sleep(1.0)  # four ticks of the thread
    with sqlite3.connect(store.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT count(*) FROM metrics").fetchone() == (0,)
    conn.close()
