"""The tables of a cmf store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

::

    pipelines 1──* stages 1──* executions 1──* events *──1 artifacts
                                     1──* metrics
    stat_cache (path → inode, mtime_ns, size, md5): lets unchanged files skip re-hashing
    tokens (name, scope, sha256 of the secret): bearer tokens for the MCP and team servers
    changes (seq, kind, key, origin): the journal sync pulls from, one row per changed record
    sync_cursors (server, direction, scope → seq): how far this store has pulled and pushed
    conflicts (kind, key, both versions, source): what a merge refused to overwrite
    audit (when, who, what): who pushed which record to this store, append-only
    annotations (record, key, value, note, who, when): labels said after the fact, append-only

Natural keys (DESIGN.md): pipeline name; (pipeline, stage name); execution id
(UUID v7 text); artifact digest; event (execution, artifact, direction, path);
metric (execution, name, step). Integer surrogate keys keep the event indexes
small; they never leave the store.

Events are indexed both ways — by execution (the primary key's prefix) and by
(artifact, direction) — so lineage walks are one indexed query per hop in
either direction.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from cmf_core.store.param_index import install

# The newest Alembic revision in cmf_core/store/migrations/versions. A new store is
# created at this revision directly; tests check it matches the migration scripts.
HEAD_REVISION = "0010"
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("cmf stores only timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDict = JSON().with_variant(JSONB(), "postgresql")


def byte_ordered(length: int | None = None) -> Any:
    """A string column compared byte by byte on PostgreSQL too (collation "C").

    Ids, digests and stat-cache paths are looked up by prefix with range scans
    (``id >= '01a2' AND id < '01a2\U0010ffff'``); a language collation such as
    en_US ignores '-' and ':' and would make those ranges miss rows. SQLite
    always compares bytes.
    """
    plain = String(length) if length else Text()
    ordered = String(length, collation="C") if length else Text(collation="C")
    return plain.with_variant(ordered, "postgresql")


metadata = MetaData()

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("properties", JSONDict, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

stages = Table(
    "stages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipelines.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("properties", JSONDict, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("pipeline_id", "name", name="uq_stages_pipeline_name"),
)

executions = Table(
    "executions",
    metadata,
    Column("id", byte_ordered(36), primary_key=True),
    Column("stage_id", Integer, ForeignKey("stages.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("command", Text),
    Column("params", JSONDict, nullable=False),
    Column("properties", JSONDict, nullable=False),
    Column("error", Text),
    Column("site", String(255)),
    Column("git_remote", Text),
    Column("git_branch", String(255)),
    Column("git_commit_start", String(64)),
    Column("git_commit_end", String(64)),
    Column("git_is_dirty", Boolean),
    Column("git_diff_digest", String(80)),
    Column("environment_digest", String(80)),
    # Where the run's process lives (host name, pid) and when it last said so, for long
    # runs: a run still `running` whose process is gone is shown as stale (computed).
    Column("host", String(255)),
    Column("pid", Integer),
    Column("heartbeat_at", UTCDateTime),
    Index("ix_executions_stage_started", "stage_id", "started_at"),
    Index("ix_executions_status", "status"),
    Index("ix_executions_started", "started_at"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", byte_ordered(80), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("size", BigInteger),
    Column("nfiles", Integer),
    Column("properties", JSONDict, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Listing and searching artifacts newest first, overall and by type.
    Index("ix_artifacts_type_created", "type", "created_at"),
    Index("ix_artifacts_created", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column(
        "execution_id",
        byte_ordered(36),
        ForeignKey("executions.id"),
        primary_key=True,
        nullable=False,
    ),
    Column("artifact_id", Integer, ForeignKey("artifacts.id"), primary_key=True, nullable=False),
    Column("direction", String(8), primary_key=True, nullable=False),
    Column("path", Text, primary_key=True, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # An artifact's producers and readers a page at a time, oldest first (and lineage walks).
    Index("ix_events_artifact_direction_created", "artifact_id", "direction", "created_at"),
    # An artifact's distinct paths, one index probe each (store/artifact_events.py).
    Index("ix_events_artifact_path", "artifact_id", "path"),
    # `cmf show data/train.csv`, get_artifact and lineage by path.
    Index("ix_events_path", "path"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("execution_id", byte_ordered(36), ForeignKey("executions.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("step", BigInteger),
    # NULL stands for NaN: SQLite cannot store NaN and a diverging loss is worth keeping.
    Column("value", Float),
    Column("time", Float, nullable=False),
    Index(
        "uq_metrics_step",
        "execution_id",
        "name",
        "step",
        unique=True,
        sqlite_where=text("step IS NOT NULL"),
        postgresql_where=text("step IS NOT NULL"),
    ),
    Index(
        "uq_metrics_final",
        "execution_id",
        "name",
        unique=True,
        sqlite_where=text("step IS NULL"),
        postgresql_where=text("step IS NULL"),
    ),
    # Sorting and filtering executions by a final metric (metrics.accuracy >= 0.9).
    Index(
        "ix_metrics_name_value",
        "name",
        "value",
        "execution_id",
        sqlite_where=text("step IS NULL"),
        postgresql_where=text("step IS NULL"),
    ),
)

stat_cache = Table(
    "stat_cache",
    metadata,
    Column("path", byte_ordered(), primary_key=True),
    Column("inode", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
)


tokens = Table(
    "tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    # sha256 of the secret: tokens are long random strings, so a fast hash is enough.
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("expires_at", UTCDateTime),
)


# A sequence number that is never reused, also after the newest row is deleted (SQLite's
# AUTOINCREMENT; PostgreSQL's BIGSERIAL never goes back either).
Serial = BigInteger().with_variant(Integer(), "sqlite")

# Every record that is created or changes is (re)written here with a new sequence number,
# its older row deleted: "everything after N" is one range scan and the journal holds one
# row per record. Events and metrics travel with their execution, which is re-journaled
# whenever it gains one. ``origin`` names where a merged record came from (NULL: recorded
# here), so a push does not send a server what came from it.
changes = Table(
    "changes",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("origin", String(255)),
    Index("uq_changes_kind_key", "kind", "key", unique=True),
    sqlite_autoincrement=True,
)

# How far this store has pulled from (the server's seq) and pushed to (this store's seq)
# each server; scope is '' for the whole store or a pipeline name.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("server", String(512), primary_key=True),
    Column("direction", String(8), primary_key=True),
    Column("scope", String(255), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Two versions of one record that a merge did not reconcile: the stored one was kept.
conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("stored", JSONDict, nullable=False),
    Column("incoming", JSONDict, nullable=False),
    Column("incoming_sha256", String(64), nullable=False),
    Column("source", String(512), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("uq_conflicts_version", "kind", "key", "incoming_sha256", unique=True),
    sqlite_autoincrement=True,
)

# Append-only: one row per record pushed to this store (who, from which site, what became
# of it) and one per push request (kind 'batch', its summary in detail).
audit = Table(
    "audit",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("batch", String(36), nullable=False),
    Column("detail", JSONDict, nullable=False),
    Index("ix_audit_actor", "actor", "id"),
    sqlite_autoincrement=True,
)


# Each execution's number and text params as rows, kept equal to executions.params by
# triggers (store/param_index.py): a param filter or sort reads along an index.
execution_params = Table(
    "execution_params",
    metadata,
    Column("execution_id", byte_ordered(36), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("number", Numeric(asdecimal=False)),  # exact: integers stay integers
    Column("string", byte_ordered()),
    Index(
        "ix_execution_params_number",
        "name",
        "number",
        "execution_id",
        sqlite_where=text("number IS NOT NULL"),
        postgresql_where=text("number IS NOT NULL"),
    ),
    Index(
        "ix_execution_params_string",
        "name",
        "string",
        "execution_id",
        sqlite_where=text("string IS NOT NULL"),
        postgresql_where=text("string IS NOT NULL"),
    ),
)


@event.listens_for(metadata, "after_create")
def _params_triggers(_: MetaData, conn: Any, tables: Any = (), **__: Any) -> None:
    """The triggers that fill ``execution_params``, once its table and ``executions`` exist."""
    if execution_params in tables:
        install(conn, conn.dialect.name)


# Append-only labels and notes on a record, said after the fact: (execution id | artifact
# digest, key, value, note, who, when). The annotation with the highest ``uid`` (UUID v7:
# time-ordered, made where it was recorded) supersedes the others of its key when reading;
# none is ever edited or deleted. ``uid`` is the natural key that travels in sync.
annotations = Table(
    "annotations",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("uid", byte_ordered(36), nullable=False),
    Column("target_kind", String(16), nullable=False),
    Column("target_key", byte_ordered(80), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text),
    Column("note", Text),
    Column("author", String(255), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("uq_annotations_uid", "uid", unique=True),
    Index("ix_annotations_target", "target_kind", "target_key", "id"),
    Index("ix_annotations_key_value", "key", "value"),
    sqlite_autoincrement=True,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value as a dict (NULL and non-dicts from foreign data become {})."""
    return value if isinstance(value, dict) else {}
