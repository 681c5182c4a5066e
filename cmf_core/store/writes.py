"""What a store records: pipelines and stages, executions, artifacts and events, metrics.

Every method is one short write transaction; the ones every recording call
makes (start, artifact and event, metrics, end) send plain SQL to the driver
(:mod:`cmf_core.store.write_sql`), and metrics go in as one bulk statement.
The rules of DESIGN.md hold here: a pipeline, stage or artifact is one record
per natural key (properties merged), an ended execution never changes, an
event is recorded once, and a metric already recorded is never overwritten (an
equal repeat is a no-op). Rows from concurrent writers are locked (``FOR
UPDATE`` on PostgreSQL; SQLite's writers queue for ``BEGIN IMMEDIATE``, first
come first served, :mod:`cmf_core.store.write_lock`) before they are merged.
"""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from cmf_core.errors import ConflictError, InvalidInputError, Kind, NotFoundError
from cmf_core.records import Artifact, EventDirection, ExecutionStatus
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.journal import journal, stage_key
from cmf_core.store.schema import (
    artifacts,
    executions,
    json_dict,
    pipelines,
    stages,
    utcnow,
)
from cmf_core.store.write_sql import ARTIFACT_BY_DIGEST, RUNNING, WriteSql
from cmf_core.validation import storable_text


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """An artifact to record: its digest and what is known about its bytes."""

    digest: str
    type: str
    size: int | None
    nfiles: int | None
    properties: dict[str, Any]


