"""A batch of records to merge into a store, and the account of what became of each.

:class:`RecordBatch` holds the frozen records every query returns; the merge
(:mod:`cmf_core.store.merge`) answers with a :class:`MergeSummary`: per kind
how many records were new, already there unchanged, updated (properties
merged, a running execution ended), in conflict, or skipped (annotations
included) — with the
conflicts' two versions and the skips' reasons. :class:`Tally` keeps that
account while a merge runs.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from cmf_core.records import Artifact, Event, Execution, Metric, Pipeline, Record, Stage
from cmf_core.store.annotations import Annotation

CONFLICTS_KEPT = 100  # conflicts reported in full; the counts go on past it
EXAMPLES_KEPT = 3  # keys named per reason for a skip
CHUNK = 500  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
KINDS = ("pipelines", "stages", "executions", "artifacts", "events", "metrics", "annotations")

T = TypeVar("T")


@dataclass(frozen=True)
class RecordBatch:
    """Records to merge. Stages and executions name their pipeline and stage; events and
    metrics their execution id (and events the artifact's digest); annotations name
    theirs by kind and id or digest."""

    pipelines: Sequence[Pipeline] = ()
    stages: Sequence[Stage] = ()
    executions: Sequence[Execution] = ()
    artifacts: Sequence[Artifact] = ()
    events: Sequence[Event] = ()
    metrics: Sequence[Metric] = ()
    annotations: Sequence[Annotation] = ()

    def __len__(self) -> int:
        return sum(len(getattr(self, kind)) for kind in KINDS)


class KindCounts(Record):
    """What became of one kind of record; ``unchanged`` ones were already there as given."""

    new: int = 0
    unchanged: int = 0
    updated: int = 0
    conflicts: int = 0
    skipped: int = 0


class Conflict(Record):
    """Two versions of one record that disagree (the fields that differ); the stored one was
    kept."""

    kind: str
    key: str
    reason: str
    stored: dict[str, Any]
    incoming: dict[str, Any]


class Skip(Record):
    """Records of one kind left out for one reason, with the keys of the first few."""

    kind: str
    reason: str
    count: int
    examples: list[str]


class MergeSummary(Record):
    pipelines: KindCounts = Field(default_factory=KindCounts)
    stages: KindCounts = Field(default_factory=KindCounts)
    executions: KindCounts = Field(default_factory=KindCounts)
    artifacts: KindCounts = Field(default_factory=KindCounts)
    events: KindCounts = Field(default_factory=KindCounts)
    metrics: KindCounts = Field(default_factory=KindCounts)
    annotations: KindCounts = Field(default_factory=KindCounts)
    conflicts: list[Conflict] = Field(default_factory=list)  # the first CONFLICTS_KEPT
    skipped: list[Skip] = Field(default_factory=list)


class Tally:
    """The counts, conflicts and skips of one merge (or one import) while it runs."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in KINDS}
        self.conflicts: list[Conflict] = []
        self.examples: dict[tuple[str, str], list[str]] = {}
        self.skips: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def conflict(
        self, kind: str, key: str, reason: str, stored: dict[str, Any], incoming: dict[str, Any]
    ) -> None:
        self.add(kind, "conflicts")
        # All of them: the merge keeps each in the store; the summary names the first few.
        self.conflicts.append(
            Conflict(kind=kind, key=key, reason=reason, stored=stored, incoming=incoming)
        )

    def skip(self, kind: str, key: str, reason: str, n: int = 1) -> None:
        self.add(kind, "skipped", n)
        self.skips[(kind, reason)] += n
        examples = self.examples.setdefault((kind, reason), [])
        if len(examples) < EXAMPLES_KEPT:
            examples.append(key)

    def add_summary(self, summary: MergeSummary) -> None:
        """Add another merge's account to this one."""
        for kind in KINDS:
            for outcome, n in getattr(summary, kind).model_dump().items():
                self.add(kind, outcome, n)
        room = CONFLICTS_KEPT - len(self.conflicts)
        self.conflicts.extend(summary.conflicts[: max(room, 0)])
        for skip in summary.skipped:
            self.skips[(skip.kind, skip.reason)] += skip.count
            examples = self.examples.setdefault((skip.kind, skip.reason), [])
            examples.extend(skip.examples[: EXAMPLES_KEPT - len(examples)])

    def summary(self) -> MergeSummary:
        skipped = [
            Skip(kind=kind, reason=reason, count=n, examples=self.examples[(kind, reason)])
            for (kind, reason), n in self.skips.items()
        ]
        counts = {kind: KindCounts(**self.counts[kind]) for kind in KINDS}
        return MergeSummary(**counts, conflicts=self.conflicts[:CONFLICTS_KEPT], skipped=skipped)


def unique(
    records: Sequence[T],
    key: Callable[[T], Any],
    combine: Callable[[T, T], T | None] | None,
    clash: Callable[[T, T], None] | None = None,
) -> list[T]:
    """``records``, one per key: equal repeats dropped, others combined, else ``clash``-ed
    (the first one is kept)."""
    kept: dict[Any, T] = {}
    for record in records:
        k = key(record)
        first = kept.get(k)
        if first is None:
            kept[k] = record
        elif first != record:
            combined = combine(first, record) if combine is not None else None
            if combined is not None:
                kept[k] = combined
            elif clash is not None:
                clash(first, record)
    return list(kept.values())


def chunks(items: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def differences(old: Record, new: Record) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields in which two versions of a record differ, each side as JSON values."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    names = [name for name in before if before[name] != after.get(name)]
    return {n: before[n] for n in names}, {n: after[n] for n in names}


__all__ = [
    "CHUNK",
    "Conflict",
    "KindCounts",
    "MergeSummary",
    "RecordBatch",
    "Skip",
    "Tally",
    "chunks",
    "differences",
    "unique",
]
