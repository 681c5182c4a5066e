"""What recording one execution costs the store: transactions and statements, on both backends,
and what the write queue of a SQLite store (a lock file beside it) keeps true under real
concurrent processes.

Each recording call is still one transaction of its own (it is written through: a killed
process leaves everything acknowledged), so an execution of start, an input, an output,
three metrics and end is five short transactions; the counts below hold that shape.
"""

import datetime
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from cmf_core import Cmf
from cmf_core.errors import ConflictError, InvalidInputError, NotFoundError
from cmf_core.records import ExecutionStatus
from cmf_core.store import Store
from cmf_core.store.write_lock import WriteLock


class Tally:
    """The statements and commits an engine ran while counting."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0


@contextmanager
def counted(store: Store) -> Iterator[Tally]:
    tally = Tally()
    engine = store._engine  # the store's own engine: what recording really runs

    def on_statement(*args: object) -> None:
        tally.statements.append(str(args[2]).split()[0].upper())

    def on_commit(_conn: object) -> None:
        tally.commits += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield tally
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def log_one(cmf: Cmf, folder: Path, i: int) -> str:
    (folder / "model.bin").write_bytes(f"model {i}\n".encode())
    with cmf.execution("train", params={"lr": 0.01}) as run:
        run.log_dataset(folder / "input.csv")
        run.log_model(folder / "model.bin")
        run.log_metrics({"accuracy": 0.93, "loss": 0.21, "f1": 0.88})
    return run.id


def test_one_execution_is_five_short_transactions_of_few_statements(
    store_url: str, bare_project: Path
) -> None:
    (bare_project / "input.csv").write_text("x\n1\n")
    with Cmf(pipeline="p", store=store_url, capture_git=False, capture_environment=False) as cmf:
        log_one(cmf, bare_project, 0)  # the stage, the input artifact and the caches exist
        with counted(cmf.store) as tally:
            execution_id = log_one(cmf, bare_project, 1)
        detail = cmf.store.get_execution_detail(execution_id)
    # start, input, output, metrics, end: each acknowledged call is written through.
    assert tally.commits == 5
    # Per call: the write, the running check where one is needed, and a journal row per
    # record changed (a new output artifact is one more); PostgreSQL adds the journal's
    # advisory lock before each journal row.
    journal_locks = 6 if cmf.store.dialect == "postgresql" else 0
    assert len(tally.statements) <= 17 + journal_locks, tally.statements
    assert detail.execution.status is ExecutionStatus.COMPLETED
    assert [e.path for e in detail.inputs] == ["input.csv"]
    assert [e.path for e in detail.outputs] == ["model.bin"]
    assert sorted(m.name for m in detail.metrics) == ["accuracy", "f1", "loss"]


def test_what_the_short_path_stores_reads_back_as_any_other_record(
    store_url: str, bare_project: Path
) -> None:
    (bare_project / "input.csv").write_text("x\n1\n")
    with Cmf(pipeline="p", store=store_url, capture_git=False) as cmf:
        run = cmf.start_execution("train", params={"lr": 0.5, "name": "é"}, command="go")
        artifact = run.log_dataset(bare_project / "input.csv", properties={"rows": 1})
        again = run.log_dataset(bare_project / "input.csv", properties={"split": "train"})
        run.end()
        detail = cmf.store.get_execution_detail(run.id)
        stored = cmf.store.get_artifacts([artifact.digest])[artifact.digest]
    assert detail.execution.params == {"lr": 0.5, "name": "é"}
    assert detail.execution.command == "go"
    assert detail.execution.started_at.tzinfo is not None
    assert detail.execution.ended_at is not None
    assert detail.execution.ended_at >= detail.execution.started_at
    assert artifact.created_at == stored.created_at
    assert again.properties == stored.properties == {"rows": 1, "split": "train"}


def test_ending_twice_or_an_unknown_execution_is_refused_and_changes_nothing(
    store_url: str,
) -> None:
    with Store(store_url) as store:
        stage = store.ensure_stage("p", "s")
        store.start_execution(id="01a00000-0000-7000-8000-000000000001", stage_id=stage)
        store.end_execution(
            "01a00000-0000-7000-8000-000000000001", status=ExecutionStatus.COMPLETED
        )
        ended = store.get_execution("01a00000-0000-7000-8000-000000000001")
        with pytest.raises(ConflictError, match="already ended"):
            store.end_execution(
                "01a00000-0000-7000-8000-000000000001", status=ExecutionStatus.FAILED
            )
        with pytest.raises(NotFoundError):
            store.end_execution(
                "01a00000-0000-7000-8000-00000000dead", status=ExecutionStatus.FAILED
            )
        assert store.get_execution("01a00000-0000-7000-8000-000000000001") == ended


WRITER = textwrap.dedent(
    """
    import sys
    from cmf_core import Cmf

    url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Cmf(pipeline="queue", store=url, capture_git=False, capture_environment=False) as cmf:
        for i in range(count):
            with cmf.execution("train", params={"worker": worker, "i": i}) as run:
                run.log_dataset("shared.csv")
                run.log_metrics({"value": i})
    """
)


def test_writers_queued_on_the_lock_file_lose_nothing(bare_project: Path, sqlite_url: str) -> None:
    (bare_project / "shared.csv").write_text("a\n1\n")
    (bare_project / "writer.py").write_text(WRITER)
    workers, each = 6, 30
    processes = [
        subprocess.Popen(
            [sys.executable, "writer.py", sqlite_url, str(w), str(each)],
            cwd=bare_project,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * workers, errors
    with Store(sqlite_url) as store:
        assert store.count("executions") == workers * each
        assert store.count("events") == workers * each
        assert store.count("metrics") == workers * each
        assert store.list_executions(status=ExecutionStatus.RUNNING) == []
    assert Path(sqlite_url.removeprefix("sqlite:///") + "-lock").is_file()


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cmf_core.store.write_lock import WriteLock

    lock = WriteLock(Path(sys.argv[1]))
    lock.acquire(lock.open())
    print("held", flush=True)
    sys.stdin.read()
    """
)


