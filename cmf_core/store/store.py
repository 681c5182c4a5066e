"""``Store``: writes and reads of pipelines, stages, executions, artifacts, events, metrics.

One ``Store`` owns one SQLAlchemy engine (thread-safe; share the object across
threads). Every method is one short transaction; writes use SQLAlchemy Core,
and the hot paths (events, metrics, stat cache) are single bulk statements.
"""

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from cmf_core.errors import ConflictError, InvalidInputError, Kind, NotFoundError
from cmf_core.hashing import StatEntry
from cmf_core.records import (
    Artifact,
    ArtifactDetail,
    EventDirection,
    Execution,
    ExecutionDetail,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.graph import GraphReads
from cmf_core.store.history import HistoryReads
from cmf_core.store.schema import (
    artifacts,
    events,
    executions,
    json_dict,
    metrics,
    pipelines,
    stages,
    stat_cache,
    utcnow,
)
from cmf_core.store.search import SearchReads
from cmf_core.store.tokens import TokenRecords

STAT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """An artifact to record: its digest and what is known about its bytes."""

    digest: str
    type: str
    size: int | None
    nfiles: int | None
    properties: dict[str, Any]


class Store(SearchReads, GraphReads, HistoryReads, TokenRecords, StoreBase):
    """A cmf store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    Opening a store creates it at the newest schema if it is empty and checks
    its schema revision otherwise (see :mod:`cmf_core.store.engine`). One
    ``Store`` is safe to share across threads; every method is one short
    transaction.
    """

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
            pipeline_id = self._upsert_named(
                conn, pipelines, {"name": pipeline}, pipeline_properties, now
            )
            return self._upsert_named(
                conn, stages, {"pipeline_id": pipeline_id, "name": stage}, stage_properties, now
            )

    def _upsert_named(
        self,
        conn: Connection,
        table: Any,
        key: dict[str, Any],
        properties: dict[str, Any] | None,
        now: datetime,
    ) -> int:
        where = and_(*(table.c[name] == value for name, value in key.items()))
        row = conn.execute(
            select(table.c.id, table.c.properties).where(where).with_for_update()
        ).first()
        if row is None:
            values = {**key, "properties": properties or {}, "created_at": now}
            conn.execute(self._insert(table).values(values).on_conflict_do_nothing())
            row = conn.execute(select(table.c.id, table.c.properties).where(where)).one()
        if properties:
            merged = {**json_dict(row.properties), **properties}
            if merged != row.properties:
                conn.execute(update(table).where(table.c.id == row.id).values(properties=merged))
        return int(row.id)

    # -- executions --------------------------------------------------------------------------

    def start_execution(self, *, id: str, stage_id: int, **columns: Any) -> None:
        """Insert a running execution; ``columns`` are the executions table's other columns."""
        values = {
            "params": {},
            "properties": {},
            **columns,
            "id": id,
            "stage_id": stage_id,
            "status": ExecutionStatus.RUNNING.value,
        }
        values.setdefault("started_at", utcnow())
        with self._write() as conn:
            conn.execute(executions.insert().values(values))

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
                values["params"] = {**json_dict(row.params), **params}
            if properties:
                values["properties"] = {**json_dict(row.properties), **properties}
            if values:
                conn.execute(
                    update(executions).where(executions.c.id == execution_id).values(values)
                )

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
        with self._write() as conn:
            self._running(conn, execution_id)
            conn.execute(
                update(executions)
                .where(executions.c.id == execution_id)
                .values(
                    status=status.value,
                    ended_at=utcnow(),
                    error=error,
                    git_commit_end=git_commit_end,
                )
            )

    def _running(self, conn: Connection, execution_id: str) -> Any:
        # FOR UPDATE (PostgreSQL; SQLite writers are already serialised by BEGIN IMMEDIATE):
        # two writers merging properties, or ending the run, must not both read the old row.
        row = conn.execute(
            select(executions.c.status, executions.c.params, executions.c.properties)
            .where(executions.c.id == execution_id)
            .with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(
                f"No execution {execution_id!r} in {{store}}.",
                kind=Kind.EXECUTION,
                reference=execution_id,
                store=self.display_url,
            )
        if row.status != ExecutionStatus.RUNNING.value:
            raise ConflictError(
                f"Execution {execution_id} has already ended ({row.status}); an ended execution "
                "cannot change. Start a new execution to record more."
            )
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
        with self._write() as conn:
            if execution_id is not None:
                self._running(conn, execution_id)
            row = self._upsert_artifact(conn, artifact, now)
            if execution_id is not None and direction is not None and path is not None:
                conn.execute(
                    self._insert(events)
                    .values(
                        execution_id=execution_id,
                        artifact_id=row.id,
                        direction=direction.value,
                        path=path,
                        created_at=now,
                    )
                    .on_conflict_do_nothing()
                )
            return reads.artifact_record(row)

    def _upsert_artifact(self, conn: Connection, artifact: ArtifactRow, now: datetime) -> Any:
        query = select(artifacts).where(artifacts.c.digest == artifact.digest).with_for_update()
        row = conn.execute(query).first()
        if row is None:
            conn.execute(
                self._insert(artifacts)
                .values(
                    digest=artifact.digest,
                    type=artifact.type,
                    size=artifact.size,
                    nfiles=artifact.nfiles,
                    properties=artifact.properties,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
            return conn.execute(query).one()
        if row.type != artifact.type:
            raise ConflictError(
                f"Artifact {artifact.digest} is already recorded as a {row.type}, not a "
                f"{artifact.type}; the same bytes have one type. Log it with type={row.type!r}."
            )
        merged = {**json_dict(row.properties), **artifact.properties}
        if merged != row.properties:
            conn.execute(
                update(artifacts).where(artifacts.c.id == row.id).values(properties=merged)
            )
            row = conn.execute(query).one()
        return row

    # -- metrics -----------------------------------------------------------------------------

    @property
    def _insert_metrics_sql(self) -> str:
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        columns = "execution_id, name, step, value, time"
        return f"INSERT INTO metrics ({columns}) VALUES ({', '.join([mark] * 5)})"

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
                self._running(conn, execution_id)
                # Plain tuples through the driver: per-row dicts and SQLAlchemy's parameter
                # handling would cost more than SQLite's own insert.
                conn.exec_driver_sql(self._insert_metrics_sql, values)
            return
        except ConflictError:
            pass
        # Some (name, step) already exist: keep the new ones, accept equal repeats.
        with self._write() as conn:
            self._running(conn, execution_id)
            existing = reads.metric_values(conn, execution_id, {name for name, *_ in rows})
            fresh, clashes = [], []
            for value in values:
                _, name, step, number, _ = value
                if (name, step) not in existing:
                    existing[(name, step)] = number
                    fresh.append(value)
                elif not _same_value(existing[(name, step)], number):
                    at = "" if step is None else f" at step {step}"
                    shown = "nan" if number is None else number
                    clashes.append(f"{name!r}{at} is {existing[(name, step)]}, not {shown}")
            if fresh:
                conn.exec_driver_sql(self._insert_metrics_sql, fresh)
        if clashes:
            more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
            raise ConflictError(
                f"Metric {'; '.join(clashes[:3])}{more} in execution {execution_id}: recorded "
                f"values are never overwritten. The other {len(fresh)} value(s) were recorded."
            )

    # -- stat cache (the hashing.StatCache protocol) -----------------------------------------

    def get_stat_entries(self, paths: Sequence[str]) -> dict[str, StatEntry]:
        """Stat cache entries for ``paths``; a directory's files come back in one range scan.

        This is the hot path of re-hashing a large unchanged directory, so it reads
        through the driver's cursor: SQLAlchemy's row handling would triple its cost.
        """
        wanted = set(paths)
        if not wanted:
            return {}
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        select_sql = "SELECT path, inode, mtime_ns, size, md5 FROM stat_cache WHERE "
        if len(wanted) > STAT_CHUNK:
            # Paths sort between the least and the greatest, so those two share the folder.
            folder = os.path.commonpath([min(wanted), max(wanted)]).rstrip("/")
            # Every path under folder/ sorts between "folder/" and "folder0" ("0" follows "/").
            batches = [
                (f"{select_sql}path > {mark} AND path < {mark}", [folder + "/", folder + "0"])
            ]
        else:
            ordered = sorted(wanted)
            marks = ", ".join([mark] * len(ordered))
            batches = [(f"{select_sql}path IN ({marks})", ordered)]
        found: dict[str, StatEntry] = {}
        with self._read() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                for sql, parameters in batches:
                    cursor.execute(sql, parameters)
                    for path, inode, mtime_ns, size, md5 in cursor.fetchall():
                        if path in wanted:
                            found[path] = StatEntry(path, _inode(inode), mtime_ns, size, md5)
            finally:
                cursor.close()
        return found

    def put_stat_entries(self, entries: Sequence[StatEntry]) -> None:
        if not entries:
            return
        values = [
            {
                "path": e.path,
                "inode": e.inode - 2**64 if e.inode >= 2**63 else e.inode,  # a signed BIGINT
                "mtime_ns": e.mtime_ns,
                "size": e.size,
                "md5": e.md5,
            }
            for e in entries
        ]
        statement = self._insert(stat_cache)
        statement = statement.on_conflict_do_update(
            index_elements=[stat_cache.c.path],
            set_={
                "inode": statement.excluded.inode,
                "mtime_ns": statement.excluded.mtime_ns,
                "size": statement.excluded.size,
                "md5": statement.excluded.md5,
            },
        )
        with self._write() as conn:
            conn.execute(statement, values)

    # -- reads -------------------------------------------------------------------------------

    def list_pipelines(self) -> list[Pipeline]:
        with self._read() as conn:
            return reads.list_pipelines(conn)

    def list_stages(self, *, pipeline: str | None = None) -> list[Stage]:
        with self._read() as conn:
            return reads.list_stages(conn, pipeline=pipeline)

    def list_executions(
        self,
        *,
        pipeline: str | None = None,
        stage: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Execution]:
        with self._read() as conn:
            return reads.list_executions(
                conn, pipeline=pipeline, stage=stage, status=status, limit=limit, offset=offset
            )

    def list_artifacts(
        self,
        *,
        type: str | None = None,
        pipeline: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[Artifact, str | None]]:
        """Artifacts, newest first, each with the path it was last logged under."""
        with self._read() as conn:
            return reads.list_artifacts(
                conn, type=type, pipeline=pipeline, limit=limit, offset=offset
            )

    def resolve_execution_id(self, id_or_prefix: str) -> str:
        """The one execution id starting with ``id_or_prefix``; unknown ones get near matches."""
        with self._read() as conn:
            return reads.resolve_execution_id(conn, id_or_prefix)

    def resolve_digest(self, digest_or_prefix: str) -> str:
        """The one digest starting with ``digest_or_prefix`` (``md5:`` may be left out)."""
        with self._read() as conn:
            return reads.resolve_digest(conn, digest_or_prefix)

    def near_matches(self, reference: str) -> list[str]:
        """Recorded execution ids and digests nearest in sort order to ``reference``."""
        with self._read() as conn:
            return reads.near_matches(conn, reference)

    def get_execution(self, id_or_prefix: str) -> Execution:
        with self._read() as conn:
            return reads.get_execution(conn, reads.resolve_execution_id(conn, id_or_prefix))

    def get_execution_detail(self, id_or_prefix: str) -> ExecutionDetail:
        with self._read() as conn:
            return reads.execution_detail(conn, reads.resolve_execution_id(conn, id_or_prefix))

    def get_artifact_detail(self, digest_or_prefix: str) -> ArtifactDetail:
        with self._read() as conn:
            return reads.artifact_detail(conn, reads.resolve_digest(conn, digest_or_prefix))

    def find_artifacts_by_path(self, path: str) -> list[str]:
        """Digests ever logged under ``path`` (relative to the project root), newest first."""
        with self._read() as conn:
            return reads.digests_for_path(conn, path)

    def next_step(self, execution_id: str, name: str) -> int:
        """One past the last recorded step of the series ``name`` (0 for a new series)."""
        query = select(func.max(metrics.c.step)).where(
            metrics.c.execution_id == execution_id,
            metrics.c.name == name,
            metrics.c.step.is_not(None),
        )
        with self._read() as conn:
            last = conn.execute(query).scalar_one_or_none()
        return 0 if last is None else int(last) + 1

    def get_metrics(self, execution_id: str, *, name: str | None = None) -> list[Metric]:
        with self._read() as conn:
            return reads.list_metrics(conn, execution_id, name=name)

    def count(self, table: str) -> int:
        """Row count of one of the store's tables (for summaries and tests)."""
        known = {t.name: t for t in (pipelines, stages, executions, artifacts, events, metrics)}
        if table not in known:
            raise InvalidInputError(f"Unknown table {table!r}; one of {', '.join(sorted(known))}.")
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(known[table])).scalar_one())


def _inode(stored: int) -> int:
    """The inode number a signed BIGINT column holds (inodes are unsigned 64-bit)."""
    return stored + 2**64 if stored < 0 else stored


def _same_value(a: float | None, b: float | None) -> bool:
    return a == b or (a is None and b is None)


__all__ = ["ArtifactRow", "Store"]
