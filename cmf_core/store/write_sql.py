"""The statements of the recording path, as plain SQL for the store's driver.

Recording one execution (start, an input, an output, metrics, end) is a handful
of small statements; built as SQLAlchemy expressions for each call they cost
more CPU than SQLite spends running them (about 170 µs to build and run a
``select`` against 3 µs in the driver, measured). So the writes of
:mod:`cmf_core.store.writes` that run on every call send this text, in the
driver's parameter style, with values encoded by the columns' own types (the
bind processors SQLAlchemy would apply), so what is stored is byte for byte
what an expression would have stored. Rows that are read back go through
SQLAlchemy's result types, in statements built once (:data:`ARTIFACT_BY_DIGEST`).
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect

from cmf_core.records import ExecutionStatus
from cmf_core.store.schema import JSONDict, UTCDateTime, artifacts

RUNNING = ExecutionStatus.RUNNING.value

EXECUTION_COLUMNS = (
    "id",
    "stage_id",
    "status",
    "started_at",
    "command",
    "params",
    "properties",
    "site",
    "git_remote",
    "git_branch",
    "git_commit_start",
    "git_is_dirty",
    "git_diff_digest",
    "environment_digest",
    "host",
    "pid",
)

# An artifact's row by digest, built once (FOR UPDATE is left out by SQLite's compiler).
ARTIFACT_BY_DIGEST = (
    select(artifacts).where(artifacts.c.digest == bindparam("digest")).with_for_update()
)


def _same(value: Any) -> Any:
    return value


class WriteSql:
    """The recording statements and value encoders for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        is_postgresql = dialect.name == "postgresql"
        m = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        jsonb = f"CAST({m} AS JSONB)" if is_postgresql else m
        lock = " FOR UPDATE" if is_postgresql else ""
        self.when: Callable[[Any], Any] = UTCDateTime().bind_processor(dialect) or _same
        self.json: Callable[[Any], Any] = (
            JSONDict.dialect_impl(dialect).bind_processor(dialect) or _same
        )
        marks = [jsonb if c in ("params", "properties") else m for c in EXECUTION_COLUMNS]
        self.insert_execution = (
            f"INSERT INTO executions ({', '.join(EXECUTION_COLUMNS)}) VALUES ({', '.join(marks)})"
        )
        # The row lock (PostgreSQL; SQLite's writers are serialised by BEGIN IMMEDIATE):
        # two writers ending a run, or one recording into a run another ends, queue here.
        self.status = f"SELECT status FROM executions WHERE id = {m}{lock}"
        self.end_execution = (
            f"UPDATE executions SET status = {m}, ended_at = {m}, error = {m}, "
            f"git_commit_end = {m} WHERE id = {m} AND status = '{RUNNING}'"
        )
        self.insert_artifact = (
            "INSERT INTO artifacts (digest, type, size, nfiles, properties, created_at) "
            f"VALUES ({m}, {m}, {m}, {m}, {jsonb}, {m}) ON CONFLICT DO NOTHING RETURNING id"
        )
        self.insert_event = (
            "INSERT INTO events (execution_id, artifact_id, direction, path, created_at) "
            f"VALUES ({m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING"
        )
        self.insert_metrics = (
            "INSERT INTO metrics (execution_id, name, step, value, time) "
            f"VALUES ({m}, {m}, {m}, {m}, {m})"
        )


__all__ = ["ARTIFACT_BY_DIGEST", "EXECUTION_COLUMNS", "RUNNING", "WriteSql"]
