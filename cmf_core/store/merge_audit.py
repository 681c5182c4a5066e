"""What a merge leaves beside the records: the conflicts it kept, and the audit of a push.

- :func:`keep_conflicts` — each conflict of the merge in the ``conflicts`` table with
  both versions and where the incoming one came from, once per incoming version;
- :func:`audit_push` — with a pushing ``actor`` (a token's name: its site), the batch
  with its summary and each pipeline, stage, execution, artifact and annotation it
  held, in the ``audit`` table, in the merge's own transaction.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from cmf_core.store.batch import Conflict, MergeSummary, RecordBatch, chunks
from cmf_core.store.bulk import insert_rows
from cmf_core.store.journal import stage_key
from cmf_core.store.merge_links import MergeState
from cmf_core.store.schema import audit, conflicts, utcnow


def audit_push(conn: Connection, batch: RecordBatch, actor: str, summary: MergeSummary) -> None:
    batch_id = str(uuid.uuid4())
    bind = audit.c.at.type.bind_processor(conn.dialect)
    at = utcnow() if bind is None else bind(utcnow())
    counts = summary.model_dump(exclude={"conflicts", "skipped"})
    found = len(summary.conflicts)
    rows = [("batch", batch_id, json.dumps({"summary": counts, "conflicts": found}))]
    rows += [("pipeline", p.name, "{}") for p in batch.pipelines]
    rows += [("stage", stage_key(s.pipeline, s.name), "{}") for s in batch.stages]
    rows += [
        ("execution", e.id, json.dumps({"site": e.site, "status": e.status.value}))
        for e in batch.executions
    ]
    rows += [("artifact", a.digest, json.dumps({"type": a.type.value})) for a in batch.artifacts]
    rows += [
        (
            "annotation",
            a.uid,
            json.dumps({"author": a.author, "target": [a.target_kind, a.target_key], "key": a.key}),
        )
        for a in batch.annotations
    ]
    # Plain tuples through the driver (store/bulk.py): a push of 100,000 executions audits
    # as many rows.
    insert_rows(
        conn,
        audit,
        _AUDIT_COLUMNS,
        [(at, actor, "push", kind, key, batch_id, detail) for kind, key, detail in rows],
    )


_AUDIT_COLUMNS = ("at", "actor", "action", "kind", "key", "batch", "detail")


def keep_conflicts(state: MergeState, found: Sequence[Conflict], source: str) -> None:
    rows = []
    now = utcnow()
    for conflict in found:
        version = json.dumps(conflict.incoming, sort_keys=True, default=str).encode()
        rows.append(
            {
                "kind": conflict.kind,
                "key": conflict.key,
                "reason": conflict.reason,
                "stored": conflict.stored,
                "incoming": conflict.incoming,
                "incoming_sha256": hashlib.sha256(version).hexdigest(),
                "source": source[:512],
                "recorded_at": now,
            }
        )
    for chunk in chunks(rows):
        state.conn.execute(state.insert(conflicts).on_conflict_do_nothing(), chunk)


__all__ = ["audit_push", "keep_conflicts"]
