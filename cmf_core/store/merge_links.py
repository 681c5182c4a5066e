"""The second half of a merge: events and metrics, which hang off executions and artifacts.

:mod:`cmf_core.store.merge` merges pipelines, stages, executions and artifacts
first and leaves in a :class:`MergeState` which executions may take links (new,
unchanged or updated ones, and those already stored) and the store's id of
each artifact digest. Then:

- an event (execution, digest, direction, path) is inserted unless stored: a
  repeat is a no-op;
- a metric (execution, name, step) is inserted unless stored; the same value
  again is a no-op, another value a conflict (the stored one is kept);
- either is skipped when its execution was not merged (a conflict, a skip) or
  is unknown, and an event when its artifact is unknown.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from cmf_core.records import Event, Metric
from cmf_core.store.batch import Tally, chunks, unique
from cmf_core.store.bulk import insert_rows
from cmf_core.store.schema import artifacts, events, executions, metrics

_EVENT_COLUMNS = ("execution_id", "artifact_id", "direction", "path", "created_at")
_METRIC_COLUMNS = ("execution_id", "name", "step", "value", "time")


@dataclass
class MergeState:
    """One merge's connection, account and what its first half learned."""

    conn: Connection
    insert: Any  # the dialect's insert(), which has on_conflict_do_nothing
    tally: Tally
    progress: Callable[[int], None]
    usable: set[str] = field(default_factory=set)  # executions that may take links
    refused: set[str] = field(default_factory=set)  # executions in conflict or skipped
    artifact_ids: dict[str, int] = field(default_factory=dict)  # digest -> artifacts.id
    changed: dict[str, set[str]] = field(default_factory=dict)  # kind -> keys to journal

    def change(self, kind: str, *keys: str) -> None:
        """Note records that are new or changed, to journal at the end of the merge."""
        self.changed.setdefault(kind, set()).update(keys)

    def remember_artifact_ids(self, digests: Iterable[str]) -> None:
        wanted = sorted({digest for digest in digests if digest not in self.artifact_ids})
        for chunk in chunks(wanted):
            query = select(artifacts.c.id, artifacts.c.digest).where(artifacts.c.digest.in_(chunk))
            for row in self.conn.execute(query):
                self.artifact_ids[row.digest] = int(row.id)

    def check_executions(self, ids: Iterable[str]) -> None:
        """Learn which of ``ids`` the batch did not bring are in the store already."""
        unknown = {i for i in ids if i not in self.usable} - self.refused
        for chunk in chunks(sorted(unknown)):
            query = select(executions.c.id).where(executions.c.id.in_(chunk))
            self.usable.update(row.id for row in self.conn.execute(query))

    def why_not(self, execution_id: str) -> str | None:
        """Why a link of ``execution_id`` cannot be merged, or None when it can."""
        if execution_id in self.usable:
            return None
        if execution_id in self.refused:
            return "its execution was not merged (in conflict or skipped)"
        return "its execution is neither in the batch nor in the store"


def merge_events(state: MergeState, records: Sequence[Event]) -> None:
    # Plain tuples through the driver (store/bulk.py): SQLAlchemy's per-row parameter
    # handling would cost more than the database's own insert.
    bind = events.c.created_at.type.bind_processor(state.conn.dialect)

    def at(value: datetime) -> Any:
        return value if bind is None else bind(value)

    kept = unique(records, _event_key, lambda first, _second: first)
    state.check_executions(record.execution_id for record in kept)
    state.remember_artifact_ids(record.digest for record in kept)
    for chunk in chunks(kept):
        ids = sorted({record.execution_id for record in chunk})
        query = select(
            events.c.execution_id, events.c.artifact_id, events.c.direction, events.c.path
        ).where(events.c.execution_id.in_(ids))
        stored = {tuple(row) for row in state.conn.execute(query)}
        fresh = []
        for record in chunk:
            reason = state.why_not(record.execution_id)
            artifact_id = state.artifact_ids.get(record.digest)
            if reason is None and artifact_id is None:
                reason = "its artifact is neither in the batch nor in the store"
            if reason is not None:
                state.tally.skip("events", " ".join(_event_key(record)), reason)
                continue
            row = (record.execution_id, artifact_id, record.direction.value, record.path)
            if row in stored:
                state.tally.add("events", "unchanged")
                continue
            stored.add(row)
            fresh.append((*row, at(record.created_at)))
        if fresh:
            insert_rows(state.conn, events, _EVENT_COLUMNS, fresh, suffix="ON CONFLICT DO NOTHING")
            state.change("execution", *(row[0] for row in fresh))
        state.tally.add("events", "new", len(fresh))
        state.progress(len(chunk))


def merge_metrics(state: MergeState, records: Sequence[Metric]) -> None:
    def clash(first: Metric, second: Metric) -> None:
        if not _same_number(first.value, second.value):
            state.tally.conflict(
                "metrics",
                _shown(first),
                f"the batch holds two values for metric {first.name!r}",
                {"value": _plain(first.value)},
                {"value": _plain(second.value)},
            )

    kept = unique(records, _metric_key, None, clash)
    state.check_executions(record.execution_id for record in kept)
    for chunk in chunks(kept):
        stored = _stored_metrics(state.conn, chunk)
        fresh = []
        for record in chunk:
            reason = state.why_not(record.execution_id)
            if reason is not None:
                state.tally.skip("metrics", _shown(record), reason)
                continue
            key, value = _metric_key(record), _plain(record.value)
            if key not in stored:
                stored[key] = value
                fresh.append(
                    (*key, None if value is None else float(value), record.time.timestamp())
                )
            elif stored[key] == value:
                state.tally.add("metrics", "unchanged")
            else:
                state.tally.conflict(
                    "metrics",
                    _shown(record),
                    f"metric {record.name!r} is recorded as {stored[key]}, not {value}",
                    {"value": stored[key]},
                    {"value": value},
                )
        if fresh:
            insert_rows(state.conn, metrics, _METRIC_COLUMNS, fresh)
            state.change("execution", *(row[0] for row in fresh))
        state.tally.add("metrics", "new", len(fresh))
        state.progress(len(chunk))


def _stored_metrics(
    conn: Connection, chunk: list[Metric]
) -> dict[tuple[str, str, int | None], Any]:
    ids = sorted({record.execution_id for record in chunk})
    names = {record.name for record in chunk}
    columns = (metrics.c.execution_id, metrics.c.name, metrics.c.step, metrics.c.value)
    found: dict[tuple[str, str, int | None], Any] = {}
    # Both metrics indexes are partial (step NULL / NOT NULL): name the rows each one holds.
    # Only the leading column is asked for: with `name IN (…)` as well, PostgreSQL's planner
    # (its statistics behind a bulk push) scanned every row of those names, once per chunk.
    for rows in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
        query = select(*columns).where(metrics.c.execution_id.in_(ids), rows)
        found.update(
            ((r.execution_id, r.name, r.step), r.value)
            for r in conn.execute(query)
            if r.name in names
        )
    return found


def _event_key(record: Event) -> tuple[str, str, str, str]:
    return (record.execution_id, record.digest, record.direction.value, record.path)


def _metric_key(record: Metric) -> tuple[str, str, int | None]:
    return (record.execution_id, record.name, record.step)


def _shown(record: Metric) -> str:
    at = "" if record.step is None else f" step {record.step}"
    return f"{record.execution_id} {record.name}{at}"


def _plain(value: float) -> float | None:
    """NaN as the store keeps it: NULL (SQLite cannot store NaN)."""
    return None if math.isnan(value) else value


def _same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


__all__ = ["MergeState", "merge_events", "merge_metrics"]
