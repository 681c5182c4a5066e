"""Read queries of the store: each takes a connection and returns frozen records.

Ids and digests may be given as unique prefixes; an ambiguous prefix raises
InvalidInputError listing the candidates.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select

from cmf_core.digest import DIGEST_PREFIX, digest_prefix, is_empty_prefix
from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.records import (
    Artifact,
    ArtifactDetail,
    Event,
    EventDetail,
    EventDirection,
    Execution,
    ExecutionDetail,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store.schema import (
    artifacts,
    events,
    executions,
    json_dict,
    metrics,
    pipelines,
    stages,
)

CANDIDATES_SHOWN = 10
NEAR = 3  # near matches suggested each side of an unknown id or digest

_execution_columns = (
    executions,
    stages.c.name.label("stage_name"),
    pipelines.c.name.label("pipeline_name"),
)


def executions_query() -> Select[Any]:
    return (
        select(*_execution_columns)
        .join(stages, stages.c.id == executions.c.stage_id)
        .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
    )


def execution_record(row: Row[Any]) -> Execution:
    return Execution(
        id=row.id,
        pipeline=row.pipeline_name,
        stage=row.stage_name,
        status=ExecutionStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        command=row.command,
        params=json_dict(row.params),
        properties=json_dict(row.properties),
        error=row.error,
        site=row.site,
        git_remote=row.git_remote,
        git_branch=row.git_branch,
        git_commit_start=row.git_commit_start,
        git_commit_end=row.git_commit_end,
        git_is_dirty=row.git_is_dirty,
        git_diff_digest=row.git_diff_digest,
        environment_digest=row.environment_digest,
    )


def artifact_record(row: Row[Any]) -> Artifact:
    return Artifact(
        digest=row.digest,
        type=row.type,
        size=row.size,
        nfiles=row.nfiles,
        properties=json_dict(row.properties),
        created_at=row.created_at,
    )


def list_pipelines(conn: Connection) -> list[Pipeline]:
    rows = conn.execute(select(pipelines).order_by(pipelines.c.name))
    return [
        Pipeline(name=r.name, properties=json_dict(r.properties), created_at=r.created_at)
        for r in rows
    ]


def list_stages(conn: Connection, *, pipeline: str | None) -> list[Stage]:
    query = select(stages, pipelines.c.name.label("pipeline_name")).join(
        pipelines, pipelines.c.id == stages.c.pipeline_id
    )
    if pipeline is not None:
        query = query.where(pipelines.c.name == pipeline)
    query = query.order_by(pipelines.c.name, stages.c.id)
    return [
        Stage(
            pipeline=r.pipeline_name,
            name=r.name,
            properties=json_dict(r.properties),
            created_at=r.created_at,
        )
        for r in conn.execute(query)
    ]


def list_executions(
    conn: Connection,
    *,
    pipeline: str | None,
    stage: str | None,
    status: ExecutionStatus | None,
    limit: int,
    offset: int,
) -> list[Execution]:
    query = executions_query()
    if pipeline is not None:
        query = query.where(pipelines.c.name == pipeline)
    if stage is not None:
        query = query.where(stages.c.name == stage)
    if status is not None:
        query = query.where(executions.c.status == status.value)
    query = query.order_by(executions.c.started_at.desc(), executions.c.id.desc())
    query = query.limit(limit).offset(offset)
    return [execution_record(r) for r in conn.execute(query)]


def list_artifacts(
    conn: Connection, *, type: str | None, pipeline: str | None, limit: int, offset: int
) -> list[tuple[Artifact, str | None]]:
    query = select(artifacts)
    if type is not None:
        query = query.where(artifacts.c.type == type)
    if pipeline is not None:
        in_pipeline = (
            select(events.c.artifact_id)
            .join(executions, executions.c.id == events.c.execution_id)
            .join(stages, stages.c.id == executions.c.stage_id)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(pipelines.c.name == pipeline)
        )
        query = query.where(artifacts.c.id.in_(in_pipeline))
    query = query.order_by(artifacts.c.created_at.desc(), artifacts.c.id.desc())
    rows = conn.execute(query.limit(limit).offset(offset)).all()
    paths = _last_paths(conn, [r.id for r in rows])
    return [(artifact_record(r), paths.get(r.id)) for r in rows]


def _last_paths(conn: Connection, artifact_ids: list[int]) -> dict[int, str]:
    """The path each artifact was last logged under (one row each, picked in the database)."""
    if not artifact_ids:
        return {}
    latest = (
        select(events.c.artifact_id, func.max(events.c.created_at).label("at"))
        .where(events.c.artifact_id.in_(artifact_ids))
        .group_by(events.c.artifact_id)
        .subquery()
    )
    query = select(events.c.artifact_id, func.min(events.c.path).label("path")).join(
        latest,
        (events.c.artifact_id == latest.c.artifact_id) & (events.c.created_at == latest.c.at),
    )
    query = query.group_by(events.c.artifact_id)
    return {r.artifact_id: r.path for r in conn.execute(query)}


def _prefix_match(column: Any, prefix: str) -> Any:
    # A range, not LIKE: it uses the index on both backends and needs no escaping.
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def resolve_execution_id(conn: Connection, id_or_prefix: str) -> str:
    prefix = id_or_prefix.strip().lower()
    if not prefix:
        raise InvalidInputError("Give an execution id or a prefix of one (e.g. '0193a1b2').")
    rows = conn.execute(
        select(executions.c.id)
        .where(_prefix_match(executions.c.id, prefix))
        .order_by(executions.c.id)
        .limit(CANDIDATES_SHOWN + 1)
    ).all()
    if not rows:
        near = near_values(conn, executions.c.id, prefix)
        raise NotFoundError(
            f"No execution matches {id_or_prefix!r}{_nearest(near)}.",
            kind=Kind.EXECUTION,
            reference=id_or_prefix,
            matches=near,
        )
    return _one(rows, id_or_prefix, Kind.EXECUTION)


def resolve_digest(conn: Connection, digest_or_prefix: str) -> str:
    prefix = digest_prefix(digest_or_prefix)
    if is_empty_prefix(prefix):
        raise InvalidInputError("Give an artifact digest or a prefix of one (e.g. 'md5:3f2a').")
    rows = conn.execute(
        select(artifacts.c.digest)
        .where(_prefix_match(artifacts.c.digest, prefix))
        .order_by(artifacts.c.digest)
        .limit(CANDIDATES_SHOWN + 1)
    ).all()
    if not rows:
        near = near_values(conn, artifacts.c.digest, prefix)
        raise NotFoundError(
            f"No artifact matches {digest_or_prefix!r}{_nearest(near)}.",
            kind=Kind.ARTIFACT,
            reference=digest_or_prefix,
            matches=near,
        )
    return _one(rows, digest_or_prefix, Kind.ARTIFACT)


def near_values(conn: Connection, column: Any, asked: str) -> list[str]:
    """Up to NEAR values each side of ``asked`` in sort order, the longest shared prefix first."""
    if not asked:
        return []
    before = conn.scalars(select(column).where(column < asked).order_by(column.desc()).limit(NEAR))
    after = conn.scalars(select(column).where(column > asked).order_by(column).limit(NEAR))
    shared = {value: _shared_prefix(value, asked) for value in [*before, *after]}
    best = max(shared.values(), default=0)
    floor = len(DIGEST_PREFIX) + 1 if asked.startswith(DIGEST_PREFIX) else 1
    if best < floor:
        return []
    return sorted(value for value, length in shared.items() if length == best)


def near_matches(conn: Connection, reference: str) -> list[str]:
    """Recorded execution ids and digests nearest in sort order to ``reference``."""
    asked = reference.strip().lower()
    digest = digest_prefix(asked)
    return near_values(conn, executions.c.id, asked) + near_values(conn, artifacts.c.digest, digest)


def _shared_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _nearest(near: Sequence[str]) -> str:
    return f" (nearest recorded: {', '.join(near)})" if near else ""


def _one(rows: Sequence[Row[Any]], asked: str, kind: Kind) -> str:
    if len(rows) == 1:
        return str(rows[0][0])
    shown = [str(r[0]) for r in rows[:CANDIDATES_SHOWN]]
    more = ", …" if len(rows) > CANDIDATES_SHOWN else ""
    raise InvalidInputError(
        f"{asked!r} matches more than one {kind}: {', '.join(shown)}{more}. Give more characters.",
        kind=kind,
        reference=asked,
        matches=shown,
    )


def get_execution(conn: Connection, execution_id: str) -> Execution:
    row = conn.execute(executions_query().where(executions.c.id == execution_id)).first()
    if row is None:
        raise NotFoundError(
            f"No execution {execution_id!r}.", kind=Kind.EXECUTION, reference=execution_id
        )
    return execution_record(row)


def execution_detail(conn: Connection, execution_id: str) -> ExecutionDetail:
    execution = get_execution(conn, execution_id)
    query = (
        select(events.c.direction, events.c.path, artifacts)
        .join(artifacts, artifacts.c.id == events.c.artifact_id)
        .where(events.c.execution_id == execution_id)
        .order_by(events.c.created_at, events.c.path)
    )
    inputs: list[EventDetail] = []
    outputs: list[EventDetail] = []
    for row in conn.execute(query):
        detail = EventDetail(
            direction=EventDirection(row.direction), path=row.path, artifact=artifact_record(row)
        )
        (inputs if detail.direction is EventDirection.INPUT else outputs).append(detail)
    final = list_metrics(conn, execution_id, name=None, steps=False)
    counts = conn.execute(
        select(metrics.c.name, func.count())
        .where(metrics.c.execution_id == execution_id, metrics.c.step.is_not(None))
        .group_by(metrics.c.name)
        .order_by(metrics.c.name)
    )
    return ExecutionDetail(
        execution=execution,
        inputs=inputs,
        outputs=outputs,
        metrics=final,
        step_metrics={name: int(n) for name, n in counts},
    )


def artifact_detail(
    conn: Connection, digest: str, *, events_limit: int | None = None, events_offset: int = 0
) -> ArtifactDetail:
    """The artifact with every event, or with one page of them (``events_limit``)."""
    row = conn.execute(select(artifacts).where(artifacts.c.digest == digest)).first()
    if row is None:
        raise NotFoundError(f"No artifact {digest!r}.", kind=Kind.ARTIFACT, reference=digest)
    if events_limit is not None:
        from cmf_core.store.artifact_events import events_page

        bare = ArtifactDetail(artifact=artifact_record(row), events=[])
        return events_page(conn, bare, row.id, offset=events_offset, limit=events_limit)
    query = (
        select(events.c.execution_id, events.c.direction, events.c.path, events.c.created_at)
        .where(events.c.artifact_id == row.id)
        .order_by(events.c.created_at)
    )
    found = [
        Event(
            execution_id=e.execution_id,
            digest=digest,
            direction=EventDirection(e.direction),
            path=e.path,
            created_at=e.created_at,
        )
        for e in conn.execute(query)
    ]
    paths = sorted({e.path for e in found})
    return ArtifactDetail(artifact=artifact_record(row), events=found, paths=paths)


def digests_for_path(conn: Connection, path: str) -> list[str]:
    query = (
        select(artifacts.c.digest, func.max(events.c.created_at).label("last"))
        .join(events, events.c.artifact_id == artifacts.c.id)
        .where(events.c.path == path)
        .group_by(artifacts.c.digest)
        .order_by(func.max(events.c.created_at).desc())
    )
    return [r.digest for r in conn.execute(query)]


def list_metrics(
    conn: Connection, execution_id: str, *, name: str | None, steps: bool | None = None
) -> list[Metric]:
    """Metrics of one execution; ``steps`` False = execution-level only, True = step only.

    Both metrics indexes are partial (step NULL / NOT NULL), so each query names
    which rows it wants; without that, the database scans the whole table.
    """
    if steps is None:
        return [
            *list_metrics(conn, execution_id, name=name, steps=False),
            *list_metrics(conn, execution_id, name=name, steps=True),
        ]
    query = select(metrics).where(metrics.c.execution_id == execution_id)
    if name is not None:
        query = query.where(metrics.c.name == name)
    if steps:
        query = query.where(metrics.c.step.is_not(None)).order_by(metrics.c.name, metrics.c.step)
    else:
        query = query.where(metrics.c.step.is_(None)).order_by(metrics.c.name)
    return [
        Metric(
            execution_id=r.execution_id,
            name=r.name,
            step=r.step,
            value=math.nan if r.value is None else r.value,
            time=datetime.fromtimestamp(r.time, UTC),
        )
        for r in conn.execute(query)
    ]


def metric_values(
    conn: Connection, execution_id: str, names: Iterable[str]
) -> dict[tuple[str, int | None], float | None]:
    wanted = list(names)
    found: dict[tuple[str, int | None], float | None] = {}
    for has_step in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):  # one per index
        query = select(metrics.c.name, metrics.c.step, metrics.c.value).where(
            metrics.c.execution_id == execution_id, metrics.c.name.in_(wanted), has_step
        )
        found.update({(r.name, r.step): r.value for r in conn.execute(query)})
    return found