def test_a_write_waits_while_another_process_holds_the_lock_file(
    bare_project: Path, sqlite_url: str
) -> None:
    with Store(sqlite_url) as store:
        stage = store.ensure_stage("p", "s")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, sqlite_url.removeprefix("sqlite:///")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    written = threading.Event()

    def write() -> None:
        with Store(sqlite_url) as store:
            store.start_execution(id="01a00000-0000-7000-8000-000000000002", stage_id=stage)
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        # Not a timing assertion: the write cannot happen at all until the holder lets go.
        assert not written.wait(1.0)
        assert holder.poll() is None
    finally:
        holder.stdin.close()  # the holder exits, and its lock goes with it
        holder.wait(timeout=30)
        holder.stdout.close()
    writer.join(timeout=60)
    assert written.is_set()
    with Store(sqlite_url) as store:
        assert store.count("executions") == 1


def test_reads_never_make_or_take_the_lock_file(bare_project: Path, sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        store.ensure_stage("p", "s")
    lock = Path(sqlite_url.removeprefix("sqlite:///") + "-lock")
    os.unlink(lock)
    with Store(sqlite_url, read_only=True) as store:
        assert store.count("stages") == 1
    assert not lock.exists()
    # A read also goes on while a writer holds the lock.
    with Store(sqlite_url) as store:
        store.ensure_stage("p", "t")
    queue = WriteLock(Path(sqlite_url.removeprefix("sqlite:///")))
    fd = queue.open()
    slot = queue.acquire(fd)
    try:
        with Store(sqlite_url, read_only=True) as store:
            assert store.count("stages") == 2  # it returned: a read does not queue
    finally:
        queue.release(fd, slot)
        os.close(fd)


def tickets_taken(database: str) -> int:
    raw = Path(database + "-lock").read_bytes()[8:16]
    return int.from_bytes(raw, "little")


def test_writers_are_served_in_the_order_they_queued(sqlite_url: str) -> None:
    database = sqlite_url.removeprefix("sqlite:///")
    with Store(sqlite_url) as store:
        stage = store.ensure_stage("p", "s")
    ids = [f"01a00000-0000-7000-8000-00000000000{i}" for i in range(4)]
    # Opened first: opening a store takes a turn of its own, which would put a writer's
    # start behind the openings of those that queued after it.
    stores = [Store(sqlite_url) for _ in ids]
    queue = WriteLock(Path(database))
    fd = queue.open()
    slot = queue.acquire(fd)  # the queue is held: every writer below waits behind it
    threads = []
    try:
        for store, execution_id in zip(stores, ids, strict=True):
            before = tickets_taken(database)

            def write(store: Store = store, execution_id: str = execution_id) -> None:
                store.start_execution(id=execution_id, stage_id=stage)

            threads.append(threading.Thread(target=write))
            threads[-1].start()
            while tickets_taken(database) == before:  # it has taken its ticket
                threads[-1].join(0.01)
    finally:
        queue.release(fd, slot)
        os.close(fd)
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    with sqlite3.connect(database) as conn:  # the journal numbers commits in their order
        journaled = conn.execute(
            "SELECT key FROM changes WHERE kind = 'execution' ORDER BY seq"
        ).fetchall()
    conn.close()
    assert [key for (key,) in journaled] == ids


def test_a_writer_killed_while_it_holds_the_queue_lets_the_others_in(sqlite_url: str) -> None:
    database = sqlite_url.removeprefix("sqlite:///")
    with Store(sqlite_url) as store:
        stage = store.ensure_stage("p", "s")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    holder.stdout.close()
    holder.stdin.close()
    with Store(sqlite_url) as store:
        store.start_execution(id="01a00000-0000-7000-8000-000000000009", stage_id=stage)
        assert store.count("executions") == 1


def test_a_value_the_store_cannot_encode_is_refused_and_nothing_is_recorded(
    store_url: str,
) -> None:
    with Store(store_url) as store:
        stage = store.ensure_stage("p", "s")
        with pytest.raises(InvalidInputError, match="cannot hold a value"):
            store.start_execution(
                id="01a00000-0000-7000-8000-00000000000a",
                stage_id=stage,
                params={"when": datetime.date(2020, 1, 1)},
            )
        assert store.count("executions") == 0


def test_the_recording_path_stores_times_as_sqlalchemy_does(tmp_path: Path) -> None:
    """Whole seconds too: the text filters and cursors compare must not depend on the path
    a row came in by (plain SQL here, SQLAlchemy expressions in a merge)."""
    path = tmp_path / "metadata.db"
    at = datetime.datetime(2024, 5, 1, 11, 0, tzinfo=datetime.UTC)
    with Store(f"sqlite:///{path}") as store:
        stage = store.ensure_stage("p", "s")
        store.start_execution(id="01a2" + "0" * 28, stage_id=stage, started_at=at)
        store.end_execution("01a2" + "0" * 28, status=ExecutionStatus.COMPLETED)
        assert [e.started_at for e in store.list_executions()] == [at]
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT started_at FROM executions").fetchone()
    assert stored == "2024-05-01 11:00:00.000000"
