"""Whole records by natural key, as a self-contained :class:`RecordBatch`.

:func:`load` reads the stored versions of given keys for sync: each execution
with its stage and pipeline, its events (and their artifacts) and its metrics,
and each annotation with the execution or artifact it is about, so the batch
merges into any store as it is (:mod:`cmf_core.store.changes` pages the
journal through it; a server answering "which of these do you lack?" reads
the bare records).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from cmf_core.records import (
    Artifact,
    ArtifactType,
    Event,
    EventDirection,
    Execution,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store import reads
from cmf_core.store.annotations import Annotation, load_annotations
from cmf_core.store.batch import RecordBatch
from cmf_core.store.chunks import chunks
from cmf_core.store.journal import stage_key
from cmf_core.store.schema import (
    artifacts,
    events,
    executions,
    json_dict,
    metrics,
    pipelines,
    stages,
)
from cmf_core.store.trusted import trusted


@dataclass(frozen=True)
class Keys:
    """Natural keys of records to load, by kind."""

    pipelines: Sequence[str] = ()
    stages: Sequence[tuple[str, str]] = ()
    artifacts: Sequence[str] = ()
    executions: Sequence[str] = ()
    annotations: Sequence[str] = ()  # uids


def load(
    conn: Connection, keys: Keys, *, links: bool = True, referenced: bool = True
) -> RecordBatch:
    """The stored records of ``keys``; see :meth:`SyncRecords.load_records`. With
    ``referenced``, also the artifacts their events and annotations name; with ``links``,
    also the executions their annotations name (an execution is journaled again when it
    gains a link, so it may come after its annotation in the journal)."""
    found_annotations = load_annotations(conn, keys.annotations)
    about = _targets(found_annotations) if links else {"execution": [], "artifact": []}
    wanted_ids = list(dict.fromkeys([*keys.executions, *about["execution"]]))
    found_executions: list[Execution] = []
    for chunk in chunks(wanted_ids):
        query = reads.executions_query().where(executions.c.id.in_(chunk))
        found_executions.extend(_execution(row) for row in conn.execute(query))
    found_events = _events(conn, [e.id for e in found_executions]) if links else []
    found_metrics = _metrics(conn, [e.id for e in found_executions]) if links else []
    named = [*(e.digest for e in found_events), *about["artifact"]] if referenced else []
    digests = list(dict.fromkeys([*keys.artifacts, *named]))
    stage_names = list(
        dict.fromkeys([*keys.stages, *((e.pipeline, e.stage) for e in found_executions)])
    )
    pipeline_names = list(dict.fromkeys([*keys.pipelines, *(p for p, _ in stage_names)]))
    return RecordBatch(
        pipelines=_pipelines(conn, pipeline_names),
        stages=_stages(conn, stage_names),
        executions=found_executions,
        artifacts=_artifacts(conn, digests),
        events=found_events,
        metrics=found_metrics,
        annotations=found_annotations,
    )


def _execution(row: Any) -> Execution:
    """:func:`reads.execution_record`, of a row of this store's own tables: already valid."""
    values = {name: getattr(row, name) for name in _PLAIN_EXECUTION_FIELDS}
    values["pipeline"], values["stage"] = row.pipeline_name, row.stage_name
    values["status"] = ExecutionStatus(row.status)
    values["params"], values["properties"] = json_dict(row.params), json_dict(row.properties)
    return trusted(Execution, {name: values[name] for name in Execution.model_fields})


_PLAIN_EXECUTION_FIELDS = [
    name
    for name in Execution.model_fields
    if name not in {"pipeline", "stage", "status", "params", "properties"}
]


def _targets(found: list[Annotation]) -> dict[str, list[str]]:
    """The execution ids and artifact digests ``found`` annotations are about."""
    about: dict[str, list[str]] = {"execution": [], "artifact": []}
    for annotation in found:
        about.setdefault(annotation.target_kind, []).append(annotation.target_key)
    return about


def _pipelines(conn: Connection, names: list[str]) -> list[Pipeline]:
    found: list[Pipeline] = []
    for chunk in chunks(names):
        query = select(pipelines).where(pipelines.c.name.in_(chunk)).order_by(pipelines.c.id)
        found.extend(
            Pipeline(name=r.name, properties=json_dict(r.properties), created_at=r.created_at)
            for r in conn.execute(query)
        )
    return found


def _stages(conn: Connection, names: list[tuple[str, str]]) -> list[Stage]:
    wanted = {stage_key(p, s) for p, s in names}
    found: list[Stage] = []
    for chunk in chunks(sorted({p for p, _ in names})):
        query = (
            select(pipelines.c.name.label("pipeline"), stages)
            .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
            .where(pipelines.c.name.in_(chunk))
            .order_by(stages.c.id)
        )
        found.extend(
            Stage(
                pipeline=r.pipeline,
                name=r.name,
                properties=json_dict(r.properties),
                created_at=r.created_at,
            )
            for r in conn.execute(query)
            if stage_key(r.pipeline, r.name) in wanted
        )
    return found


def _artifacts(conn: Connection, digests: list[str]) -> list[Artifact]:
    found: list[Artifact] = []
    for chunk in chunks(digests):
        query = select(artifacts).where(artifacts.c.digest.in_(chunk)).order_by(artifacts.c.id)
        found.extend(
            # Rows of this store's own tables, already valid: no second validation.
            trusted(
                Artifact,
                {
                    "digest": r.digest,
                    "type": ArtifactType(r.type),
                    "size": r.size,
                    "nfiles": r.nfiles,
                    "properties": json_dict(r.properties),
                    "created_at": r.created_at,
                },
            )
            for r in conn.execute(query)
        )
    return found


def _events(conn: Connection, ids: list[str]) -> list[Event]:
    found: list[Event] = []
    for chunk in chunks(ids):
        query = (
            select(
                events.c.execution_id,
                artifacts.c.digest,
                events.c.direction,
                events.c.path,
                events.c.created_at,
            )
            .join(artifacts, artifacts.c.id == events.c.artifact_id)
            .where(events.c.execution_id.in_(chunk))
        )
        found.extend(
            # Rows of this store's own tables, already valid: no second validation.
            trusted(
                Event,
                {
                    "execution_id": r.execution_id,
                    "digest": r.digest,
                    "direction": EventDirection(r.direction),
                    "path": r.path,
                    "created_at": r.created_at,
                },
            )
            for r in conn.execute(query)
        )
    return found


def _metrics(conn: Connection, ids: list[str]) -> list[Metric]:
    found: list[Metric] = []
    columns = (metrics.c.execution_id, metrics.c.name, metrics.c.step, metrics.c.value)
    for chunk in chunks(ids):
        # Both metrics indexes are partial (step NULL / NOT NULL): name the rows each holds.
        for rows in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
            query = select(*columns, metrics.c.time).where(metrics.c.execution_id.in_(chunk), rows)
            found.extend(
                trusted(
                    Metric,
                    {
                        "execution_id": r.execution_id,
                        "name": r.name,
                        "step": r.step,
                        "value": math.nan if r.value is None else r.value,
                        "time": datetime.fromtimestamp(r.time, UTC),
                    },
                )
                for r in conn.execute(query)
            )
    return found


__all__ = ["Keys", "load"]
