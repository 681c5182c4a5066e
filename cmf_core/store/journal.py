"""The change journal: which records changed, in the order their transactions committed.

Every write that creates or changes a pipeline, stage, artifact or execution,
or records an annotation (keyed by its ``uid``), calls :func:`journal` in its
own transaction; an execution is also journaled when it gains an event or
metrics, since those travel with it. Journaling a record deletes its older row
and appends a new one, so the journal holds one row per record and "what
changed after sequence N" is one range scan (:mod:`cmf_core.store.changes`
reads it).

Sequence numbers are handed out in commit order, so a reader that has seen N
never later finds a smaller number committed: SQLite has one writer at a time;
on PostgreSQL, concurrent transactions could commit out of order, so each one
takes a transaction-level advisory lock before it journals, held to its commit.
That serialises only the journaling tail of concurrent writes — and it is the
database's lock, shared by every process on it, not one of this process.
"""

import json
from collections.abc import Iterable

from sqlalchemy import Connection

from cmf_core.store.bulk import insert_rows
from cmf_core.store.schema import changes

JOURNAL_LOCK = 8231737  # pg_advisory_xact_lock key (schema DDL uses 8231736)
KINDS = ("pipeline", "stage", "artifact", "execution", "annotation")


def stage_key(pipeline: str, stage: str) -> str:
    return json.dumps([pipeline, stage])


def parse_stage_key(key: str) -> tuple[str, str]:
    pipeline, stage = json.loads(key)
    return str(pipeline), str(stage)


def journal(conn: Connection, kind: str, keys: Iterable[str], origin: str | None = None) -> None:
    """Append ``keys`` of ``kind`` to the journal (their older rows removed), in this
    transaction."""
    rows = [(kind, key, origin) for key in dict.fromkeys(keys)]
    if not rows:
        return
    # Plain rows through the driver (store/bulk.py): this runs on every recording call, and
    # a merge journals its whole batch at once (one statement on PostgreSQL).
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({JOURNAL_LOCK})")
        insert_rows(conn, changes, ("kind", "key", "origin"), rows, suffix=_POSTGRESQL_UPSERT)
    else:
        conn.exec_driver_sql(_SQLITE, rows)


def journal_annotations(conn: Connection, chunk: int = 10_000) -> None:
    """Journal every stored annotation once, oldest first, for a store whose annotations
    predate their journaling (schema 0008)."""
    uids = [row[0] for row in conn.exec_driver_sql("SELECT uid FROM annotations ORDER BY id")]
    for start in range(0, len(uids), chunk):
        journal(conn, "annotation", uids[start : start + chunk])


def journal_everything(conn: Connection, chunk: int = 10_000) -> None:
    """Journal every stored record once — pipelines, stages, artifacts, then executions
    oldest first — for a store whose records predate the journal (schema 0006)."""
    queries = (
        ("pipeline", "SELECT name FROM pipelines ORDER BY id", lambda row: row[0]),
        (
            "stage",
            "SELECT p.name, s.name FROM stages s JOIN pipelines p ON p.id = s.pipeline_id "
            "ORDER BY s.id",
            lambda row: stage_key(row[0], row[1]),
        ),
        ("artifact", "SELECT digest FROM artifacts ORDER BY id", lambda row: row[0]),
        ("execution", "SELECT id FROM executions ORDER BY started_at, id", lambda row: row[0]),
    )
    for kind, query, key in queries:
        keys = [key(row) for row in conn.exec_driver_sql(query)]
        for start in range(0, len(keys), chunk):
            journal(conn, kind, keys[start : start + chunk])


# REPLACE deletes the record's older row and inserts one with the next AUTOINCREMENT number.
_SQLITE = "INSERT OR REPLACE INTO changes (kind, key, origin) VALUES (?, ?, ?)"
# Unnested rows are inserted, and take their numbers, in the order given.
_POSTGRESQL_UPSERT = (
    "ON CONFLICT (kind, key) DO UPDATE SET "
    "seq = nextval(pg_get_serial_sequence('changes', 'seq')), origin = EXCLUDED.origin"
)


__all__ = [
    "JOURNAL_LOCK",
    "KINDS",
    "journal",
    "journal_annotations",
    "journal_everything",
    "parse_stage_key",
    "stage_key",
]
