"""Store reads of metrics: execution-level values, step series and their statistics,
one metric across a stage's executions.

Step series are summarised in SQL (count, NaN count, first and last step and
value, min and max and where they were reached), so a series of a million
steps is never read into Python to compare two runs. NaN is stored as NULL and
read back as NaN. Each metrics index is partial (step NULL or not), so every
query says which it wants.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from cmf_core.records import Execution
from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import CHUNK, chunks
from cmf_core.store.history import executions_by_id
from cmf_core.store.schema import executions, metrics, pipelines, stages


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """A step series of one execution, summarised; values are None where NaN was logged."""

    execution_id: str
    name: str
    count: int
    nan_count: int
    first_step: int
    last_step: int
    first: float | None
    last: float | None
    min: float | None
    max: float | None
    min_step: int | None
    max_step: int | None


@dataclass(frozen=True, slots=True)
class StageMetricRow:
    execution: Execution
    value: float | None
    step: int | None
    steps: int


class MetricReads(StoreBase):
    """Metric reads, mixed into :class:`cmf_core.store.Store`."""

    def final_metrics(
        self, execution_ids: Sequence[str], *, name: str | None = None
    ) -> dict[str, dict[str, float]]:
        """Execution-level metrics ({execution: {name: value}}); NaN as logged."""
        query = (
            select(metrics.c.execution_id, metrics.c.name, metrics.c.value)
            .where(metrics.c.execution_id.in_(list(execution_ids)), metrics.c.step.is_(None))
            .order_by(metrics.c.name)
        )
        if name is not None:
            query = query.where(metrics.c.name == name)
        found: dict[str, dict[str, float]] = {e: {} for e in execution_ids}
        with self._read() as conn:
            for execution_id, name, value in conn.execute(query):
                found[execution_id][name] = math.nan if value is None else value
        return found

    def series_stats(
        self, execution_ids: Sequence[str], *, name: str | None = None
    ) -> list[SeriesStats]:
        """Every step series of these executions, summarised in one query."""
        m = metrics.alias("m")
        where: list[ColumnElement[bool]] = [
            metrics.c.execution_id.in_(list(execution_ids)),
            metrics.c.step.is_not(None),
        ]
        if name is not None:
            where.append(metrics.c.name == name)
        if not execution_ids:
            return []
        agg = (
            select(
                metrics.c.execution_id,
                metrics.c.name,
                func.count().label("n"),
                func.count(metrics.c.value).label("numbers"),
                func.min(metrics.c.step).label("s0"),
                func.max(metrics.c.step).label("s1"),
                func.min(metrics.c.value).label("lo"),
                func.max(metrics.c.value).label("hi"),
            )
            .where(*where)
            .group_by(metrics.c.execution_id, metrics.c.name)
            .subquery()
        )
        # Each metrics index is partial (step NULL or not): say which, or SQLite scans the table.
        same = and_(
            m.c.execution_id == agg.c.execution_id, m.c.name == agg.c.name, m.c.step.is_not(None)
        )

        def at(step: Any) -> Any:
            return select(m.c.value).where(same, m.c.step == step).scalar_subquery()

        def step_of(value: Any) -> Any:
            return select(func.min(m.c.step)).where(same, m.c.value == value).scalar_subquery()

        query = select(
            agg,
            at(agg.c.s0).label("first"),
            at(agg.c.s1).label("last"),
            step_of(agg.c.lo).label("lo_step"),
            step_of(agg.c.hi).label("hi_step"),
        ).order_by(agg.c.name, agg.c.execution_id)
        with self._read() as conn:
            return [
                SeriesStats(
                    execution_id=r.execution_id,
                    name=r.name,
                    count=r.n,
                    nan_count=r.n - r.numbers,
                    first_step=r.s0,
                    last_step=r.s1,
                    first=r.first,
                    last=r.last,
                    min=r.lo,
                    max=r.hi,
                    min_step=r.lo_step,
                    max_step=r.hi_step,
                )
                for r in conn.execute(query)
            ]

    def metric_rows(self, execution_id: str, name: str) -> list[tuple[int | None, float, float]]:
        """(step, value, time) of one metric, steps in order, the final value (step None) first."""
        query = select(metrics.c.step, metrics.c.value, metrics.c.time).where(
            metrics.c.execution_id == execution_id, metrics.c.name == name
        )
        with self._read() as conn:
            rows = [
                *conn.execute(query.where(metrics.c.step.is_(None))),
                *conn.execute(query.where(metrics.c.step.is_not(None)).order_by(metrics.c.step)),
            ]
        return [(step, math.nan if value is None else value, at) for step, value, at in rows]

    def metric_names(self, execution_id: str) -> list[str]:
        query = select(metrics.c.name).distinct().where(metrics.c.execution_id == execution_id)
        with self._read() as conn:
            return sorted(
                {
                    *conn.execute(query.where(metrics.c.step.is_(None))).scalars(),
                    *conn.execute(query.where(metrics.c.step.is_not(None))).scalars(),
                }
            )

    def stage_metric(
        self, pipeline: str, stage: str, name: str, *, limit: int, newest_first: bool
    ) -> list[StageMetricRow]:
        """The metric for the latest (or earliest) ``limit`` executions of a stage that have it.

        The value is the execution-level one, else the last step's (``step`` says which).
        Executions are read page by page along the (stage, start time) index, growing
        pages, and each page is checked for the metric through the metrics indexes: one
        query that does both leaves the choice of index to the planner, and PostgreSQL's
        choice scans every stage's executions by start time.
        """
        order = (executions.c.started_at, executions.c.id)
        page_query = select(*order).order_by(*(c.desc() for c in order) if newest_first else order)
        chosen: list[str] = []
        with self._read() as conn:
            stage_id = conn.execute(
                select(stages.c.id)
                .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
                .where(pipelines.c.name == pipeline, stages.c.name == stage)
            ).scalar_one_or_none()
            page, query = limit, page_query.where(executions.c.stage_id == stage_id)
            while stage_id is not None and len(chosen) < limit:
                rows = conn.execute(query.limit(page)).all()
                have = _logging(conn, [r.id for r in rows], name)
                chosen.extend(r.id for r in rows if r.id in have)
                if len(rows) < page:
                    break
                at, last = rows[-1]
                earlier = executions.c.started_at < at
                tie = and_(executions.c.started_at == at, executions.c.id < last)
                if not newest_first:
                    earlier = executions.c.started_at > at
                    tie = and_(executions.c.started_at == at, executions.c.id > last)
                query = page_query.where(executions.c.stage_id == stage_id, or_(earlier, tie))
                page = min(page * 2, CHUNK)
            records = executions_by_id(conn, chosen[:limit])
        runs = [records[i] for i in chosen[:limit]]
        ids = [e.id for e in runs]
        finals = self.final_metrics(ids, name=name)
        only_steps = [i for i in ids if name not in finals[i]]
        series = {s.execution_id: s for s in self.series_stats(only_steps, name=name)}
        found = []
        for e in runs:
            s = series.get(e.id)
            if name in finals[e.id]:
                found.append(StageMetricRow(e, finals[e.id][name], None, 0))
            elif s is not None:
                last_value = math.nan if s.last is None else s.last
                found.append(StageMetricRow(e, last_value, s.last_step, s.count))
        return found


def _logging(conn: Connection, execution_ids: Sequence[str], name: str) -> set[str]:
    """Which of these executions logged metric ``name`` (each metrics index is partial)."""
    found: set[str] = set()
    for chunk in chunks(execution_ids):
        query = select(metrics.c.execution_id).where(
            metrics.c.execution_id.in_(chunk), metrics.c.name == name
        )
        for has_step in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
            found.update(conn.execute(query.where(has_step).distinct()).scalars())
    return found
