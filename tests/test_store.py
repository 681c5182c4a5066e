"""The store: schema at open, revisions, URLs, writes and reads on SQLite and PostgreSQL."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cmf_core.errors import (
    ConfigError,
    ConflictError,
    InvalidInputError,
    Kind,
    NotFoundError,
    StoreError,
)
from cmf_core.hashing import StatEntry
from cmf_core.ids import Uuid7Generator
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store
from cmf_core.store.migrate import upgrade_store
from cmf_core.store.schema import HEAD_REVISION, REVISIONS, metadata

ids = Uuid7Generator()


def start(store: Store, stage: str = "train", pipeline: str = "fraud") -> str:
    execution_id = ids.new()
    store.start_execution(id=execution_id, stage_id=store.ensure_stage(pipeline, stage))
    return execution_id


def model(digest: str = "md5:" + "a" * 32, type: str = "model") -> ArtifactRow:
    return ArtifactRow(digest=digest, type=type, size=10, nfiles=None, properties={})


def test_a_new_store_is_created_at_the_newest_schema(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.list_pipelines() == []
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            HEAD_REVISION
        )
    engine.dispose()


def test_reopening_a_store_keeps_what_was_recorded(store_url: str) -> None:
    with Store(store_url) as store:
        execution_id = start(store)
    with Store(store_url) as store:
        assert store.get_execution(execution_id).status is ExecutionStatus.RUNNING


def test_the_migrations_build_the_same_schema_as_a_new_store(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from cmf_core.store.migrate import MIGRATIONS, upgrade_engine

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD_REVISION
    assert tuple(sorted(r.revision for r in script.walk_revisions())) == tuple(sorted(REVISIONS))

    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade_engine(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            HEAD_REVISION
        )
    engine.dispose()
    with Store(f"sqlite:///{tmp_path / 'migrated.db'}") as store:
        assert store.list_pipelines() == []


def test_a_store_with_a_newer_schema_is_refused_with_advice(sqlite_url: str) -> None:
    Store(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer than this cmf.*upgrade cmf"):
        Store(sqlite_url)


def test_a_database_not_made_by_cmf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE executions (x INTEGER)")
    with pytest.raises(StoreError, match="not made by cmf"):
        Store(f"sqlite:///{path}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "Cannot parse store URL"),
        ("mysql://root@localhost/test", "Unsupported store URL scheme 'mysql'"),
    ],
)
def test_a_malformed_store_url_says_what_a_good_one_looks_like(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Store(url)


def test_a_directory_as_sqlite_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        Store(f"sqlite:///{tmp_path}")


def test_an_unreachable_postgresql_server_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError, match="Cannot open the store") as caught:
        Store("postgresql+psycopg://cmf:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
    assert "s3cret" not in str(caught.value)


def test_sqlite_stores_use_the_wal_journal(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        start(store)
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_db_upgrade_of_a_current_store_changes_nothing(store_url: str) -> None:
    Store(store_url).close()
    assert upgrade_store(store_url) == (HEAD_REVISION, HEAD_REVISION)


def test_db_upgrade_of_an_empty_database_creates_the_store(sqlite_url: str) -> None:
    assert upgrade_store(sqlite_url) == (None, HEAD_REVISION)
    with Store(sqlite_url) as store:
        assert store.count("executions") == 0


def test_an_ended_execution_cannot_change(store_url: str) -> None:
    with Store(store_url) as store:
        execution_id = start(store)
        store.end_execution(execution_id, status=ExecutionStatus.COMPLETED)
        with pytest.raises(ConflictError, match="already ended"):
            store.end_execution(execution_id, status=ExecutionStatus.FAILED)
        with pytest.raises(ConflictError, match="already ended"):
            store.add_metrics(execution_id, [("acc", None, 0.5, 0.0)])
        with pytest.raises(ConflictError, match="already ended"):
            store.record_artifact(
                model(), execution_id=execution_id, direction=EventDirection.OUTPUT, path="m"
            )
        assert store.get_execution(execution_id).status is ExecutionStatus.COMPLETED


def test_the_same_bytes_under_two_paths_are_one_artifact_with_two_events(store_url: str) -> None:
    with Store(store_url) as store:
        execution_id = start(store)
        for path in ("models/a.pkl", "models/b.pkl", "models/a.pkl"):
            store.record_artifact(
                model(), execution_id=execution_id, direction=EventDirection.OUTPUT, path=path
            )
        detail = store.get_artifact_detail("md5:aaaa")
        assert sorted(e.path for e in detail.events) == ["models/a.pkl", "models/b.pkl"]
        assert store.count("artifacts") == 1


def test_an_artifact_keeps_one_type(store_url: str) -> None:
    with Store(store_url) as store:
        store.record_artifact(model())
        with pytest.raises(ConflictError, match="already recorded as a model"):
            store.record_artifact(model(type="dataset"))


def test_artifact_properties_are_merged(store_url: str) -> None:
    with Store(store_url) as store:
        store.record_artifact(
            ArtifactRow("md5:" + "b" * 32, "dataset", 1, None, {"source": "s3", "rows": 1})
        )
        merged = store.record_artifact(
            ArtifactRow("md5:" + "b" * 32, "dataset", 1, None, {"rows": 2})
        )
        assert merged.properties == {"source": "s3", "rows": 2}


def test_repeating_an_equal_metric_is_a_no_op_and_a_different_one_a_conflict(
    store_url: str,
) -> None:
    with Store(store_url) as store:
        execution_id = start(store)
        store.add_metrics(execution_id, [("acc", None, 0.5, 1.0), ("loss", 0, 2.0, 1.0)])
        store.add_metrics(execution_id, [("acc", None, 0.5, 2.0), ("loss", 1, 1.0, 2.0)])
        with pytest.raises(
            ConflictError, match=r"'loss' at step 1 is 1.0, not 9.0.* other 1 value"
        ):
            store.add_metrics(execution_id, [("loss", 1, 9.0, 3.0), ("loss", 2, 0.5, 3.0)])
        values = [(m.name, m.step, m.value) for m in store.get_metrics(execution_id)]
        # The clashing value is refused; its batch's other value is still recorded.
        assert values == [("acc", None, 0.5), ("loss", 0, 2.0), ("loss", 1, 1.0), ("loss", 2, 0.5)]


def test_a_nan_metric_is_kept(store_url: str) -> None:
    with Store(store_url) as store:
        execution_id = start(store)
        store.add_metrics(execution_id, [("loss", 3, float("nan"), 0.0)])
        [metric] = store.get_metrics(execution_id)
        assert metric.value != metric.value


def test_ids_and_digests_resolve_from_unique_prefixes(store_url: str) -> None:
    with Store(store_url) as store:
        first, second = start(store), start(store)
        assert store.get_execution(first[:30]).id == first
        with pytest.raises(InvalidInputError, match="matches more than one execution"):
            store.get_execution(first[:4])
        with pytest.raises(NotFoundError, match="No execution matches 'ffffffff'") as missing:
            store.get_execution("ffffffff")
        assert missing.value.kind is Kind.EXECUTION
        store.record_artifact(model())
        assert store.get_artifact_detail("aaaa").artifact.digest == "md5:" + "a" * 32
        assert second != first


def test_listing_filters_by_pipeline_stage_and_status(store_url: str) -> None:
    with Store(store_url) as store:
        a = start(store, "prepare", "p1")
        b = start(store, "train", "p1")
        c = start(store, "train", "p2")
        store.end_execution(b, status=ExecutionStatus.FAILED, error="boom")
        assert [p.name for p in store.list_pipelines()] == ["p1", "p2"]
        assert [(s.pipeline, s.name) for s in store.list_stages(pipeline="p1")] == [
            ("p1", "prepare"),
            ("p1", "train"),
        ]
        assert {e.id for e in store.list_executions(pipeline="p1")} == {a, b}
        assert [e.id for e in store.list_executions(stage="train", pipeline="p2")] == [c]
        failed = store.list_executions(status=ExecutionStatus.FAILED)
        assert [(e.id, e.error) for e in failed] == [(b, "boom")]
        assert [e.id for e in store.list_executions(limit=1)] == [c]


def test_stat_cache_entries_round_trip_and_update(store_url: str) -> None:
    with Store(store_url) as store:
        entry = StatEntry("/data/x", 2**64 - 5, 1_700_000_000_123_456_789, 4096, "c" * 32)
        store.put_stat_entries([entry])
        assert store.get_stat_entries(["/data/x"]) == {"/data/x": entry}  # unsigned inode kept
        store.put_stat_entries([StatEntry("/data/x", 7, 2, 3, "d" * 32)])
        assert store.get_stat_entries(["/data/x", "/missing"]) == {
            "/data/x": StatEntry("/data/x", 7, 2, 3, "d" * 32)
        }
        many = [StatEntry(f"/f/{i}", i, i, i, "e" * 32) for i in range(1200)]
        store.put_stat_entries([*many, StatEntry("/f0", 1, 1, 1, "f" * 32)])
        asked = [e.path for e in many[:-1]]  # a directory's worth, read in one range scan
        found = store.get_stat_entries(asked)
        assert sorted(found) == sorted(asked) and found["/f/7"] == many[7]


def make_old_store(url: str, revision: str = "0001") -> None:
    """A store as an older cmf left it: the migrations up to ``revision`` only."""
    from cmf_core.store.engine import build_engine
    from cmf_core.store.migrate import upgrade_engine

    engine = build_engine(url)
    upgrade_engine(engine, revision)
    engine.dispose()


def revision_of(url: str) -> str:
    from cmf_core.store.engine import build_engine

    engine = build_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return str(found)


def test_an_older_sqlite_store_upgrades_itself_when_opened(sqlite_url: str) -> None:
    make_old_store(sqlite_url)
    with Store(sqlite_url) as store:
        execution_id = start(store)
        assert store.get_execution(execution_id).status is ExecutionStatus.RUNNING
    assert revision_of(sqlite_url) == HEAD_REVISION


@pytest.mark.postgres
def test_an_older_postgresql_store_waits_for_cmf_db_upgrade(postgres_database: str) -> None:
    from tests.conftest import _postgres_schema_url

    url = _postgres_schema_url(postgres_database)
    make_old_store(url)
    with pytest.raises(StoreError, match="must be upgraded") as old:
        Store(url)
    assert old.value.kind is Kind.SCHEMA and "postgres@" in str(old.value)
    from click.testing import CliRunner

    from cmf_mcp.cli.main import cli

    told = CliRunner().invoke(cli, ["--store", url, "ls", "pipelines"])
    assert told.exit_code == 1 and "Run `cmf db upgrade`" in told.stderr
    assert revision_of(url) == "0001"
    assert upgrade_store(url) == ("0001", HEAD_REVISION)
    with Store(url) as store:
        assert store.count("executions") == 0
    assert byte_ordered_columns(url) == BYTE_ORDERED  # as a store made new has them


BYTE_ORDERED = {
    ("annotations", "target_key"),
    ("annotations", "uid"),
    ("artifacts", "digest"),
    ("events", "execution_id"),
    ("execution_params", "execution_id"),
    ("execution_params", "string"),
    ("executions", "id"),
    ("metrics", "execution_id"),
    ("stat_cache", "path"),
}


def byte_ordered_columns(url: str) -> set[tuple[str, str]]:
    from cmf_core.store.engine import build_engine

    engine = build_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND collation_name = 'C'"
            )
        ).all()
    engine.dispose()
    return {(r[0], r[1]) for r in rows}


@pytest.mark.postgres
def test_ids_and_digests_compare_byte_by_byte_on_postgresql(postgres_database: str) -> None:
    from tests.conftest import _postgres_schema_url

    url = _postgres_schema_url(postgres_database)
    with Store(url) as store:
        execution_id = start(store)
        assert store.get_execution(execution_id[:9]).id == execution_id  # a prefix with '-'
    assert byte_ordered_columns(url) == BYTE_ORDERED


def test_a_cmflib_mlmd_file_is_not_taken_for_a_store(tmp_path: Path) -> None:
    path = tmp_path / "mlmd"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE MLMDEnv (schema_version INTEGER)")
        conn.execute("CREATE TABLE Artifact (id INTEGER)")
    with pytest.raises(StoreError, match="ML Metadata database"):
        Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"MLMDEnv", "Artifact"}  # nothing was added to the user's file


def test_several_processes_opening_an_old_store_upgrade_it_once(sqlite_url: str) -> None:
    import subprocess
    import sys

    make_old_store(sqlite_url)
    code = "import sys; from cmf_core.store import Store; Store(sys.argv[1]).close()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, sqlite_url], stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, errors
    assert revision_of(sqlite_url) == HEAD_REVISION
