"""The change journal and what sync reads from it, on both backends."""

import sqlite3
from pathlib import Path

from cmf_core.store import Store
from cmf_core.store.batch import RecordBatch
from cmf_core.store.merge import merge_records
from cmf_core.sync.wire import SyncBatch, fingerprint
from tests.sync_support import digest_of, log_run


def journal_rows(store: Store) -> list[tuple[int, str, str, str | None]]:
    from sqlalchemy import select

    from cmf_core.store.schema import changes

    with store._read() as conn:
        query = select(changes.c.seq, changes.c.kind, changes.c.key, changes.c.origin)
        return [tuple(row) for row in conn.execute(query.order_by(changes.c.seq))]


def test_every_record_is_journaled_once_in_the_order_it_last_changed(store_url: str) -> None:
    with Store(store_url) as store:
        first = log_run(store, "fraud", "prepare", inputs=("raw",), outputs=("features",))
        second = log_run(store, "fraud", "train", inputs=("features",), outputs=("model",))
        rows = journal_rows(store)
        keys = [(kind, key) for _, kind, key, _ in rows]
        assert len(keys) == len(set(keys))  # one row per record
        assert {k for k in keys if k[0] == "execution"} == {
            ("execution", first),
            ("execution", second),
        }
        assert ("artifact", digest_of("features")) in keys
        assert ("pipeline", "fraud") in keys
        # The first run ended before the second started: it comes first.
        order = [key for kind, key in keys if kind == "execution"]
        assert order == [first, second]
        seqs = [seq for seq, *_ in rows]
        assert seqs == sorted(seqs)


def test_a_page_is_self_contained_and_moves_the_cursor(store_url: str) -> None:
    with Store(store_url) as store:
        run = log_run(
            store, "fraud", "train", inputs=("raw",), outputs=("model",), metrics={"acc": 0.9}
        )
        page = store.changes_after(0)
        assert not page.more and page.last == store.latest_seq()
        batch = page.records
        assert [e.id for e in batch.executions] == [run]
        assert {a.digest for a in batch.artifacts} == {digest_of("raw"), digest_of("model")}
        assert {(e.direction.value, e.path) for e in batch.events} == {
            ("input", "raw"),
            ("output", "model"),
        }
        assert [(m.name, m.value) for m in batch.metrics] == [("acc", 0.9)]
        assert [s.name for s in batch.stages] == ["train"]
        assert len(store.changes_after(page.last).records) == 0
        assert store.changes_after(page.last).last == page.last


