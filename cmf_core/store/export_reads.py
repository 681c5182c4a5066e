"""Store reads for the streamed OpenLineage and PROV exports: lean pages, no pydantic.

A whole-store export reads every execution and event once, so what a row costs
decides the rate: these queries select only the columns an export writes and
return slotted dataclasses (no validation, no artifact properties to decode).
Every read is one page: executions in id order (= start order) after a key,
the events of one page's executions, artifacts in digest order after a key. A
caller holds one page at a time, so memory does not grow with the store.
Environment artifacts are left out, as in every lineage read.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select

from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.schema import artifacts, events, executions, pipelines, stages

ENVIRONMENT = ArtifactType.ENVIRONMENT.value
# Enum members by value: a dict look-up costs a fraction of calling the enum per row.
_STATUS = {s.value: s for s in ExecutionStatus}
_DIRECTION = {d.value: d for d in EventDirection}
_TYPE = {t.value: t for t in ArtifactType}


@dataclass(frozen=True, slots=True)
class ExportRun:
    """What an export writes of an execution."""

    id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    params: dict[str, Any]
    error: str | None
    site: str | None
    git_remote: str | None
    git_branch: str | None
    git_commit_start: str | None
    git_commit_end: str | None
    git_is_dirty: bool | None
    environment_digest: str | None


@dataclass(frozen=True, slots=True)
class ExportEvent:
    """An event with what an export writes of its artifact."""

    execution_id: str
    direction: EventDirection
    path: str
    digest: str
    type: ArtifactType
    size: int | None


@dataclass(frozen=True, slots=True)
class ExportArtifact:
    digest: str
    type: ArtifactType
    size: int | None


_run_columns = (
    executions.c.id,
    pipelines.c.name.label("pipeline_name"),
    stages.c.name.label("stage_name"),
    executions.c.status,
    executions.c.started_at,
    executions.c.ended_at,
    executions.c.params,
    executions.c.error,
    executions.c.site,
    executions.c.git_remote,
    executions.c.git_branch,
    executions.c.git_commit_start,
    executions.c.git_commit_end,
    executions.c.git_is_dirty,
    executions.c.environment_digest,
)


def id_page(
    query: Select[Any],
    *,
    pipeline: str | None,
    ids: Collection[str] | None,
    after: str | None,
    limit: int,
) -> Select[Any]:
    """``query`` (over executions joined to their pipeline) as one page in id order (= start
    order): of ``pipeline`` (None: every pipeline), only ``ids`` when given, ids > ``after``."""
    query = query.order_by(executions.c.id).limit(limit)
    if pipeline is not None:
        query = query.where(pipelines.c.name == pipeline)
    if ids is not None:
        query = query.where(executions.c.id.in_(list(ids)))
    if after is not None:
        query = query.where(executions.c.id > after)
    return query


class ExportReads(StoreBase):
    def export_runs(
        self,
        *,
        pipeline: str | None,
        ids: Sequence[str] | None = None,
        after: str | None = None,
        limit: int,
    ) -> list[ExportRun]:
        """Up to ``limit`` executions with ids > ``after``, in id order: of ``pipeline``
        (None: every pipeline), and only ``ids`` when given (at most a few thousand)."""
        query = id_page(
            select(*_run_columns)
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id),
            pipeline=pipeline,
            ids=ids,
            after=after,
            limit=limit,
        )
        with self._read() as conn:
            return [
                ExportRun(
                    id, pipeline_name, stage, _STATUS[status], started, ended, params or {}, *rest
                )
                for id, pipeline_name, stage, status, started, ended, params, *rest in conn.execute(
                    query
                )
            ]

    def export_run_sites(
        self,
        *,
        pipeline: str | None,
        ids: Sequence[str] | None = None,
        after: str | None = None,
        limit: int,
    ) -> list[tuple[str, str | None]]:
        """(id, site) of the executions :meth:`export_runs` would return: nothing to decode."""
        query = select(executions.c.id, executions.c.site).order_by(executions.c.id).limit(limit)
        if pipeline is not None:
            query = (
                query.join(stages, stages.c.id == executions.c.stage_id)
                .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
                .where(pipelines.c.name == pipeline)
            )
        if ids is not None:
            query = query.where(executions.c.id.in_(list(ids)))
        if after is not None:
            query = query.where(executions.c.id > after)
        with self._read() as conn:
            return [(row.id, row.site) for row in conn.execute(query)]

    def export_events(
        self, execution_ids: Collection[str], *, direction: EventDirection | None = None
    ) -> list[ExportEvent]:
        """The events of these executions (of one ``direction`` if given), each
        execution's in logging order."""
        found: list[ExportEvent] = []
        with self._read() as conn:
            for chunk in chunks(sorted(execution_ids)):
                query = (
                    select(
                        events.c.execution_id,
                        events.c.direction,
                        events.c.path,
                        artifacts.c.digest,
                        artifacts.c.type,
                        artifacts.c.size,
                    )
                    .join(artifacts, artifacts.c.id == events.c.artifact_id)
                    .where(artifacts.c.type != ENVIRONMENT, events.c.execution_id.in_(chunk))
                    .order_by(events.c.execution_id, events.c.created_at, events.c.path)
                )
                if direction is not None:
                    query = query.where(events.c.direction == direction.value)
                found.extend(
                    ExportEvent(execution_id, _DIRECTION[way], path, digest, _TYPE[type], size)
                    for execution_id, way, path, digest, type, size in conn.execute(query)
                )
        return found

    def export_artifacts(
        self,
        *,
        pipeline: str | None,
        upto: str,
        after: str | None = None,
        limit: int,
    ) -> list[ExportArtifact]:
        """Up to ``limit`` artifacts with digests > ``after``, in digest order, that an
        execution of ``pipeline`` (None: any) with id ≤ ``upto`` read or wrote."""
        used = select(events.c.artifact_id).where(
            events.c.artifact_id == artifacts.c.id, events.c.execution_id <= upto
        )
        if pipeline is not None:
            used = (
                used.join(executions, executions.c.id == events.c.execution_id)
                .join(stages, stages.c.id == executions.c.stage_id)
                .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
                .where(pipelines.c.name == pipeline)
            )
        query = (
            select(artifacts.c.digest, artifacts.c.type, artifacts.c.size)
            .where(artifacts.c.type != ENVIRONMENT, exists(used))
            .order_by(artifacts.c.digest)
            .limit(limit)
        )
        if after is not None:
            query = query.where(artifacts.c.digest > after)
        with self._read() as conn:
            return [
                ExportArtifact(digest, _TYPE[type], size)
                for digest, type, size in conn.execute(query)
            ]
