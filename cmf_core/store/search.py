"""Store reads for search: a filter's matches, sorted, one keyset page at a time.

The SQL for the filter and the sort key is :mod:`cmf_core.store.filter_sql`'s.

Pages are keyset pages ordered by (sort key, tie-break) — the execution id or
the artifact digest. A sort key that may be missing (``ended_at``, a metric, a
param, ``size``) sorts last in both directions: a page first reads the rows
that have the key, then, if room is left, those that lack it, ordered by the
tie-break alone. That keeps the first part an ordered index range where an
index exists.
"""

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.sql.util import ClauseAdapter

from cmf_core.records import Artifact, EventDirection, Execution
from cmf_core.search.filters import Node, Sort
from cmf_core.store.base import StoreBase
from cmf_core.store.candidates import candidates, exact_lookup
from cmf_core.store.filter_sql import FilterCompiler, Order
from cmf_core.store.reads import artifact_record, execution_record, executions_query
from cmf_core.store.schema import artifacts, events, executions, pipelines, stages


class FoundExecution(NamedTuple):
    execution: Execution
    key: Any  # the value of the sort key (None when the row lacks it)


class FoundArtifact(NamedTuple):
    artifact: Artifact
    path: str | None  # the path of its newest event
    produced_by: str | None  # the execution of its newest output event
    pipeline: str | None
    stage: str | None
    key: Any


class SearchReads(StoreBase):
    """Searches, mixed into :class:`cmf_core.store.Store`."""

    def search_executions(
        self, where: Node | None, *, sort: Sort, limit: int, after: tuple[Any, str] | None
    ) -> list[FoundExecution]:
        """Up to ``limit`` executions matching ``where``, in ``sort`` order after ``after``.

        ``after`` is (sort key, id) of the last row of the previous page; a key of
        None means that row lacked the key (it was in the trailing part).
        """
        compiler = FilterCompiler(self.dialect, "executions")
        query = executions_query()
        order = compiler.order(sort.field)
        with self._read() as conn:
            adapt: Adapt | None = _unchanged
            if where is not None:
                query, adapt = query.where(compiler.node(where)), _among_candidates(conn, where)
            if adapt is None:
                return []
            rows = _page(conn, query, order, executions.c.id, sort, limit, after, adapt)
        return [FoundExecution(execution_record(r), key) for r, key in rows]

    def search_artifacts(
        self, where: Node | None, *, sort: Sort, limit: int, after: tuple[Any, str] | None
    ) -> list[FoundArtifact]:
        """Up to ``limit`` artifacts matching ``where``, in ``sort`` order after ``after``.

        ``after`` is (sort key, digest) of the last row of the previous page.
        """
        compiler = FilterCompiler(self.dialect, "artifacts")
        query = select(artifacts)
        if where is not None:
            query = query.where(compiler.node(where))
        order = compiler.order(sort.field)
        with self._read() as conn:
            rows = _page(conn, query, order, artifacts.c.digest, sort, limit, after)
            origins = _origins(conn, [r.id for r, _ in rows])
        found = []
        for row, key in rows:
            path, produced_by, pipeline, stage = origins.get(row.id, (None, None, None, None))
            found.append(
                FoundArtifact(artifact_record(row), path, produced_by, pipeline, stage, key)
            )
        return found

    def count_matches(self, table: str, where: Node | None, *, cap: int) -> int:
        """How many executions or artifacts (``table``) match ``where``, counted up to
        ``cap`` at most (``cap`` then means "at least"), so the count stays one bounded read."""
        compiler = FilterCompiler(self.dialect, table, ordered=False)
        if table == "executions":  # the joins the filter's pipeline and stage fields need
            query = executions_query().with_only_columns(executions.c.id)
        else:
            query = select(artifacts.c.id)
        with self._read() as conn:
            lookup = exact_lookup(where, self.dialect) if where and table == "executions" else None
            if lookup is not None:  # one index row per match: count those
                query, where = lookup, None
            if where is not None:
                query = query.where(compiler.node(where))
                adapt = _among_candidates(conn, where) if table == "executions" else _unchanged
                if adapt is None:
                    return 0
                query = adapt(query)
            bounded = query.limit(cap).subquery()
            return int(conn.execute(select(func.count()).select_from(bounded)).scalar_one())

    def execution_counts(self) -> dict[tuple[str, str], int]:
        """Executions per (pipeline, stage), every one counted (one grouped read)."""
        query = (
            select(pipelines.c.name, stages.c.name, func.count(executions.c.id))
            .select_from(executions)
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .group_by(pipelines.c.name, stages.c.name)
        )
        with self._read() as conn:
            return {(p, s): int(n) for p, s, n in conn.execute(query)}


