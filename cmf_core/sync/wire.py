"""The JSON form of records in transit: HTTP push and pull bodies and bundle lines.

:class:`SyncBatch` is a :class:`~cmf_core.store.batch.RecordBatch` as JSON:
pipelines, stages, executions and artifacts as their frozen records, events
and metrics as short rows (there are many of them):

- event: ``[execution_id, digest, direction, path, created_at]``
- metric: ``[execution_id, name, step, value, time]`` — ``value`` null for NaN,
  as the store keeps it;
- annotation: the record (``uid``, ``target_kind``, ``target_key``, ``key``,
  ``value``, ``note``, ``author``, ``recorded_at``), its uid a UUID v7.

Format version 2 added annotations; version 1 bundles still import.

Everything that arrives is validated by these models before it reaches a
store: ids, digests and names are checked here, so a merge never sees a value
it could not keep. :class:`SyncOffer` is a push's first question ("which of these
do you lack?"): each record's key with a fingerprint of its content.
"""

import hashlib
import json
import math
import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from cmf_core.annotate import MAX_AUTHOR, check_annotation
from cmf_core.digest import is_digest
from cmf_core.errors import InvalidInputError
from cmf_core.records import (
    Artifact,
    Event,
    EventDirection,
    Execution,
    ExecutionStatus,
    Metric,
    Pipeline,
    Record,
    Stage,
)
from cmf_core.store.annotations import Annotation
from cmf_core.store.batch import RecordBatch
from cmf_core.store.trusted import trusted

FORMAT_VERSION = 2
RUNNING = "running"  # the fingerprint of every running execution: it never matches
PRESENCE = "?"  # offered without its content: "do you have this digest at all?"
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._:-]{0,35}")
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _digest(value: str) -> str:
    if not is_digest(value):
        raise ValueError(f"{value[:90]!r} is not a digest (md5:<32 hex>[.dir])")
    return value


def _id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value[:90]!r} is not an execution id")
    return value


def _annotation(annotation: Annotation) -> None:
    """What a store could not keep, or a merge could not key, in an annotation."""
    if not _UID.fullmatch(annotation.uid):
        raise ValueError(f"annotation {annotation.uid[:90]!r}: the uid is not a UUID v7")
    if annotation.target_kind == "execution":
        _id(annotation.target_key)
    elif annotation.target_kind == "artifact":
        _digest(annotation.target_key)
    else:
        raise ValueError(
            f"annotation {annotation.uid}: target_kind is 'execution' or 'artifact', not "
            f"{annotation.target_kind[:40]!r}"
        )
    author = annotation.author
    if not author.strip() or len(author) > MAX_AUTHOR or "\x00" in author:
        raise ValueError(f"annotation {annotation.uid}: an author is 1 to {MAX_AUTHOR} characters")
    try:
        check_annotation(annotation.key, annotation.value, annotation.note)
    except InvalidInputError as exc:
        raise ValueError(f"annotation {annotation.uid}: {exc}") from None


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not hold NUL characters")
    return value


def _stage_key(value: str) -> str:
    try:
        parts = json.loads(value)
    except ValueError:
        parts = None
    if not (
        isinstance(parts, list)
        and len(parts) == 2
        and all(isinstance(part, str) and 0 < len(part) <= 255 for part in parts)
    ):
        raise ValueError(f"{value[:90]!r} is not a stage key (JSON [pipeline, stage])")
    return _text(value)


# Patterns, checked in pydantic's core, for what every event and metric row holds (a page
# has hundreds of thousands); the same rules as _digest, _id and _text.
Digest = Annotated[str, Field(pattern=r"^md5:[0-9a-f]{32}(?:\.dir)?$")]
ExecutionId = Annotated[str, Field(pattern=f"^{_ID.pattern}$")]
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]
StageKey = Annotated[str, AfterValidator(_stage_key)]
Fingerprint = Annotated[str, Field(min_length=1, max_length=64)]
Uid = Annotated[str, Field(pattern=f"^{_UID.pattern}$")]

EventRow = tuple[ExecutionId, Digest, EventDirection, Text, datetime]
MetricRow = tuple[
    ExecutionId, Name, Annotated[int, Field(ge=0, le=2**63 - 1)] | None, float | None, datetime
]


