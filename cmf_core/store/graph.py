"""Store reads for lineage: batched event lookups, one query per hop.

A lineage walk (:mod:`cmf_core.graph.lineage`) runs on one connection through a
:class:`GraphReader` (``with store.graph_reader() as reader: …``). Each hop is
one query over a whole frontier: from artifacts to the executions at the other
end of their events (the ``ix_events_artifact_direction_created`` index), or from
executions to their artifacts (the events primary key's prefix), joined with
what a lineage node shows. Artifacts of type ``environment`` are never
returned: an environment is a digest on the execution, not a lineage node.
Integer artifact ids stay in here; callers see digests.

Unknown ids and digests raise NotFoundError naming the recorded ones nearest
in sort order (they share the longest prefix with what was typed).
"""

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from cmf_core.errors import Kind, NotFoundError
from cmf_core.records import (
    ArtifactType,
    EventDetail,
    EventDirection,
    Execution,
    ExecutionStatus,
)
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.export_reads import id_page
from cmf_core.store.schema import artifacts, events, executions, pipelines, stages

CHUNK = 5_000  # ids per IN (...) list: far below SQLite's and psycopg's parameter limits
ENVIRONMENT = ArtifactType.ENVIRONMENT.value


@dataclass(frozen=True, slots=True)
class ArtifactSummary:
    """What a lineage node shows of an artifact."""

    digest: str
    type: ArtifactType
    size: int | None


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What a lineage node shows of an execution (no params: no JSON to decode)."""

    id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    git_commit_start: str | None
    git_is_dirty: bool | None


@dataclass(frozen=True, slots=True)
class ExecutionHit:
    """An event seen from its artifact: the execution at the other end."""

    digest: str
    path: str
    execution: ExecutionSummary


@dataclass(frozen=True, slots=True)
class ArtifactHit:
    """An event seen from its execution: the artifact at the other end."""

    execution_id: str
    path: str
    artifact: ArtifactSummary


_execution_columns = (
    executions.c.id,
    executions.c.status,
    executions.c.started_at,
    executions.c.ended_at,
    executions.c.git_commit_start,
    executions.c.git_is_dirty,
    stages.c.name.label("stage_name"),
    pipelines.c.name.label("pipeline_name"),
)
_artifact_columns = (artifacts.c.id, artifacts.c.digest, artifacts.c.type, artifacts.c.size)


def _execution_summary(row: Any) -> ExecutionSummary:
    return ExecutionSummary(
        id=row.id,
        pipeline=row.pipeline_name,
        stage=row.stage_name,
        status=ExecutionStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        git_commit_start=row.git_commit_start,
        git_is_dirty=row.git_is_dirty,
    )


def _artifact_summary(row: Any) -> ArtifactSummary:
    return ArtifactSummary(digest=row.digest, type=ArtifactType(row.type), size=row.size)


def _executions_select() -> Select[Any]:
    return (
        select(
            events.c.artifact_id.label("event_artifact_id"),
            events.c.path.label("event_path"),
            *_execution_columns,
        )
        .join(executions, executions.c.id == events.c.execution_id)
        .join(stages, stages.c.id == executions.c.stage_id)
        .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
    )


def _artifacts_select() -> Select[Any]:
    return (
        select(
            events.c.execution_id.label("event_execution_id"),
            events.c.path.label("event_path"),
            *_artifact_columns,
        )
        .join(artifacts, artifacts.c.id == events.c.artifact_id)
        .where(artifacts.c.type != ENVIRONMENT)
    )


# The two hop queries, built once: a hop only binds its frontier, direction and cap. Their
# order is total (a cut keeps the same rows every time) and they read one row past the cap,
# so exactly ``cap`` rows is not mistaken for a cut.
_EXECUTIONS_OF = (
    _executions_select()
    .where(
        events.c.artifact_id.in_(bindparam("ids", expanding=True)),
        events.c.direction == bindparam("direction"),
    )
    .order_by(executions.c.started_at, executions.c.id, events.c.artifact_id, events.c.path)
    .limit(bindparam("cap"))
)
_ARTIFACTS_OF = (
    _artifacts_select()
    .where(
        events.c.execution_id.in_(bindparam("ids", expanding=True)),
        events.c.direction == bindparam("direction"),
    )
    .order_by(artifacts.c.digest, events.c.execution_id, events.c.path)
    .limit(bindparam("cap"))
)


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


class GraphReader:
    """Lineage reads on one open connection; valid inside ``Store.graph_reader()`` only."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ids: dict[str, int] = {}  # digest -> artifacts.id, for artifacts seen so far

    def artifact(self, digest: str) -> ArtifactSummary:
        row = self._conn.execute(
            select(*_artifact_columns).where(artifacts.c.digest == digest)
        ).first()
        if row is None:
            raise NotFoundError(f"No artifact {digest!r}.", kind=Kind.ARTIFACT, reference=digest)
        self._ids[row.digest] = row.id
        return _artifact_summary(row)

    def execution(self, execution_id: str) -> ExecutionSummary:
        query = (
            select(*_execution_columns)
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(executions.c.id == execution_id)
        )
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFoundError(
                f"No execution {execution_id!r}.", kind=Kind.EXECUTION, reference=execution_id
            )
        return _execution_summary(row)

    def full_executions(self, execution_ids: Collection[str]) -> dict[str, Execution]:
        """The complete records (params, Git, environment) of these executions."""
        found: dict[str, Execution] = {}
        for chunk in _chunks(sorted(execution_ids)):
            query = reads.executions_query().where(executions.c.id.in_(chunk))
            found.update((row.id, reads.execution_record(row)) for row in self._conn.execute(query))
        return found

    def artifact_paths(self, digest: str, *, limit: int = 20) -> list[str]:
        """Up to ``limit`` distinct paths the artifact was logged under, sorted."""
        artifact_id = self._artifact_ids([digest])
        if not artifact_id:
            return []
        query = (
            select(events.c.path)
            .where(events.c.artifact_id == artifact_id[0])
            .distinct()
            .order_by(events.c.path)
            .limit(limit)
        )
        return list(self._conn.scalars(query))

    def executions_of(
        self, digests: Collection[str], direction: EventDirection, *, cap: int
    ) -> list[ExecutionHit]:
        """Events of ``direction`` on these artifacts, with their executions in a stable order.

        At most ``cap + 1`` rows: more than ``cap`` means the hop was cut.
        """
        ids = self._artifact_ids(digests)
        digest_of = {self._ids[d]: d for d in digests if d in self._ids}
        hits: list[ExecutionHit] = []
        for chunk in _chunks(ids):
            bound = {"ids": chunk, "direction": direction.value, "cap": cap + 1 - len(hits)}
            hits.extend(
                ExecutionHit(
                    digest=digest_of[row.event_artifact_id],
                    path=row.event_path,
                    execution=_execution_summary(row),
                )
                for row in self._conn.execute(_EXECUTIONS_OF, bound)
            )
            if len(hits) > cap:
                break
        return hits

    def artifacts_of(
        self, execution_ids: Collection[str], direction: EventDirection, *, cap: int
    ) -> list[ArtifactHit]:
        """Events of ``direction`` of these executions, with their artifacts in a stable order.

        At most ``cap + 1`` rows: more than ``cap`` means the hop was cut.
        """
        hits: list[ArtifactHit] = []
        for chunk in _chunks(sorted(execution_ids)):
            bound = {"ids": chunk, "direction": direction.value, "cap": cap + 1 - len(hits)}
            for row in self._conn.execute(_ARTIFACTS_OF, bound):
                self._ids[row.digest] = row.id
                hits.append(
                    ArtifactHit(
                        execution_id=row.event_execution_id,
                        path=row.event_path,
                        artifact=_artifact_summary(row),
                    )
                )
            if len(hits) > cap:
                break
        return hits

    def execution_ids_of(
        self, digest: str, direction: EventDirection, *, at_most: int
    ) -> list[str]:
        """Ids of executions with an event of ``direction`` on the artifact: at most
        ``at_most + 1`` (more than ``at_most`` means "at least that many"), read in index
        order with no sort, so a dataset read by a million runs costs a bounded read."""
        ids = self._artifact_ids([digest])
        if not ids:
            return []
        query = (
            select(events.c.execution_id)
            .where(events.c.artifact_id == ids[0], events.c.direction == direction.value)
            .distinct()
            .limit(at_most + 1)
        )
        return list(self._conn.scalars(query))

    def _artifact_ids(self, digests: Collection[str]) -> list[int]:
        missing = [d for d in digests if d not in self._ids]
        for chunk in _chunks(missing):
            query = select(artifacts.c.digest, artifacts.c.id).where(artifacts.c.digest.in_(chunk))
            self._ids.update({row.digest: row.id for row in self._conn.execute(query)})
        return sorted(self._ids[d] for d in digests if d in self._ids)