Adapt = Callable[[Select[Any]], Select[Any]]


def _among_candidates(conn: Any, where: Node) -> Adapt | None:
    """How to read a query on executions from those an index names as the only ones that
    can match ``where`` (:mod:`cmf_core.store.candidates`) — unchanged when there is no
    such short list; None when the list is empty.

    The list becomes a derived table with a LIMIT, which neither backend merges into the
    outer query, so its rows are fetched by primary key first and no other index (of a
    status most rows have, say) can make the plan walk the whole store.
    """
    found = candidates(conn, where, conn.dialect.name)
    if found is None:
        return _unchanged
    if not found:
        return None
    few = (
        select(executions)
        .where(executions.c.id.in_(sorted(found)))
        .limit(len(found))
        .subquery("few_executions")
    )
    adapter = ClauseAdapter(few)

    def adapt(query: Select[Any]) -> Select[Any]:
        adapted: Select[Any] = adapter.traverse(query)
        return adapted

    return adapt


def _unchanged(query: Select[Any]) -> Select[Any]:
    return query


def _page(
    conn: Any,
    query: Select[Any],
    order: Order,
    tie: ColumnElement[Any],
    sort: Sort,
    limit: int,
    after: tuple[Any, str] | None,
    adapt: Adapt = _unchanged,
) -> list[tuple[Any, Any]]:
    """Rows with the key (ordered by key, tie), then rows without it (by tie)."""
    forward = operator.lt if sort.descending else operator.gt

    def direction(column: ColumnElement[Any]) -> Any:
        return column.desc() if sort.descending else column.asc()

    rows: list[tuple[Any, Any]] = []
    if after is None or after[0] is not None:
        head = order.query(query.add_columns(order.key.label("sort_key")))
        head_tie = tie if order.tie is None else order.tie
        if order.present is not None:
            head = head.where(order.present)
        if after is not None:
            key, last = order.bind(after[0]), after[1]
            beyond = operator.le if sort.descending else operator.ge
            head = head.where(
                beyond(order.key, key), or_(forward(order.key, key), forward(head_tie, last))
            )
        head = head.order_by(direction(order.key), direction(head_tie)).limit(limit)
        rows = [(r, r.sort_key) for r in conn.execute(adapt(head))]
    if len(rows) < limit and order.present is not None:
        tail = query.where(order.absent)
        if after is not None and after[0] is None:
            tail = tail.where(forward(tie, after[1]))
        tail = tail.order_by(direction(tie)).limit(limit - len(rows))
        rows += [(r, None) for r in conn.execute(adapt(tail))]
    return rows


def _origins(
    conn: Any, artifact_ids: list[int]
) -> dict[int, tuple[str | None, str | None, str | None, str | None]]:
    """Per artifact: the path of its newest event and the execution, pipeline, stage of its
    newest output event."""
    if not artifact_ids:
        return {}
    newest = (
        select(events.c.path)
        .where(events.c.artifact_id == artifacts.c.id)
        .order_by(events.c.created_at.desc(), events.c.path.desc())
        .limit(1)
        .scalar_subquery()
    )
    producer = (
        select(events.c.execution_id)
        .where(
            events.c.artifact_id == artifacts.c.id,
            events.c.direction == EventDirection.OUTPUT.value,
        )
        .order_by(events.c.created_at.desc(), events.c.execution_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    found = conn.execute(
        select(artifacts.c.id, newest.label("path"), producer.label("producer")).where(
            artifacts.c.id.in_(artifact_ids)
        )
    ).all()
    producers = {r.producer for r in found if r.producer is not None}
    names: dict[str, tuple[str, str]] = {}
    if producers:
        query = (
            select(executions.c.id, pipelines.c.name.label("p"), stages.c.name.label("s"))
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(executions.c.id.in_(producers))
        )
        names = {r.id: (r.p, r.s) for r in conn.execute(query)}
    origins = {}
    for r in found:
        pipeline, stage = names.get(r.producer, (None, None))
        origins[r.id] = (r.path, r.producer, pipeline, stage)
    return origins


__all__ = ["FoundArtifact", "FoundExecution", "SearchReads"]