class Writes(StoreBase):
    """The store's writes, mixed into :class:`cmf_core.store.Store`."""

    # -- pipelines and stages ----------------------------------------------------------------

    def ensure_stage(
        self,
        pipeline: str,
        stage: str,
        *,
        pipeline_properties: dict[str, Any] | None = None,
        stage_properties: dict[str, Any] | None = None,
    ) -> int:
        """The id of ``stage`` in ``pipeline``, creating either if new; merges given properties."""
        now = utcnow()
        with self._write() as conn:
            pipeline_id, changed = self._upsert_named(
                conn, pipelines, {"name": pipeline}, pipeline_properties, now
            )
            if changed:
                journal(conn, "pipeline", [pipeline])
            stage_id, changed = self._upsert_named(
                conn, stages, {"pipeline_id": pipeline_id, "name": stage}, stage_properties, now
            )
            if changed:
                journal(conn, "stage", [stage_key(pipeline, stage)])
            return stage_id

    def _upsert_named(
        self,
        conn: Connection,
        table: Any,
        key: dict[str, Any],
        properties: dict[str, Any] | None,
        now: datetime,
    ) -> tuple[int, bool]:
        """The row's id, and whether it is new or its properties changed."""
        where = and_(*(table.c[name] == value for name, value in key.items()))
        row = conn.execute(
            select(table.c.id, table.c.properties).where(where).with_for_update()
        ).first()
        changed = row is None
        if row is None:
            values = {**key, "properties": properties or {}, "created_at": now}
            conn.execute(self._insert(table).values(values).on_conflict_do_nothing())
            row = conn.execute(select(table.c.id, table.c.properties).where(where)).one()
        if properties:
            merged = {**json_dict(row.properties), **properties}
            if merged != row.properties:
                conn.execute(update(table).where(table.c.id == row.id).values(properties=merged))
                changed = True
        return int(row.id), changed

    # -- executions --------------------------------------------------------------------------

    def start_execution(
        self,
        *,
        id: str,
        stage_id: int,
        started_at: datetime | None = None,
        command: str | None = None,
        params: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        site: str | None = None,
        git_remote: str | None = None,
        git_branch: str | None = None,
        git_commit_start: str | None = None,
        git_is_dirty: bool | None = None,
        git_diff_digest: str | None = None,
        environment_digest: str | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        """Insert a running execution of the stage ``stage_id``, started now unless given;
        ``host`` and ``pid`` name the process recording it (:mod:`cmf_core.store.liveness`)."""
        sql = self._sql
        values = (
            id,
            stage_id,
            ExecutionStatus.RUNNING.value,
            sql.when(started_at or utcnow()),
            self.redactor.command(storable_text(command)),
            sql.json(self.redactor.mapping(params or {})),
            sql.json(self.redactor.mapping(properties or {})),
            site,
            git_remote,
            git_branch,
            git_commit_start,
            git_is_dirty,
            git_diff_digest,
            environment_digest,
            host,
            pid,
        )
        with self._write() as conn:
            conn.exec_driver_sql(sql.insert_execution, values)
            journal(conn, "execution", [id])

    def update_execution(
        self,
        execution_id: str,
        *,
        params: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """Merge params and properties into a running execution."""
        with self._write() as conn:
            row = self._running(conn, execution_id)
            values: dict[str, Any] = {}
            if params:
                values["params"] = {**json_dict(row.params), **self.redactor.mapping(params)}
            if properties:
                values["properties"] = {
                    **json_dict(row.properties),
                    **self.redactor.mapping(properties),
                }
            if values:
                conn.execute(
                    update(executions).where(executions.c.id == execution_id).values(values)
                )
                journal(conn, "execution", [execution_id])

    def end_execution(
        self,
        execution_id: str,
        *,
        status: ExecutionStatus,
        error: str | None = None,
        git_commit_end: str | None = None,
    ) -> None:
        if status is ExecutionStatus.RUNNING:
            raise InvalidInputError("An execution ends as 'completed' or 'failed', not 'running'.")
        sql = self._sql
        values = (
            status.value,
            sql.when(utcnow()),
            self.redactor.text(storable_text(error)),
            git_commit_end,
            execution_id,
        )
        with self._write() as conn:
            # Only a running execution is updated (on PostgreSQL the UPDATE locks its row);
            # when none was, the check says why.
            if not conn.exec_driver_sql(sql.end_execution, values).rowcount:
                self._check_running(conn, execution_id)
            journal(conn, "execution", [execution_id])

    @functools.cached_property
    def _sql(self) -> WriteSql:
        return WriteSql(self._engine.dialect)

    def _check_running(self, conn: Connection, execution_id: str) -> None:
        """Raise unless ``execution_id`` is recorded and running (its row locked on
        PostgreSQL): one plain statement, for the calls that need no more of the row."""
        row = conn.exec_driver_sql(self._sql.status, (execution_id,)).first()
        self._refuse_unless_running(execution_id, None if row is None else row[0])

    def _refuse_unless_running(self, execution_id: str, status: str | None) -> None:
        if status is None:
            raise NotFoundError(
                f"No execution {execution_id!r} in {{store}}.",
                kind=Kind.EXECUTION,
                reference=execution_id,
                store=self.display_url,
            )
        if status != RUNNING:
            raise ConflictError(
                f"Execution {execution_id} has already ended ({status}); an ended execution "
                "cannot change. Start a new execution to record more."
            )

    def _running(self, conn: Connection, execution_id: str) -> Any:
        # FOR UPDATE (PostgreSQL; SQLite writers are already serialised by BEGIN IMMEDIATE):
        # two writers merging properties, or ending the run, must not both read the old row.
        row = conn.execute(
            select(executions.c.status, executions.c.params, executions.c.properties)
            .where(executions.c.id == execution_id)
            .with_for_update()
        ).first()
        self._refuse_unless_running(execution_id, None if row is None else row.status)
        return row

    # -- artifacts and events ----------------------------------------------------------------

    def record_artifact(
        self,
        artifact: ArtifactRow,
        *,
        execution_id: str | None = None,
        direction: EventDirection | None = None,
        path: str | None = None,
    ) -> Artifact:
        """Record an artifact (one row per digest) and, with an execution, the event linking it."""
        now = utcnow()
        sql = self._sql
        with self._write() as conn:
            if execution_id is not None:
                self._check_running(conn, execution_id)
            artifact_id, record, changed = self._upsert_artifact(conn, artifact, now)
            if changed:
                journal(conn, "artifact", [artifact.digest])
            if execution_id is not None and direction is not None and path is not None:
                inserted = conn.exec_driver_sql(
                    sql.insert_event,
                    (execution_id, artifact_id, direction.value, path, sql.when(now)),
                )
                if inserted.rowcount:
                    journal(conn, "execution", [execution_id])
            return record

    def _upsert_artifact(
        self, conn: Connection, artifact: ArtifactRow, now: datetime
    ) -> tuple[int, Artifact, bool]:
        """The artifact's id and record, and whether it is new or its properties changed."""
        row = conn.execute(ARTIFACT_BY_DIGEST, {"digest": artifact.digest}).first()
        if row is None:
            sql = self._sql
            new = conn.exec_driver_sql(
                sql.insert_artifact,
                (
                    artifact.digest,
                    artifact.type,
                    artifact.size,
                    artifact.nfiles,
                    sql.json(artifact.properties),
                    sql.when(now),
                ),
            ).first()
            if new is not None:
                record = Artifact(
                    digest=artifact.digest,
                    type=artifact.type,
                    size=artifact.size,
                    nfiles=artifact.nfiles,
                    properties=artifact.properties,
                    created_at=now,
                )
                return int(new[0]), record, True
            # Recorded meanwhile by a writer that does not lock (PostgreSQL's READ COMMITTED).
            row = conn.execute(ARTIFACT_BY_DIGEST, {"digest": artifact.digest}).one()
        if row.type != artifact.type:
            raise ConflictError(
                f"Artifact {artifact.digest} is already recorded as a {row.type}, not a "
                f"{artifact.type}; the same bytes have one type. Log it with type={row.type!r}."
            )
        merged = {**json_dict(row.properties), **artifact.properties}
        if merged == row.properties:
            return int(row.id), reads.artifact_record(row), False
        conn.execute(update(artifacts).where(artifacts.c.id == row.id).values(properties=merged))
        record = reads.artifact_record(row).model_copy(update={"properties": merged})
        return int(row.id), record, True

    # -- metrics -----------------------------------------------------------------------------

    def add_metrics(
        self, execution_id: str, rows: Sequence[tuple[str, int | None, float, float]]
    ) -> None:
        """Record (name, step, value, time) rows; a step of None is an execution-level metric.

        Re-recording an equal value is a no-op; a different value for the same
        (name, step) raises ConflictError after the call's other values are recorded.
        """
        if not rows:
            return
        values = [
            (execution_id, name, step, None if math.isnan(value) else value, at)
            for name, step, value, at in rows
        ]
        try:
            with self._write() as conn:
                self._check_running(conn, execution_id)
                # Plain tuples through the driver: per-row dicts and SQLAlchemy's parameter
                # handling would cost more than SQLite's own insert.
                conn.exec_driver_sql(self._sql.insert_metrics, values)
                journal(conn, "execution", [execution_id])
            return
        except ConflictError:
            pass
        # Some (name, step) already exist: keep the new ones, accept equal repeats.
        with self._write() as conn:
            self._check_running(conn, execution_id)
            existing = reads.metric_values(conn, execution_id, {name for name, *_ in rows})
            fresh, clashes = [], []
            for value in values:
                _, name, step, number, _ = value
                if (name, step) not in existing:
                    existing[(name, step)] = number
                    fresh.append(value)
                elif not _same_metric(existing[(name, step)], number):
                    at = "" if step is None else f" at step {step}"
                    shown = "nan" if number is None else number
                    clashes.append(f"{name!r}{at} is {existing[(name, step)]}, not {shown}")
            if fresh:
                conn.exec_driver_sql(self._sql.insert_metrics, fresh)
                journal(conn, "execution", [execution_id])
        if clashes:
            more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
            raise ConflictError(
                f"Metric {'; '.join(clashes[:3])}{more} in execution {execution_id}: recorded "
                f"values are never overwritten. The other {len(fresh)} value(s) were recorded."
            )


def _same_metric(a: float | None, b: float | None) -> bool:
    return a == b or (a is None and b is None)
