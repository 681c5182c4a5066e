"""Merge a batch of records into a store by natural key, following DESIGN.md's merge rules.

A :class:`~cmf_core.store.batch.RecordBatch` holds the frozen records every
query returns, from an mlmd import or, later, a metadata pull. Each record is
matched on its natural key; when the store already has it:

- pipeline (name), stage (pipeline, name): properties merged, the batch's
  values winning;
- execution (id): identical → no-op; ended beats running (a running stored
  one is replaced by an ended one; an ended stored one stays); any other
  difference → a conflict, reported with both versions, the stored one kept;
- artifact (digest): properties merged, a size or file count filled in where
  unknown; another type → a conflict;
- event (execution, digest, direction, path) and metric (execution, name,
  step): see :mod:`cmf_core.store.merge_links`;
- annotation (uid), last, once the records it may be about are in: see
  :mod:`cmf_core.store.merge_annotations`.

Every record that is new or changed is journaled (:mod:`cmf_core.store.journal`)
with the batch's ``origin``, and every conflict is kept in the ``conflicts``
table with both versions and its ``source``, once per incoming version, and a
push is audited (:mod:`cmf_core.store.merge_audit`).

One call is one transaction (``Store._write``): the whole batch is merged, or,
if the store fails, nothing. New rows go in as one statement per chunk
(:mod:`cmf_core.store.bulk`), and stored ones, stages too, are read in chunks
of :data:`~cmf_core.store.batch.CHUNK` keys, so a batch of tens of thousands of
records costs a few hundred statements on either backend.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import bindparam, select, update

from cmf_core.records import Artifact, Execution, ExecutionStatus, Pipeline, Stage
from cmf_core.store import reads
from cmf_core.store.batch import (
    MergeSummary,
    RecordBatch,
    Tally,
    chunks,
    differences,
    unique,
)
from cmf_core.store.bulk import binder, insert_rows
from cmf_core.store.journal import journal, stage_key
from cmf_core.store.merge_annotations import merge_annotations
from cmf_core.store.merge_audit import audit_push, keep_conflicts
from cmf_core.store.merge_links import MergeState, merge_events, merge_metrics
from cmf_core.store.schema import (
    artifacts,
    executions,
    json_dict,
    pipelines,
    stages,
)

if TYPE_CHECKING:
    from cmf_core.store import Store

NamedT = TypeVar("NamedT", Pipeline, Stage)


def merge_records(
    store: "Store",
    batch: RecordBatch,
    *,
    progress: Callable[[int], None] | None = None,
    origin: str | None = None,
    source: str = "merge",
    actor: str | None = None,
) -> MergeSummary:
    """Merge ``batch`` into ``store`` in one transaction; see the module docstring.

    ``progress`` is called with the number of records dealt with after each chunk.
    ``origin`` is journaled with what changed (where it came from; None: made here);
    ``source`` names where kept conflicts came from. With ``actor`` (who pushed the batch:
    a token's name), each pipeline, stage, execution, artifact and annotation of the batch
    (an annotation with its author, as recorded at its source), and the batch itself with
    its summary, is added to the audit table, in the same transaction.
    """
    tally = Tally()
    with store._write() as conn:
        if conn.dialect.name == "postgresql":
            # Every lookup of a merge is by key. During a bulk push the tables grow faster
            # than PostgreSQL's statistics follow, and its planner chose sequential scans
            # per chunk, also in the generic plans of statements the driver had prepared
            # (103 s of database CPU for a 100,000-execution push; 1 s at 10,000).
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        state = MergeState(conn, store._insert, tally, progress or (lambda _done: None))
        merger = _Merger(state)
        merger.pipelines(batch.pipelines)
        merger.stages(batch.stages)
        merger.executions(batch.executions)
        merger.artifacts(batch.artifacts)
        merge_events(state, batch.events)
        merge_metrics(state, batch.metrics)
        merge_annotations(state, batch.annotations)
        for kind, keys in state.changed.items():
            journal(conn, kind, keys, origin)
        keep_conflicts(state, tally.conflicts, source)
        summary = tally.summary()
        if actor is not None:
            audit_push(conn, batch, actor, summary)
    return summary


class _Merger:
    def __init__(self, state: MergeState) -> None:
        self.state = state
        self.conn = state.conn
        self.tally = state.tally
        self.stage_ids: dict[tuple[str, str], int] = {}

    # -- pipelines and stages ----------------------------------------------------------------

    def pipelines(self, records: Sequence[Pipeline]) -> None:
        kept = unique(records, lambda p: p.name, _merge_named)
        stored = self._stored_named([record.name for record in kept])
        for record in kept:
            old = stored.get((record.name, None))
            if old is not None and {**old[1], **record.properties} == old[1]:
                self.tally.add("pipelines", "unchanged")  # nothing to write: no statement
                continue
            _, changed = self._upsert_named(
                "pipelines", pipelines, {"name": record.name}, record.properties, record.created_at
            )
            if changed:
                self.state.change("pipeline", record.name)
        self.state.progress(len(records))

    def stages(self, records: Sequence[Stage]) -> None:
        kept = unique(records, lambda s: (s.pipeline, s.name), _merge_named)
        stored = self._stored_named(sorted({record.pipeline for record in kept}))
        for record in kept:
            old = stored.get((record.pipeline, record.name))
            if old is not None and {**old[1], **record.properties} == old[1]:
                self.tally.add("stages", "unchanged")  # nothing to write: no statement
                self.stage_ids[(record.pipeline, record.name)] = old[0]
                continue
            row = self.conn.execute(
                select(pipelines.c.id).where(pipelines.c.name == record.pipeline)
            ).first()
            if row is not None:
                pipeline_id = int(row.id)
            else:
                pipeline_id, _ = self._upsert_named(
                    "pipelines", pipelines, {"name": record.pipeline}, {}, record.created_at
                )
                self.state.change("pipeline", record.pipeline)
            key = {"pipeline_id": pipeline_id, "name": record.name}
            stage_id, changed = self._upsert_named(
                "stages", stages, key, record.properties, record.created_at
            )
            if changed:
                self.state.change("stage", stage_key(record.pipeline, record.name))
            self.stage_ids[(record.pipeline, record.name)] = stage_id
        self.state.progress(len(records))

    def _stored_named(
        self, names: Sequence[str]
    ) -> dict[tuple[str, str | None], tuple[int, dict[str, Any]]]:
        """The stored pipelines of ``names`` (keyed ``(name, None)``) and their stages
        (``(pipeline, stage)``), with their ids and properties, a chunk of names a query."""
        found: dict[tuple[str, str | None], tuple[int, dict[str, Any]]] = {}
        for chunk in chunks(names):
            query = (
                select(
                    pipelines.c.id,
                    pipelines.c.name,
                    pipelines.c.properties,
                    stages.c.id.label("stage_id"),
                    stages.c.name.label("stage"),
                    stages.c.properties.label("stage_properties"),
                )
                .outerjoin(stages, stages.c.pipeline_id == pipelines.c.id)
                .where(pipelines.c.name.in_(chunk))
            )
            for row in self.conn.execute(query):
                found[(row.name, None)] = (int(row.id), json_dict(row.properties))
                if row.stage_id is not None:
                    properties = json_dict(row.stage_properties)
                    found[(row.name, row.stage)] = (int(row.stage_id), properties)
        return found

    def _upsert_named(
        self,
        kind: str,
        table: Any,
        key: dict[str, Any],
        properties: dict[str, Any],
        created_at: datetime,
    ) -> tuple[int, bool]:
        """The row's id, and whether it is new or its properties changed."""
        where = [table.c[name] == value for name, value in key.items()]
        query = select(table.c.id, table.c.properties).where(*where).with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            values = {**key, "properties": properties, "created_at": created_at}
            self.conn.execute(self.state.insert(table).values(values).on_conflict_do_nothing())
            self.tally.add(kind, "new")
            return int(self.conn.execute(query).one().id), True
        merged = {**json_dict(row.properties), **properties}
        if merged != json_dict(row.properties):
            self.conn.execute(update(table).where(table.c.id == row.id).values(properties=merged))
            self.tally.add(kind, "updated")
            return int(row.id), True
        self.tally.add(kind, "unchanged")
        return int(row.id), False

    def _stage_id(self, pipeline: str, stage: str) -> int | None:
        if (pipeline, stage) not in self.stage_ids:
            self._find_stages([(pipeline, stage)])
        return self.stage_ids.get((pipeline, stage))

    def _find_stages(self, wanted: Sequence[tuple[str, str]]) -> None:
        """Learn the ids of the stored stages among ``wanted`` (one query per chunk of
        pipelines, not one per execution)."""
        lacking = {pair for pair in wanted if pair not in self.stage_ids}
        for chunk in chunks(sorted({pipeline for pipeline, _ in lacking})):
            query = (
                select(stages.c.id, pipelines.c.name.label("pipeline"), stages.c.name)
                .join(pipelines, pipelines.c.id == stages.c.pipeline_id)
                .where(pipelines.c.name.in_(chunk))
            )
            for row in self.conn.execute(query):
                if (row.pipeline, row.name) in lacking:
                    self.stage_ids[(row.pipeline, row.name)] = int(row.id)

    # -- executions --------------------------------------------------------------------------

    def executions(self, records: Sequence[Execution]) -> None:
        def clash(first: Execution, second: Execution) -> None:
            stored, incoming = differences(first, second)
            reason = "the batch holds two versions of this execution"
            self.tally.conflict("executions", first.id, reason, stored, incoming)

        for chunk in chunks(unique(records, lambda e: e.id, None, clash)):
            query = reads.executions_query().where(executions.c.id.in_([r.id for r in chunk]))
            stored = {row.id: reads.execution_record(row) for row in self.conn.execute(query)}
            self._find_stages([(record.pipeline, record.stage) for record in chunk])
            fresh: list[dict[str, Any]] = []
            for record in chunk:
                stage_id = self._stage_id(record.pipeline, record.stage)
                if stage_id is None:
                    self.state.refused.add(record.id)
                    reason = f"its stage {record.pipeline}/{record.stage} is not in the batch"
                    self.tally.skip("executions", record.id, reason)
                elif record.id not in stored:
                    fresh.append(_execution_row(record, stage_id))
                    self.state.usable.add(record.id)
                else:
                    self._merge_execution(stored[record.id], record, stage_id)
            if fresh:
                names = list(fresh[0])
                bind = binder(self.conn, executions, names)
                rows = [bind([row[name] for name in names]) for row in fresh]
                insert_rows(self.conn, executions, names, rows)
                self.state.change("execution", *(row["id"] for row in fresh))
            self.tally.add("executions", "new", len(fresh))
            self.state.progress(len(chunk))

    def _merge_execution(self, old: Execution, new: Execution, stage_id: int) -> None:
        running = ExecutionStatus.RUNNING
        if old == new or (old.status is not running and new.status is running):
            self.state.usable.add(new.id)  # the same, or ended beats running: keep the stored
            self.tally.add("executions", "unchanged")
        elif old.status is running:
            row = _execution_row(new, stage_id)
            self.conn.execute(update(executions).where(executions.c.id == new.id).values(row))
            self.state.usable.add(new.id)
            self.state.change("execution", new.id)
            self.tally.add("executions", "updated")
        else:
            stored, incoming = differences(old, new)
            self.state.refused.add(new.id)
            reason = f"execution {new.id} is recorded with other {', '.join(stored)}"
            self.tally.conflict("executions", new.id, reason, stored, incoming)

    # -- artifacts ---------------------------------------------------------------------------

    def artifacts(self, records: Sequence[Artifact]) -> None:
        def clash(first: Artifact, second: Artifact) -> None:
            reason = (
                f"the batch holds artifact {first.digest} as a {first.type} and a {second.type}"
            )
            self.tally.conflict(
                "artifacts", first.digest, reason, {"type": first.type}, {"type": second.type}
            )

        for chunk in chunks(unique(records, lambda a: a.digest, _merge_artifact, clash)):
            query = select(artifacts).where(artifacts.c.digest.in_([r.digest for r in chunk]))
            stored = {row.digest: row for row in self.conn.execute(query)}
            fresh, changed = [], []
            for record in chunk:
                row = stored.get(record.digest)
                if row is None:
                    fresh.append(_artifact_row(record))
                    continue
                self.state.artifact_ids[record.digest] = int(row.id)
                values = self._merge_artifact(reads.artifact_record(row), record)
                if values is not None:
                    changed.append({"row_id": row.id, **values})
                    self.state.change("artifact", record.digest)
            if fresh:
                self.conn.execute(self.state.insert(artifacts).on_conflict_do_nothing(), fresh)
                self.state.remember_artifact_ids(row["digest"] for row in fresh)
                self.state.change("artifact", *(row["digest"] for row in fresh))
            if changed:
                self.conn.execute(_UPDATE_ARTIFACT, changed)
            self.tally.add("artifacts", "new", len(fresh))
            self.tally.add("artifacts", "updated", len(changed))
            self.state.progress(len(chunk))

    def _merge_artifact(self, old: Artifact, new: Artifact) -> dict[str, Any] | None:
        """The columns to update, or None when nothing changes (or the types clash)."""
        if old.type != new.type:
            reason = f"artifact {new.digest} is recorded as a {old.type}, not a {new.type}"
            self.tally.conflict(
                "artifacts", new.digest, reason, {"type": old.type}, {"type": new.type}
            )
            return None
        properties = {**old.properties, **new.properties}
        size = old.size if old.size is not None else new.size
        nfiles = old.nfiles if old.nfiles is not None else new.nfiles
        if (properties, size, nfiles) == (old.properties, old.size, old.nfiles):
            self.tally.add("artifacts", "unchanged")
            return None
        return {"properties": properties, "size": size, "nfiles": nfiles}


_UPDATE_ARTIFACT = (
    update(artifacts)
    .where(artifacts.c.id == bindparam("row_id"))
    .values(properties=bindparam("properties"), size=bindparam("size"), nfiles=bindparam("nfiles"))
)


def _merge_named(first: NamedT, second: NamedT) -> NamedT:
    """Two copies of one pipeline or stage in a batch: one record, properties merged."""
    return first.model_copy(update={"properties": {**first.properties, **second.properties}})


def _merge_artifact(first: Artifact, second: Artifact) -> Artifact | None:
    """Two copies of one digest in a batch: one record, or None when their types clash."""
    if first.type != second.type:
        return None
    return first.model_copy(update={"properties": {**first.properties, **second.properties}})


def _execution_row(record: Execution, stage_id: int) -> dict[str, Any]:
    row = record.model_dump(exclude={"pipeline", "stage"})
    row["status"] = record.status.value
    row["stage_id"] = stage_id
    return row


def _artifact_row(record: Artifact) -> dict[str, Any]:
    return {
        "digest": record.digest,
        "type": record.type.value,
        "size": record.size,
        "nfiles": record.nfiles,
        "properties": record.properties,
        "created_at": record.created_at,
    }


__all__ = ["merge_records"]
