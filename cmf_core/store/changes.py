"""What sync reads and keeps: journal pages, whole records by key, cursors, conflicts, audit.

- :meth:`SyncRecords.changes_after` — the records journaled after sequence N
  (:mod:`cmf_core.store.journal`), as a self-contained :class:`RecordBatch`: each
  execution comes with its stage and pipeline, its events (and their
  artifacts) and its metrics, so the batch merges into any store as it is.
- :meth:`SyncRecords.load_records` — the stored versions of given keys (a
  server answering "which of these do you lack?").
- cursors (how far this store pulled from or pushed to a server), kept
  conflicts, and the push audit.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from cmf_core.records import (
    Artifact,
    ArtifactType,
    Event,
    EventDirection,
    Execution,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.batch import RecordBatch
from cmf_core.store.chunks import chunks
from cmf_core.store.journal import parse_stage_key, stage_key
from cmf_core.store.schema import (
    artifacts,
    audit,
    changes,
    conflicts,
    events,
    executions,
    json_dict,
    metrics,
    pipelines,
    stages,
    sync_cursors,
    utcnow,
)

LINKS_PER_PAGE = 100_000  # events + metrics in one page, past its first execution


@dataclass(frozen=True)
class ChangePage:
    """The records journaled in (after, last]; ``more`` when the journal goes on past it."""

    records: RecordBatch
    last: int
    more: bool


@dataclass(frozen=True)
class Keys:
    """Natural keys of records to load, by kind."""

    pipelines: Sequence[str] = ()
    stages: Sequence[tuple[str, str]] = ()
    artifacts: Sequence[str] = ()
    executions: Sequence[str] = ()


@dataclass(frozen=True)
class StoredConflict:
    id: int
    kind: str
    key: str
    reason: str
    stored: dict[str, Any]
    incoming: dict[str, Any]
    source: str
    recorded_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    kind: str
    key: str
    batch: str
    detail: dict[str, Any]


class SyncRecords(StoreBase):
    """Sync's reads and bookkeeping, mixed into :class:`cmf_core.store.Store`."""

    def latest_seq(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(changes.c.seq))).scalar_one_or_none() or 0)

    def changes_after(
        self,
        after: int,
        *,
        limit: int = 500,
        pipeline: str | None = None,
        skip_origin: str | None = None,
        self_contained: bool = True,
    ) -> ChangePage:
        """Up to ``limit`` journal rows after ``after``, as whole records.

        ``pipeline`` keeps only that pipeline's records; ``skip_origin`` leaves out
        records that came from there. Rows left out still move ``last`` on, so a
        cursor set to it never reads them again. Without ``self_contained`` the
        artifacts that events name are not loaded unless journaled on this page too
        (a push asks the server whether it has them first).
        """
        with self._read() as conn:
            query = (
                select(changes.c.seq, changes.c.kind, changes.c.key, changes.c.origin)
                .where(changes.c.seq > after)
                .order_by(changes.c.seq)
                .limit(limit + 1)
            )
            rows = list(conn.execute(query))
            more = len(rows) > limit
            rows = rows[:limit]
            if not rows:
                return ChangePage(RecordBatch(), after, False)
            kept = [row for row in rows if skip_origin is None or row.origin != skip_origin]
            within = _within_link_budget(conn, rows, kept)
            more = more or len(within) < len(rows)
            last = int(within[-1].seq)
            keys = _keys_of(conn, [row for row in kept if row.seq <= last], pipeline)
            return ChangePage(load(conn, keys, referenced=self_contained), last, more)

    def existing_digests(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` this store has recorded."""
        found: set[str] = set()
        with self._read() as conn:
            for chunk in chunks(list(digests)):
                query = select(artifacts.c.digest).where(artifacts.c.digest.in_(chunk))
                found.update(conn.execute(query).scalars())
        return found

    def load_records(self, keys: Keys, *, links: bool = True) -> RecordBatch:
        """The stored versions of ``keys`` (unknown keys are left out); without ``links``,
        executions come without their events, metrics and artifacts."""
        with self._read() as conn:
            return load(conn, keys, links=links)

    # -- cursors -----------------------------------------------------------------------------

    def get_cursor(self, server: str, direction: str, scope: str = "") -> int:
        query = select(sync_cursors.c.seq).where(
            sync_cursors.c.server == server,
            sync_cursors.c.direction == direction,
            sync_cursors.c.scope == scope,
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one_or_none() or 0)

    def set_cursor(self, server: str, direction: str, seq: int, scope: str = "") -> None:
        values = {"server": server, "direction": direction, "scope": scope}
        with self._write() as conn:
            statement = self._insert(sync_cursors).values(**values, seq=seq, updated_at=utcnow())
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["server", "direction", "scope"],
                    set_={"seq": seq, "updated_at": utcnow()},
                )
            )

    # -- conflicts and audit -----------------------------------------------------------------

    def list_conflicts(self, *, after: int = 0, limit: int = 100) -> list[StoredConflict]:
        query = select(conflicts).where(conflicts.c.id > after).order_by(conflicts.c.id)
        with self._read() as conn:
            return [
                StoredConflict(
                    id=int(r.id),
                    kind=r.kind,
                    key=r.key,
                    reason=r.reason,
                    stored=json_dict(r.stored),
                    incoming=json_dict(r.incoming),
                    source=r.source,
                    recorded_at=r.recorded_at,
                )
                for r in conn.execute(query.limit(limit))
            ]

    def count_conflicts(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(conflicts)).scalar_one())

    def read_audit(
        self, *, after: int = 0, limit: int = 100, actor: str | None = None
    ) -> list[AuditEntry]:
        query = select(audit).where(audit.c.id > after).order_by(audit.c.id).limit(limit)
        if actor is not None:
            query = query.where(audit.c.actor == actor)
        with self._read() as conn:
            return [
                AuditEntry(
                    id=int(r.id),
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    kind=r.kind,
                    key=r.key,
                    batch=r.batch,
                    detail=json_dict(r.detail),
                )
                for r in conn.execute(query)
            ]


def _within_link_budget(conn: Connection, rows: list[Any], kept: list[Any]) -> list[Any]:
    """``rows`` cut short once the kept executions' events and metrics pass the budget
    (never before the first one)."""
    ids = [row.key for row in kept if row.kind == "execution"]
    counts: dict[str, int] = {}
    for chunk in chunks(ids):
        for table in (events, metrics):
            query = (
                select(table.c.execution_id, func.count())
                .where(table.c.execution_id.in_(chunk))
                .group_by(table.c.execution_id)
            )
            for execution_id, n in conn.execute(query):
                counts[execution_id] = counts.get(execution_id, 0) + int(n)
    total = 0
    for index, row in enumerate(rows):
        if row.kind == "execution":
            total += counts.get(row.key, 0)
            if total > LINKS_PER_PAGE and index > 0:
                return rows[:index]
    return rows


def _keys_of(conn: Connection, rows: list[Any], pipeline: str | None) -> Keys:
    by_kind: dict[str, list[str]] = {"pipeline": [], "stage": [], "artifact": [], "execution": []}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.key)
    stage_keys = [parse_stage_key(key) for key in by_kind["stage"]]
    if pipeline is None:
        return Keys(by_kind["pipeline"], stage_keys, by_kind["artifact"], by_kind["execution"])
    ids: list[str] = []
    for chunk in chunks(by_kind["execution"]):
        query = (
            select(executions.c.id)
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(executions.c.id.in_(chunk), pipelines.c.name == pipeline)
        )
        ids.extend(conn.execute(query).scalars())
    return Keys(
        [name for name in by_kind["pipeline"] if name == pipeline],
        [key for key in stage_keys if key[0] == pipeline],
        [],  # artifacts travel with the pipeline's executions
        ids,
    )


def load(
    conn: Connection, keys: Keys, *, links: bool = True, referenced: bool = True
) -> RecordBatch:
    """The stored records of ``keys``; see :meth:`SyncRecords.load_records`. With
    ``referenced``, also the artifacts their events name."""
    found_executions: list[Execution] = []
    for chunk in chunks(list(keys.executions)):
        query = reads.executions_query().where(executions.c.id.in_(chunk))
        found_executions.extend(reads.execution_record(row) for row in conn.execute(query))
    found_events = _events(conn, [e.id for e in found_executions]) if links else []
    found_metrics = _metrics(conn, [e.id for e in found_executions]) if links else []
    named = (e.digest for e in found_events) if referenced else ()
    digests = list(dict.fromkeys([*keys.artifacts, *named]))
    stage_names = list(
        dict.fromkeys([*keys.stages, *((e.pipeline, e.stage) for e in found_executions)])
    )
    pipeline_names = list(dict.fromkeys([*keys.pipelines, *(p for p, _ in stage_names)]))
    return RecordBatch(
        pipelines=_pipelines(conn, pipeline_names),
        stages=_stages(conn, stage_names),
        executions=found_executions,
        artifacts=_artifacts(conn, digests),
        events=found_events,
        metrics=found_metrics,
    )


def _pipelines(conn: Connection, names: list[str]) -> list[Pipeline]:
    found: list[Pipeline] = []
    for chunk in chunks(names):
        query = select(pipelines).where(pipelines.c.name.in_(chunk)).order_by(pipelines.c.id)
        found.extend(
            Pipeline(name=r.name, properties=json_dict(r.properties), created_at=r.created_at)
            for r in conn.execute(query)
        )
    return found


def _stages(conn: Connection, names: list[tuple[str, str]]) -> list[Stage]:
    wanted = {stage_key(p, s) for p, s in names}
    found: list[Stage] = []
    for chunk in chunks(sorted({p for p, _ in names})):
        query = (
            select(pipelines.c.name.label("pipeline"), stages)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(pipelines.c.name.in_(chunk))
            .order_by(stages.c.id)
        )
        found.extend(
            Stage(
                pipeline=r.pipeline,
                name=r.name,
                properties=json_dict(r.properties),
                created_at=r.created_at,
            )
            for r in conn.execute(query)
            if stage_key(r.pipeline, r.name) in wanted
        )
    return found


def _artifacts(conn: Connection, digests: list[str]) -> list[Artifact]:
    found: list[Artifact] = []
    for chunk in chunks(digests):
        query = select(artifacts).where(artifacts.c.digest.in_(chunk)).order_by(artifacts.c.id)
        found.extend(
            # Rows of this store's own tables, already valid: no second validation.
            Artifact.model_construct(
                digest=r.digest,
                type=ArtifactType(r.type),
                size=r.size,
                nfiles=r.nfiles,
                properties=json_dict(r.properties),
                created_at=r.created_at,
            )
            for r in conn.execute(query)
        )
    return found


def _events(conn: Connection, ids: list[str]) -> list[Event]:
    found: list[Event] = []
    for chunk in chunks(ids):
        query = (
            select(
                events.c.execution_id,
                artifacts.c.digest,
                events.c.direction,
                events.c.path,
                events.c.created_at,
            )
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(events.c.execution_id.in_(chunk))
        )
        found.extend(
            # Rows of this store's own tables, already valid: no second validation.
            Event.model_construct(
                execution_id=r.execution_id,
                digest=r.digest,
                direction=EventDirection(r.direction),
                path=r.path,
                created_at=r.created_at,
            )
            for r in conn.execute(query)
        )
    return found


def _metrics(conn: Connection, ids: list[str]) -> list[Metric]:
    found: list[Metric] = []
    columns = (metrics.c.execution_id, metrics.c.name, metrics.c.step, metrics.c.value)
    for chunk in chunks(ids):
        # Both metrics indexes are partial (step NULL / NOT NULL): name the rows each holds.
        for rows in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
            query = select(*columns, metrics.c.time).where(metrics.c.execution_id.in_(chunk), rows)
            found.extend(
                Metric.model_construct(
                    execution_id=r.execution_id,
                    name=r.name,
                    step=r.step,
                    value=math.nan if r.value is None else r.value,
                    time=datetime.fromtimestamp(r.time, UTC),
                )
                for r in conn.execute(query)
            )
    return found


__all__ = ["AuditEntry", "ChangePage", "Keys", "StoredConflict", "SyncRecords", "load"]
