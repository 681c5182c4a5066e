"""Store reads for artifact bytes: which artifact each execution used, under which path.

:mod:`cmf_core.artifacts` (push, pull, status, stats, gc) asks one question of
the metadata: every event, with its artifact and its execution's pipeline,
stage and start time — for the whole store, one pipeline or some executions.
It is one joined query (chunked by execution id), so a push of a pipeline
costs the same few round trips whatever its size.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.store.schema import artifacts, events, executions, pipelines, stages

if TYPE_CHECKING:
    from cmf_core.store import Store

CHUNK = 5000  # ids bound in one IN (…): well under SQLite's limit on parameters


@dataclass(frozen=True, slots=True)
class ArtifactUse:
    """One event: an execution read (``input``) or wrote (``output``) an artifact at a path."""

    digest: str
    type: ArtifactType
    size: int | None
    nfiles: int | None
    path: str
    direction: EventDirection
    execution_id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime


def _uses_query() -> Select[Any]:
    return (
        select(
            artifacts.c.digest,
            artifacts.c.type,
            artifacts.c.size,
            artifacts.c.nfiles,
            events.c.path,
            events.c.direction,
            executions.c.id,
            pipelines.c.name.label("pipeline_name"),
            stages.c.name.label("stage_name"),
            executions.c.status,
            executions.c.started_at,
        )
        .join(artifacts, artifacts.c.id == events.c.artifact_id)
        .join(executions, executions.c.id == events.c.execution_id)
        .join(stages, stages.c.id == executions.c.stage_id)
        .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
        .order_by(executions.c.started_at, executions.c.id, events.c.created_at, events.c.path)
    )


def artifact_uses(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Sequence[str] | None = None,
    direction: EventDirection | None = None,
) -> list[ArtifactUse]:
    """Every event (oldest execution first) of the store, of one pipeline, or of some executions.

    ``execution_ids`` must be full ids (resolve prefixes with ``Store.get_executions``).
    """
    query = _uses_query()
    if pipeline is not None:
        query = query.where(pipelines.c.name == pipeline)
    if direction is not None:
        query = query.where(events.c.direction == direction.value)
    queries = (
        [query]
        if execution_ids is None
        else [query.where(executions.c.id.in_(chunk)) for chunk in _chunks(execution_ids)]
    )
    found: list[ArtifactUse] = []
    with store._read() as conn:
        for chunked in queries:
            found.extend(
                ArtifactUse(
                    digest=row.digest,
                    type=ArtifactType(row.type),
                    size=row.size,
                    nfiles=row.nfiles,
                    path=row.path,
                    direction=EventDirection(row.direction),
                    execution_id=row.id,
                    pipeline=row.pipeline_name,
                    stage=row.stage_name,
                    status=ExecutionStatus(row.status),
                    started_at=row.started_at,
                )
                for row in conn.execute(chunked)
            )
    if len(queries) > 1:
        found.sort(key=lambda use: (use.started_at, use.execution_id))
    return found


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


__all__ = ["ArtifactUse", "artifact_uses"]
