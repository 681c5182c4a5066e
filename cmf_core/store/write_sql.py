"""The statements of the recording path, as plain SQL for the store's driver.

Recording one execution (start, an input, an output, metrics, end) is a handful
of small statements; built as SQLAlchemy expressions for each call they cost
more CPU than SQLite spends running them (about 170 µs to build and run a
``select`` against 3 µs in the driver, measured). So the writes of
:mod:`cmf_core.store.writes` that run on every call send this text, in the
driver's parameter style, with values encoded by the columns' own types (the
bind processors SQLAlchemy would apply; on PostgreSQL, JSON as text cast to
JSONB), so what is stored is what an expression would have stored, and a value
that cannot be encoded is refused before anything is written. Rows that are
read back go through SQLAlchemy's result types, in statements built once
(:data:`ARTIFACT_BY_DIGEST`).
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect

from cmf_core.errors import InvalidInputError
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
        # The dialect's own type: the generic one has no bind processor, so SQLite's driver
        # would store '2024-05-01 11:00:00' where SQLAlchemy stores '… 11:00:00.000000', and
        # the text comparisons of filters and cursors would see the two differ.
        when = UTCDateTime().dialect_impl(dialect)
        self._when: Callable[[Any], Any] = when.bind_processor(dialect) or _same
        # PostgreSQL is sent JSON text to cast (its own encoder would fail only in the driver).
        self._json: Callable[[Any], Any] = (
            json.dumps
            if is_postgresql
            else JSONDict.dialect_impl(dialect).bind_processor(dialect) or _same
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

    def when(self, value: datetime) -> Any:
        """A timezone-aware datetime as the driver is given it."""
        return _encoded(self._when, value)

    def json(self, value: Any) -> Any:
        """A JSON value (params, properties) as the driver is given it."""
        return _encoded(self._json, value)


def _encoded(encode: Callable[[Any], Any], value: Any) -> Any:
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:  # what an expression's StatementError would carry
        raise InvalidInputError(
            f"The store cannot hold a value of this call: {exc}. Nothing from this call was "
            "saved; change the value."
        ) from exc


__all__ = ["ARTIFACT_BY_DIGEST", "EXECUTION_COLUMNS", "RUNNING", "WriteSql"]