def test_pages_are_bounded_and_resume_where_they_stopped(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        runs = [log_run(store, "p", "s", outputs=(f"out-{i}",)) for i in range(7)]
        seen: list[str] = []
        cursor, pages = 0, 0
        while True:
            page = store.changes_after(cursor, limit=3)
            seen += [e.id for e in page.records.executions]
            cursor, pages = page.last, pages + 1
            if not page.more:
                break
        assert sorted(seen) == sorted(runs) and pages > 2


def test_a_pipeline_filter_keeps_only_that_pipelines_records(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        mine = log_run(store, "mine", "s", outputs=("a",))
        log_run(store, "other", "s", outputs=("b",))
        batch = store.changes_after(0, pipeline="mine").records
        assert [e.id for e in batch.executions] == [mine]
        assert {p.name for p in batch.pipelines} == {"mine"}
        assert {a.digest for a in batch.artifacts} == {digest_of("a")}


def test_a_running_execution_is_journaled_again_as_it_gains_links(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        run = log_run(store, "p", "s", end=False)
        after_start = store.latest_seq()
        store.add_metrics(run, [("loss", 0, 0.5, 0.0)])
        page = store.changes_after(after_start)
        assert [e.id for e in page.records.executions] == [run]
        assert [m.step for m in page.records.metrics] == [0]


def test_a_merge_journals_what_it_changed_with_its_origin_and_nothing_else(
    store_url: str, tmp_path: Path
) -> None:
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as source, Store(store_url) as target:
        log_run(source, "p", "s", inputs=("raw",), outputs=("model",))
        batch = source.changes_after(0).records
        merge_records(target, batch, origin="https://hub.example")
        origins = {origin for *_, origin in journal_rows(target)}
        assert origins == {"https://hub.example"}
        before = journal_rows(target)
        merge_records(target, batch, origin="elsewhere")  # a repeat changes nothing
        assert journal_rows(target) == before
        skipped = target.changes_after(0, skip_origin="https://hub.example")
        assert len(skipped.records) == 0 and skipped.last == target.latest_seq()


def test_conflicts_are_kept_once_with_both_versions(store_url: str, tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as source, Store(store_url) as target:
        log_run(source, "p", "s", outputs=("model",))
        batch = source.changes_after(0).records
        merge_records(target, batch)
        changed = batch.executions[0].model_copy(update={"command": "python other.py"})
        other = RecordBatch(executions=[changed])
        for _ in range(2):
            summary = merge_records(target, other, source="pushed by edge-7")
            assert summary.executions.conflicts == 1
        kept = target.list_conflicts()
        assert len(kept) == 1 and target.count_conflicts() == 1
        assert kept[0].stored == {"command": None} or "command" in kept[0].stored
        assert kept[0].incoming["command"] == "python other.py"
        assert kept[0].source == "pushed by edge-7"
        # The stored version was kept.
        assert target.get_execution(changed.id).command == batch.executions[0].command


def test_a_merge_with_an_actor_is_audited_in_the_same_transaction(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        run = log_run(store, "p", "s", outputs=("m",), site="edge-7")
        batch = store.changes_after(0).records
    with Store(sqlite_url.replace("metadata.db", "server.db")) as server:
        merge_records(server, batch, actor="edge-7")
        entries = server.read_audit()
        kinds = {(e.kind, e.key) for e in entries}
        assert ("execution", run) in kinds and ("pipeline", "p") in kinds
        assert {e.actor for e in entries} == {"edge-7"}
        batch_row = next(e for e in entries if e.kind == "batch")
        assert batch_row.detail["summary"]["executions"]["new"] == 1
        assert next(e for e in entries if e.kind == "execution").detail["site"] == "edge-7"


def test_wire_records_round_trip_and_fingerprints_ignore_key_order(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        log_run(store, "p", "s", outputs=("m",), metrics={"nan": float("nan")}, steps=3)
        batch = store.changes_after(0).records
    wire = SyncBatch.of(batch)
    again = SyncBatch.model_validate_json(wire.model_dump_json()).batch()
    assert len(again) == len(batch)
    assert [m.step for m in again.metrics] == [m.step for m in batch.metrics]
    execution = batch.executions[0]
    flipped = execution.model_copy(update={"params": dict(reversed(execution.params.items()))})
    assert fingerprint(flipped) == fingerprint(execution)


def test_an_older_store_journals_what_it_held_when_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with Store(url) as store:
        run = log_run(store, "p", "s", outputs=("m",))
    with sqlite3.connect(path) as conn:
        for table in ("changes", "sync_cursors", "conflicts", "audit", "annotations"):
            conn.execute(f"DROP TABLE {table}")
        for column in ("host", "pid", "heartbeat_at"):  # added by 0007
            conn.execute(f"ALTER TABLE executions DROP COLUMN {column}")
        conn.execute("ALTER TABLE tokens DROP COLUMN expires_at")
        conn.execute("DROP INDEX ix_events_artifact_direction_created")  # 0009
        conn.execute("DROP INDEX ix_events_artifact_path")
        conn.execute("CREATE INDEX ix_events_artifact_direction ON events (artifact_id, direction)")
        for trigger in ("insert", "update", "delete"):  # 0010
            conn.execute(f"DROP TRIGGER tr_execution_params_{trigger}")
        conn.execute("DROP TABLE execution_params")
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    with Store(url) as store:  # a SQLite store is upgraded at open
        assert ("execution", run) in {(kind, key) for _, kind, key, _ in journal_rows(store)}
        assert [e.id for e in store.changes_after(0).records.executions] == [run]
