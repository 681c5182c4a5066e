"""Store reads for what compare, metric history, reproduce and the cmflib queries read.

Every method is a fixed number of indexed queries, whatever the size of the
store: executions by id (or unique prefix), their events and metrics, the
producers of a set of digests, and one hop of an artifact walk at a time
(``artifact_hops``: breadth-first, one query per hop, with a visited set, so
diamonds and cycles in corrupt data cost linear time). Step series are
summarised in SQL, so a series of a million steps is never read into Python
to compare two runs.
"""

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select
from sqlalchemy.orm import aliased

from cmf_core.records import Artifact, EventDetail, EventDirection, Execution
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.schema import (
    artifacts,
    events,
    executions,
    json_dict,
    metrics,
    pipelines,
    stages,
)

T = TypeVar("T")
CHUNK = 5000  # ids bound in one IN (…): well under SQLite's limit on parameters


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
class StagedExecution:
    """An execution with the surrogate ids of its stage and pipeline (for cmflib's columns)."""

    execution: Execution
    stage_id: int
    pipeline_id: int


@dataclass(frozen=True, slots=True)
class StageMetricRow:
    execution: Execution
    value: float | None
    step: int | None
    steps: int


class HistoryReads(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""

    # -- executions --------------------------------------------------------------------------

    def get_executions(self, refs: Sequence[str]) -> list[Execution]:
        """The executions ``refs`` name (ids or unique prefixes), in the order given.

        An unknown reference raises NotFoundError naming the nearest recorded ids.
        """
        with self._read() as conn:
            wanted = [ref.strip().lower() for ref in refs]
            found = _executions_by_id(conn, wanted)
            # An unknown one raises NotFoundError with the nearest recorded ids.
            resolved = [
                ref if ref in found else reads.resolve_execution_id(conn, given)
                for ref, given in zip(wanted, refs, strict=True)
            ]
            missing = [ref for ref in resolved if ref not in found]
            found.update(_executions_by_id(conn, missing))
            return [found[ref] for ref in resolved]

    def staged_executions(
        self,
        *,
        pipeline: str | None = None,
        stage: str | None = None,
        ids: Iterable[str] | None = None,
    ) -> list[StagedExecution]:
        """Executions (oldest first) with their stage and pipeline ids, filtered as given."""
        query = reads.executions_query().add_columns(
            stages.c.id.label("sid"), pipelines.c.id.label("pid")
        )
        if pipeline is not None:
            query = query.where(pipelines.c.name == pipeline)
        if stage is not None:
            query = query.where(stages.c.name == stage)
        query = query.order_by(executions.c.started_at, executions.c.id)
        queries = (
            [query]
            if ids is None
            else [query.where(executions.c.id.in_(chunk)) for chunk in _chunks(sorted(set(ids)))]
        )
        with self._read() as conn:
            found = [
                StagedExecution(reads.execution_record(r), r.sid, r.pid)
                for chunked in queries
                for r in conn.execute(chunked)
            ]
        if len(queries) > 1:
            found.sort(key=lambda s: (s.execution.started_at, s.execution.id))
        return found

    def stage_ids(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(pipeline, stage) → (stage id, pipeline id), for every stage."""
        query = select(pipelines.c.name, stages.c.name, stages.c.id, pipelines.c.id).join(
            pipelines, pipelines.c.id == stages.c.pipeline_id
        )
        with self._read() as conn:
            return {(p, s): (sid, pid) for p, s, sid, pid in conn.execute(query)}

    def pipeline_ids(self) -> dict[str, int]:
        with self._read() as conn:
            return {
                name: pid for name, pid in conn.execute(select(pipelines.c.name, pipelines.c.id))
            }

    # -- events and artifacts ----------------------------------------------------------------

    def get_events(self, execution_ids: Sequence[str]) -> dict[str, list[EventDetail]]:
        """Each execution's events with their artifacts, in the order they were logged."""
        query = (
            select(events.c.execution_id, events.c.direction, events.c.path, artifacts)
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .order_by(events.c.created_at, events.c.path)
        )
        found: dict[str, list[EventDetail]] = {e: [] for e in execution_ids}
        with self._read() as conn:
            rows = (
                row
                for chunk in _chunks(list(found))
                for row in conn.execute(query.where(events.c.execution_id.in_(chunk)))
            )
            for row in rows:
                found[row.execution_id].append(
                    EventDetail(
                        direction=EventDirection(row.direction),
                        path=row.path,
                        artifact=reads.artifact_record(row),
                    )
                )
        return found

    def input_digests(self, execution_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each execution's inputs as {path: digest} (one hop of an upstream walk)."""
        query = (
            select(events.c.execution_id, events.c.path, artifacts.c.digest)
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(
                events.c.execution_id.in_(list(execution_ids)),
                events.c.direction == EventDirection.INPUT.value,
            )
            .order_by(events.c.created_at)
        )
        found: dict[str, dict[str, str]] = {e: {} for e in execution_ids}
        with self._read() as conn:
            for execution_id, path, digest in conn.execute(query):
                found[execution_id][path] = digest
        return found

    def producers(self, digests: Iterable[str]) -> dict[str, list[Execution]]:
        """The executions that wrote each digest, oldest first ({} for a source)."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        query = (
            reads.executions_query()
            .add_columns(artifacts.c.digest.label("artifact_digest"))
            .join(events, events.c.execution_id == executions.c.id)
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(
                artifacts.c.digest.in_(wanted),
                events.c.direction == EventDirection.OUTPUT.value,
            )
            .order_by(executions.c.started_at, executions.c.id)
        )
        found: dict[str, list[Execution]] = {}
        with self._read() as conn:
            for row in conn.execute(query):
                made = found.setdefault(row.artifact_digest, [])
                if not made or made[-1].id != row.id:  # one execution may write it twice
                    made.append(reads.execution_record(row))
        return found

    def get_artifacts(self, digests: Iterable[str]) -> dict[str, Artifact]:
        found: dict[str, Artifact] = {}
        with self._read() as conn:
            for chunk in _chunks(sorted(set(digests))):
                rows = conn.execute(select(artifacts).where(artifacts.c.digest.in_(chunk)))
                found.update((r.digest, reads.artifact_record(r)) for r in rows)
        return found

    def pipeline_artifacts(self, pipeline: str) -> list[tuple[Artifact, str, Execution]]:
        """Artifacts a pipeline's executions touched: (artifact, first path, first toucher)."""
        return self._first_events(pipelines.c.name == pipeline)

    def describe_artifacts(self, digests: Iterable[str]) -> list[tuple[Artifact, str, Execution]]:
        """Each digest's artifact, the path it was first logged under and the execution that did."""
        found: list[tuple[Artifact, str, Execution]] = []
        for chunk in _chunks(sorted(set(digests))):
            found.extend(self._first_events(artifacts.c.digest.in_(chunk)))
        return found

    def _first_events(self, where: ColumnElement[bool]) -> list[tuple[Artifact, str, Execution]]:
        query = (
            reads.executions_query()
            .add_columns(
                events.c.path.label("event_path"),
                *[c.label(f"artifact_{c.name}") for c in artifacts.c],
            )
            .join(events, events.c.execution_id == executions.c.id)
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(where)
            .order_by(events.c.created_at, artifacts.c.id)
        )
        seen: dict[str, tuple[Artifact, str, Execution]] = {}
        with self._read() as conn:
            for row in conn.execute(query):
                if row.artifact_digest not in seen:
                    artifact = Artifact(
                        digest=row.artifact_digest,
                        type=row.artifact_type,
                        size=row.artifact_size,
                        nfiles=row.artifact_nfiles,
                        properties=json_dict(row.artifact_properties),
                        created_at=row.artifact_created_at,
                    )
                    seen[artifact.digest] = (artifact, row.event_path, reads.execution_record(row))
        return list(seen.values())

    def step_metrics_artifacts(self, metrics_name: str) -> list[str]:
        """Digests of ``step_metrics`` artifacts whose ``metrics_name`` property is this, newest
        first (what cmflib-style ``commit_metrics`` records)."""
        query = (
            select(artifacts.c.digest)
            .where(
                artifacts.c.type == "step_metrics",
                artifacts.c.properties["metrics_name"].as_string() == metrics_name,
            )
            .order_by(artifacts.c.created_at.desc(), artifacts.c.id.desc())
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def artifact_hops(
        self,
        digests: Iterable[str],
        *,
        direction: Literal["upstream", "downstream"],
        max_hops: int | None = None,
        pipeline_id: int | None = None,
    ) -> list[list[str]]:
        """Breadth-first artifact-to-artifact walk: the digests first reached at each hop.

        Upstream, one hop goes from an artifact to the inputs of the executions that
        wrote it; downstream, to the outputs of those that read it. One query per hop;
        each artifact is visited once (the start digests count as visited).
        """
        first, then = ("output", "input") if direction == "upstream" else ("input", "output")
        near, far = events.alias("near"), events.alias("far")
        step = (
            select(far.c.artifact_id)
            .distinct()
            .join(near, near.c.execution_id == far.c.execution_id)
            .where(near.c.direction == first, far.c.direction == then)
        )
        if pipeline_id is not None:
            step = (
                step.join(executions, executions.c.id == near.c.execution_id)
                .join(stages, stages.c.id == executions.c.stage_id)
                .where(stages.c.pipeline_id == pipeline_id)
            )
        hops: list[list[int]] = []
        with self._read() as conn:
            frontier = _artifact_ids(conn, digests)
            visited = set(frontier)
            while frontier and (max_hops is None or len(hops) < max_hops):
                reached: set[int] = set()
                for chunk in _chunks(frontier):
                    reached.update(
                        conn.execute(step.where(near.c.artifact_id.in_(chunk))).scalars()
                    )
                frontier = sorted(reached - visited)
                visited.update(frontier)
                if frontier:
                    hops.append(frontier)
            names = _digests_of(conn, visited)
        return [[names[i] for i in hop] for hop in hops]

    # -- metrics -----------------------------------------------------------------------------

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
        m = aliased(metrics, name="m")
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
            records = _executions_by_id(conn, chosen[:limit])
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
    for chunk in _chunks(execution_ids):
        query = select(metrics.c.execution_id).where(
            metrics.c.execution_id.in_(chunk), metrics.c.name == name
        )
        for has_step in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
            found.update(conn.execute(query.where(has_step).distinct()).scalars())
    return found


def _executions_by_id(conn: Connection, ids: Sequence[str]) -> dict[str, Execution]:
    found: dict[str, Execution] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = conn.execute(reads.executions_query().where(executions.c.id.in_(chunk)))
        found.update((r.id, reads.execution_record(r)) for r in rows)
    return found


def _artifact_ids(conn: Connection, digests: Iterable[str]) -> list[int]:
    found: list[int] = []
    for chunk in _chunks(sorted(set(digests))):
        found.extend(conn.scalars(select(artifacts.c.id).where(artifacts.c.digest.in_(chunk))))
    return sorted(found)


def _digests_of(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(ids)):
        query = select(artifacts.c.id, artifacts.c.digest).where(artifacts.c.id.in_(chunk))
        found.update({i: d for i, d in conn.execute(query)})
    return found


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
