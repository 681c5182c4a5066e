"""What sync reads and keeps: journal pages, whole records by key, cursors, conflicts, audit.

- :meth:`SyncRecords.changes_after` — the records journaled after sequence N
  (:mod:`cmf_core.store.journal`), as a self-contained :class:`RecordBatch`: each
  execution comes with its stage and pipeline, its events (and their
  artifacts) and its metrics, and each annotation with the execution or
  artifact it is about, so the batch merges into any store as it is.
- :meth:`SyncRecords.load_records` — the stored versions of given keys (a
  server answering "which of these do you lack?"), read by
  :mod:`cmf_core.store.keyed_records`.
- cursors (how far this store pulled from or pushed to a server), kept
  conflicts, and the push audit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, or_, select, true

from cmf_core.store.base import StoreBase
from cmf_core.store.batch import RecordBatch
from cmf_core.store.chunks import chunks
from cmf_core.store.journal import parse_stage_key
from cmf_core.store.keyed_records import Keys, load
from cmf_core.store.schema import (
    annotations,
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
    # Both metrics indexes are partial (step NULL / NOT NULL): name the rows each one holds,
    # or the count scans the whole table, once per page.
    wheres: tuple[tuple[Table, ColumnElement[bool]], ...] = (
        (events, true()),
        (metrics, metrics.c.step.is_(None)),
        (metrics, metrics.c.step.is_not(None)),
    )
    for chunk in chunks(ids):
        for table, part in wheres:
            query = (
                select(table.c.execution_id, func.count())
                .where(table.c.execution_id.in_(chunk), part)
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
    by_kind: dict[str, list[str]] = {
        "pipeline": [],
        "stage": [],
        "artifact": [],
        "execution": [],
        "annotation": [],
    }
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.key)
    stage_keys = [parse_stage_key(key) for key in by_kind["stage"]]
    if pipeline is None:
        return Keys(
            by_kind["pipeline"],
            stage_keys,
            by_kind["artifact"],
            by_kind["execution"],
            by_kind["annotation"],
        )
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
        _pipeline_annotations(conn, by_kind["annotation"], pipeline),
    )


def _pipeline_annotations(conn: Connection, uids: list[str], pipeline: str) -> list[str]:
    """Those of ``uids`` about an execution of ``pipeline`` or an artifact one of its
    executions read or wrote."""
    runs = (
        select(executions.c.id)
        .join(stages, stages.c.id == executions.c.stage_id)
        .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
        .where(pipelines.c.name == pipeline)
    )
    touched = (
        select(artifacts.c.digest)
        .join(events, events.c.artifact_id == artifacts.c.id)
        .where(events.c.execution_id.in_(runs))
    )
    found: list[str] = []
    for chunk in chunks(uids):
        query = select(annotations.c.uid).where(
            annotations.c.uid.in_(chunk),
            or_(
                and_(annotations.c.target_kind == "execution", annotations.c.target_key.in_(runs)),
                and_(
                    annotations.c.target_kind == "artifact", annotations.c.target_key.in_(touched)
                ),
            ),
        )
        found.extend(conn.execute(query).scalars())
    return found


__all__ = ["AuditEntry", "ChangePage", "Keys", "StoredConflict", "SyncRecords", "load"]