class GraphReads(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""

    @contextmanager
    def graph_reader(self) -> Iterator[GraphReader]:
        """A :class:`GraphReader` on one connection, for the length of the block."""
        with self._read() as conn:
            if self.dialect == "postgresql":
                # Hop queries are a few index lookups each. A hub dataset inflates the
                # planner's row estimate and it starts parallel workers, which alone cost
                # ~10 ms a hop; for this read transaction only, it may not.
                conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            yield GraphReader(conn)

    # -- resolving what a person typed -------------------------------------------------------

    # -- whole pipelines, page by page (exports) ---------------------------------------------

    def page_executions(
        self,
        *,
        pipeline: str | None,
        ids: Collection[str] | None = None,
        after: str | None = None,
        limit: int,
    ) -> list[Execution]:
        """Executions in id order (= start order) with ids > ``after``: of ``pipeline``
        (None: every pipeline), and only ``ids`` when given (at most CHUNK of them)."""
        query = id_page(
            reads.executions_query(), pipeline=pipeline, ids=ids, after=after, limit=limit
        )
        with self._read() as conn:
            if pipeline is not None:
                self._check_pipeline(conn, pipeline)
            return [reads.execution_record(row) for row in conn.execute(query)]

    def events_of_executions(self, execution_ids: Collection[str]) -> dict[str, list[EventDetail]]:
        """Every event of these executions (environments left out), in logging order."""
        found: dict[str, list[EventDetail]] = {execution_id: [] for execution_id in execution_ids}
        with self._read() as conn:
            for chunk in _chunks(sorted(found)):
                query = (
                    select(
                        events.c.execution_id.label("event_execution_id"),
                        events.c.path.label("event_path"),
                        events.c.direction.label("event_direction"),
                        artifacts,
                    )
                    .join(artifacts, artifacts.c.id == events.c.artifact_id)
                    .where(artifacts.c.type != ENVIRONMENT, events.c.execution_id.in_(chunk))
                    .order_by(events.c.created_at, events.c.path)
                )
                for row in conn.execute(query):
                    found[row.event_execution_id].append(
                        EventDetail(
                            direction=EventDirection(row.event_direction),
                            path=row.event_path,
                            artifact=reads.artifact_record(row),
                        )
                    )
        return found

    def _check_pipeline(self, conn: Connection, pipeline: str) -> None:
        known = list(conn.scalars(select(pipelines.c.name).order_by(pipelines.c.name)))
        if pipeline not in known:
            shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
            raise NotFoundError(
                f"No pipeline {pipeline!r} in {{store}}; "
                + (f"recorded pipelines: {shown}." if known else "no pipeline is recorded yet."),
                kind=Kind.PIPELINE,
                reference=pipeline,
                choices=known,
                store=self.display_url,
            )


__all__ = [
    "ArtifactHit",
    "ArtifactSummary",
    "ExecutionHit",
    "ExecutionSummary",
    "GraphReader",
    "GraphReads",
]
