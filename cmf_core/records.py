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


class ArtifactDetail(Record):
    """One artifact with every event that touched it (who produced it, who read it)."""

    artifact: Artifact
    events: list[Event]


__all__ = [
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
