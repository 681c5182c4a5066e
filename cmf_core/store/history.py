"""Store lookups for what compare, reproduce and the cmflib queries read.

Every method is a fixed number of indexed queries, whatever the size of the
store: executions by id (or unique prefix) or by stage, the surrogate ids of
stages and pipelines, executions' events, the producers of a set of digests,
artifacts and where they were first logged. Metric reads are
:mod:`cmf_core.store.metric_reads`'s; the artifact-to-artifact walk is
:mod:`cmf_core.store.artifact_walk`'s.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, select

from cmf_core.records import Artifact, EventDetail, EventDirection, Execution
from cmf_core.store import reads
from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.schema import (
    artifacts,
    events,
    executions,
    json_dict,
    pipelines,
    stages,
)


@dataclass(frozen=True, slots=True)
class StagedExecution:
    """An execution with the surrogate ids of its stage and pipeline (for cmflib's columns)."""

    execution: Execution
    stage_id: int
    pipeline_id: int


class HistoryReads(StoreBase):
    """Lookups, mixed into :class:`cmf_core.store.Store`."""

    # -- executions --------------------------------------------------------------------------

    def get_executions(self, refs: Sequence[str]) -> list[Execution]:
        """The executions ``refs`` name (ids or unique prefixes), in the order given.

        An unknown reference raises NotFoundError naming the nearest recorded ids.
        """
        with self._read() as conn:
            wanted = [ref.strip().lower() for ref in refs]
            found = executions_by_id(conn, wanted)
            # An unknown one raises NotFoundError with the nearest recorded ids.
            resolved = [
                ref if ref in found else reads.resolve_execution_id(conn, given)
                for ref, given in zip(wanted, refs, strict=True)
            ]
            missing = [ref for ref in resolved if ref not in found]
            found.update(executions_by_id(conn, missing))
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
            stages.c.id.label("sid"), pipelines.c.id.label("pipeline_row_id")
        )
        if pipeline is not None:
            query = query.where(pipelines.c.name == pipeline)
        if stage is not None:
            query = query.where(stages.c.name == stage)
        query = query.order_by(executions.c.started_at, executions.c.id)
        queries = (
            [query]
            if ids is None
            else [query.where(executions.c.id.in_(chunk)) for chunk in chunks(sorted(set(ids)))]
        )
        with self._read() as conn:
            found = [
                StagedExecution(reads.execution_record(r), r.sid, r.pipeline_row_id)
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
                for chunk in chunks(list(found))
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
            for chunk in chunks(sorted(set(digests))):
                rows = conn.execute(select(artifacts).where(artifacts.c.digest.in_(chunk)))
                found.update((r.digest, reads.artifact_record(r)) for r in rows)
        return found

    def pipeline_artifacts(self, pipeline: str) -> list[tuple[Artifact, str, Execution]]:
        """Artifacts a pipeline's executions touched: (artifact, first path, first toucher)."""
        return self._first_events(pipelines.c.name == pipeline)

    def describe_artifacts(self, digests: Iterable[str]) -> list[tuple[Artifact, str, Execution]]:
        """Each digest's artifact, the path it was first logged under and the execution that did."""
        found: list[tuple[Artifact, str, Execution]] = []
        for chunk in chunks(sorted(set(digests))):
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


def executions_by_id(conn: Connection, ids: Sequence[str]) -> dict[str, Execution]:
    found: dict[str, Execution] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = conn.execute(reads.executions_query().where(executions.c.id.in_(chunk)))
        found.update((r.id, reads.execution_record(r)) for r in rows)
    return found
