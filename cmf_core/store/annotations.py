"""Store reads and writes for annotations: append-only labels and notes said after the fact.

Nothing here edits or deletes a row. Reading the labels of a record takes, for each key,
the newest annotation; the history of a key is every row, oldest first.

Newest means the highest ``uid``. The uid is a UUID v7 made where the annotation was
recorded: its leading 48 bits are that moment in milliseconds, and the rest break a tie
(strictly increasing within one process), so every site that holds the same annotations
— pulled, pushed or imported in any order — reads the same labels. Each annotation is
journaled (kind ``annotation``, key its uid), so sync carries it.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from cmf_core.errors import InvalidInputError
from cmf_core.ids import Uuid7Generator
from cmf_core.records import Record
from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.journal import journal
from cmf_core.store.schema import annotations, utcnow

TargetKind = Literal["execution", "artifact"]
MAX_KEY = 255

_ids = Uuid7Generator()


class Annotation(Record):
    """One label (``key = value``) or note on an execution or an artifact, with who and when."""

    uid: str
    target_kind: str
    target_key: str
    key: str
    value: str | None
    note: str | None
    author: str
    recorded_at: datetime


def _annotation(row: Any) -> Annotation:
    return Annotation(
        uid=row.uid,
        target_kind=row.target_kind,
        target_key=row.target_key,
        key=row.key,
        value=row.value,
        note=row.note,
        author=row.author,
        recorded_at=row.recorded_at,
    )


def load_annotations(conn: Connection, uids: Sequence[str]) -> list[Annotation]:
    """The stored annotations of ``uids`` (unknown ones left out), oldest first."""
    found: list[Annotation] = []
    for batch in chunks(list(uids)):
        query = select(annotations).where(annotations.c.uid.in_(batch))
        found.extend(_annotation(row) for row in conn.execute(query))
    return sorted(found, key=lambda a: a.uid)


class AnnotationRecords(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""

    def insert_annotation(
        self,
        *,
        target_kind: TargetKind,
        target_key: str,
        key: str,
        value: str | None,
        note: str | None,
        author: str,
    ) -> Annotation:
        if not key or len(key) > MAX_KEY:
            raise InvalidInputError(f"An annotation key needs 1 to {MAX_KEY} characters.")
        uid = _ids.new()
        values = {
            "uid": uid,
            "target_kind": target_kind,
            "target_key": target_key,
            "key": key,
            "value": value,
            "note": note,
            "author": author,
            "recorded_at": utcnow(),
        }
        with self._write() as conn:
            conn.execute(annotations.insert().values(values))
            journal(conn, "annotation", [uid])
            row = conn.execute(select(annotations).where(annotations.c.uid == uid))
            return _annotation(row.one())

    def annotation_history(
        self, target_kind: TargetKind, target_key: str, *, key: str | None = None
    ) -> list[Annotation]:
        query = select(annotations).where(
            annotations.c.target_kind == target_kind, annotations.c.target_key == target_key
        )
        if key is not None:
            query = query.where(annotations.c.key == key)
        with self._read() as conn:
            return [_annotation(r) for r in conn.execute(query.order_by(annotations.c.uid))]

    def current_labels(self, target_kind: TargetKind, target_key: str) -> dict[str, Annotation]:
        """Each key's newest annotation: a later one supersedes an earlier one."""
        return {a.key: a for a in self.annotation_history(target_kind, target_key)}

    def labels_for(
        self, target_kind: TargetKind, target_keys: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """Each record's current labels (key → value), for many records in a few queries.

        A key whose newest annotation has no value (a note, or a cleared label) is left out.
        Records without labels are absent from the answer.
        """
        newest: dict[str, dict[str, str | None]] = {}
        wanted = sorted(set(target_keys))
        with self._read() as conn:
            for batch in chunks(wanted):
                query = (
                    select(annotations.c.target_key, annotations.c.key, annotations.c.value)
                    .where(
                        annotations.c.target_kind == target_kind,
                        annotations.c.target_key.in_(batch),
                    )
                    .order_by(annotations.c.uid)
                )
                for target, key, value in conn.execute(query):
                    newest.setdefault(target, {})[key] = value
        labels = {
            target: {k: v for k, v in keys.items() if v is not None}
            for target, keys in newest.items()
        }
        return {target: found for target, found in labels.items() if found}
