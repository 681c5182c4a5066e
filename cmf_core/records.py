"""Frozen records: what every query and every logging call returns.

No ORM row or database session leaves ``cmf_core.store``; callers get these
immutable pydantic models instead, which serialise to JSON as they are (the
CLI's ``--json``, the REST API and MCP tools all reuse them). The closed sets
(statuses, directions, types) live in :mod:`cmf_core.vocabulary`.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from cmf_core.vocabulary import ArtifactType, EventDirection, ExecutionStatus


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GitSnapshot(Record):
    """The Git state of a work tree at one moment (credentials stripped from the URL)."""

    remote_url: str | None
    branch: str | None
    commit: str | None
    is_dirty: bool | None  # None: Git could not tell (no git program, broken repo)
    diff_digest: str | None


class Pipeline(Record):
    name: str
    properties: dict[str, Any]
    created_at: datetime


class Stage(Record):
    pipeline: str
    name: str
    properties: dict[str, Any]
    created_at: datetime


class Execution(Record):
    id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    command: str | None
    params: dict[str, Any]
    properties: dict[str, Any]
    error: str | None
    site: str | None
    git_remote: str | None
    git_branch: str | None
    git_commit_start: str | None
    git_commit_end: str | None
    git_is_dirty: bool | None
    git_diff_digest: str | None
    environment_digest: str | None


class Artifact(Record):
    digest: str
    type: ArtifactType
    size: int | None
    nfiles: int | None
    properties: dict[str, Any]
    created_at: datetime


class Event(Record):
    execution_id: str
    digest: str
    direction: EventDirection
    path: str
    created_at: datetime


class Metric(Record):
    execution_id: str
    name: str
    step: int | None
    value: float
    time: datetime


class EventDetail(Record):
    """An event together with the artifact it points at."""

    direction: EventDirection
    path: str
    artifact: Artifact


class ExecutionDetail(Record):
    """One execution with its inputs, outputs and metrics, as ``cmf show`` prints it."""

    execution: Execution
    inputs: list[EventDetail]
    outputs: list[EventDetail]
    metrics: list[Metric]
    step_metrics: dict[str, int]


EVENT_COUNT_CAP = 100_000
"""An artifact's events of one direction are counted up to this many (then: at least)."""


class ArtifactDetail(Record):
    """One artifact with the events that touched it (who produced it, who read it).

    Read whole, ``events`` holds every event, oldest first. Read a page at a time
    (``Store.get_artifact_detail(ref, events_limit=N)``), it holds the producing events,
    then the reading ones, each oldest first, from ``events_offset``; the totals then say
    how many of each there are, counted up to :data:`EVENT_COUNT_CAP` (then: at least).
    """

    artifact: Artifact
    events: list[Event]
    events_offset: int = 0
    producers_total: int | None = None
    consumers_total: int | None = None
    paths: list[str] = []
    """Distinct recorded paths, in order (at most 100 when read a page at a time)."""


__all__ = [
    "EVENT_COUNT_CAP",
    "Artifact",
    "ArtifactDetail",
    "ArtifactType",
    "Event",
    "EventDetail",
    "EventDirection",
    "Execution",
    "ExecutionDetail",
    "ExecutionStatus",
    "GitSnapshot",
    "Metric",
    "Pipeline",
    "Record",
    "Stage",
]