class SyncBatch(BaseModel):
    """Records to send or keep, in natural-key form; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pipelines: list[Pipeline] = []
    stages: list[Stage] = []
    executions: list[Execution] = []
    artifacts: list[Artifact] = []
    events: list[EventRow] = []
    metrics: list[MetricRow] = []
    annotations: list[Annotation] = []

    def __len__(self) -> int:
        return sum(
            len(kind)
            for kind in (
                self.pipelines,
                self.stages,
                self.executions,
                self.artifacts,
                self.events,
                self.metrics,
                self.annotations,
            )
        )

    @classmethod
    def of(cls, batch: RecordBatch) -> "SyncBatch":
        return cls.model_construct(
            pipelines=list(batch.pipelines),
            stages=list(batch.stages),
            executions=list(batch.executions),
            artifacts=list(batch.artifacts),
            events=[
                (e.execution_id, e.digest, e.direction, e.path, e.created_at) for e in batch.events
            ],
            metrics=[
                (m.execution_id, m.name, m.step, None if math.isnan(m.value) else m.value, m.time)
                for m in batch.metrics
            ],
            annotations=list(batch.annotations),
        )

    @model_validator(mode="after")
    def _keys(self) -> "SyncBatch":
        """Records' own models allow what a store could not key a merge by."""
        for execution in self.executions:
            _id(execution.id)
            for name in (execution.pipeline, execution.stage):
                if not name or len(name) > 255:
                    raise ValueError(f"execution {execution.id}: names are 1–255 characters")
        for artifact in self.artifacts:
            _digest(artifact.digest)
        for annotation in self.annotations:
            _annotation(annotation)
        return self

    def batch(self) -> RecordBatch:
        """The records as the merge takes them (validated by this model)."""
        return RecordBatch(
            pipelines=self.pipelines,
            stages=self.stages,
            executions=self.executions,
            artifacts=self.artifacts,
            events=[
                trusted(
                    Event,
                    {
                        "execution_id": e,
                        "digest": d,
                        "direction": EventDirection(k),
                        "path": p,
                        "created_at": at,
                    },
                )
                for e, d, k, p, at in self.events
            ],
            metrics=[
                trusted(
                    Metric,
                    {
                        "execution_id": e,
                        "name": n,
                        "step": s,
                        "value": math.nan if v is None else v,
                        "time": at,
                    },
                )
                for e, n, s, v, at in self.metrics
            ],
            annotations=self.annotations,
        )


class SyncPage(BaseModel):
    """One page of a pull: the records journaled in (after, last]; ``latest`` is the
    newest sequence number the server had (for progress)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: SyncBatch
    last: int
    more: bool
    latest: int


class SyncOffer(BaseModel):
    """Keys with fingerprints of their content: executions by id, artifacts by digest,
    pipelines by name, stages by ``[pipeline, stage]`` key (:func:`stage_key`),
    annotations by uid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pipelines: dict[Name, Fingerprint] = {}
    stages: dict[StageKey, Fingerprint] = {}
    artifacts: dict[Digest, Fingerprint] = {}
    executions: dict[ExecutionId, Fingerprint] = {}
    annotations: dict[Uid, Fingerprint] = {}

    def __len__(self) -> int:
        kinds = (self.pipelines, self.stages, self.artifacts, self.executions, self.annotations)
        return sum(len(kind) for kind in kinds)


def fingerprint(record: Record) -> str:
    """A digest of what a merge compares: the record, less when this store first saw it
    (an execution's own start time stays in). A running execution never matches: it may
    have gained events or metrics, so it is always sent."""
    if isinstance(record, Execution) and record.status is ExecutionStatus.RUNNING:
        return RUNNING
    exclude = set() if isinstance(record, Execution) else {"created_at"}
    # Sorted keys: PostgreSQL's JSONB hands back a dict's keys in another order than SQLite.
    text = json.dumps(record.model_dump(mode="json", exclude=exclude), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def offer_of(batch: RecordBatch) -> SyncOffer:
    """Every record of ``batch`` with its fingerprint, and the digests its events and
    annotations name that it does not hold, offered for presence only (:data:`PRESENCE`)."""
    from cmf_core.store.journal import stage_key

    offered = {a.digest: fingerprint(a) for a in batch.artifacts}
    for event in batch.events:
        offered.setdefault(event.digest, PRESENCE)
    for annotation in batch.annotations:
        if annotation.target_kind == "artifact":
            offered.setdefault(annotation.target_key, PRESENCE)
    return SyncOffer(
        pipelines={p.name: fingerprint(p) for p in batch.pipelines},
        stages={stage_key(s.pipeline, s.name): fingerprint(s) for s in batch.stages},
        artifacts=offered,
        executions={e.id: fingerprint(e) for e in batch.executions},
        annotations={a.uid: fingerprint(a) for a in batch.annotations},
    )


def only(batch: RecordBatch, wanted: SyncOffer) -> RecordBatch:
    """The part of ``batch`` that ``wanted`` names, executions with their events and
    metrics. Stages, pipelines and artifacts go only if wanted too: the receiver holds
    the others already, and finds them there when it merges the links."""
    from cmf_core.store.journal import stage_key

    ids = set(wanted.executions)
    return RecordBatch(
        pipelines=[p for p in batch.pipelines if p.name in wanted.pipelines],
        stages=[s for s in batch.stages if stage_key(s.pipeline, s.name) in wanted.stages],
        executions=[e for e in batch.executions if e.id in ids],
        artifacts=[a for a in batch.artifacts if a.digest in wanted.artifacts],
        events=[e for e in batch.events if e.execution_id in ids],
        metrics=[m for m in batch.metrics if m.execution_id in ids],
        annotations=[a for a in batch.annotations if a.uid in wanted.annotations],
    )


__all__ = [
    "FORMAT_VERSION",
    "PRESENCE",
    "RUNNING",
    "SyncBatch",
    "SyncOffer",
    "SyncPage",
    "fingerprint",
    "offer_of",
    "only",
]
