"""The last part of a merge: annotations, which name an execution or an artifact.

An annotation's identity is its ``uid`` (a UUID v7 made where it was recorded),
the same at every site. :mod:`cmf_core.store.merge` merges pipelines, stages,
executions, artifacts, events and metrics first; then each annotation is

- inserted when the store lacks its uid, if the execution or artifact it is
  about is in the store — stored before, or merged from this very batch — and
  skipped (counted, with the reason) when it is not: a label about a record
  the store does not hold would name nothing;
- a no-op when the store holds it as given (a second push, or the same
  annotation arriving by two paths through federation);
- a conflict when the store holds that uid with other content (the stored one
  is kept), which no copy made by cmf produces.

The author and the time are kept as recorded at the source. Inserts say
``ON CONFLICT DO NOTHING`` on the unique uid and report the rows they
actually wrote, so two server processes merging the same annotation at once
on PostgreSQL store it once, and only the one that wrote it journals it.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from cmf_core.store.annotations import Annotation, load_annotations
from cmf_core.store.batch import chunks, differences, unique
from cmf_core.store.merge_links import MergeState
from cmf_core.store.schema import annotations, executions

_COLUMNS = ("uid", "target_kind", "target_key", "key", "value", "note", "author", "recorded_at")


def merge_annotations(state: MergeState, records: Sequence[Annotation]) -> None:
    def clash(first: Annotation, second: Annotation) -> None:
        stored, incoming = differences(first, second)
        reason = "the batch holds two versions of this annotation"
        state.tally.conflict("annotations", first.uid, reason, stored, incoming)

    kept = unique(records, lambda a: a.uid, None, clash)
    present = _present_targets(state, kept)
    for chunk in chunks(kept):
        stored = {a.uid: a for a in load_annotations(state.conn, [a.uid for a in chunk])}
        fresh: list[dict[str, Any]] = []
        for record in chunk:
            old = stored.get(record.uid)
            if old is not None:
                _compare(state, old, record)
            elif (record.target_kind, record.target_key) not in present:
                reason = f"its {record.target_kind} is neither in the batch nor in the store"
                state.tally.skip("annotations", record.uid, reason)
            else:
                fresh.append({name: getattr(record, name) for name in _COLUMNS})
        written: list[str] = []
        if fresh:
            insert = state.insert(annotations).on_conflict_do_nothing(index_elements=["uid"])
            result = state.conn.execute(insert.returning(annotations.c.uid), fresh)
            written = list(result.scalars())
            state.change("annotation", *written)
        state.tally.add("annotations", "new", len(written))
        state.tally.add("annotations", "unchanged", len(fresh) - len(written))
        state.progress(len(chunk))


def _compare(state: MergeState, old: Annotation, new: Annotation) -> None:
    if old == new:
        state.tally.add("annotations", "unchanged")
        return
    stored, incoming = differences(old, new)
    reason = f"annotation {new.uid} is recorded with other {', '.join(stored)}"
    state.tally.conflict("annotations", new.uid, reason, stored, incoming)


def _present_targets(state: MergeState, records: Sequence[Annotation]) -> set[tuple[str, str]]:
    """The (kind, key) of the records ``records`` are about that the store now holds."""
    ids = sorted({a.target_key for a in records if a.target_kind == "execution"})
    digests = [a.target_key for a in records if a.target_kind == "artifact"]
    found = {("execution", i) for i in ids if i in state.usable}
    for chunk in chunks([i for i in ids if i not in state.usable]):
        # Stored executions, also one whose incoming version was kept apart as a conflict.
        query = select(executions.c.id).where(executions.c.id.in_(chunk))
        found.update(("execution", i) for i in state.conn.execute(query).scalars())
    state.remember_artifact_ids(digests)
    found.update(("artifact", d) for d in digests if d in state.artifact_ids)
    return found


__all__ = ["merge_annotations"]
