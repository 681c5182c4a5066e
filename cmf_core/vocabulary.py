"""The closed sets of cmf's vocabulary: execution statuses, event directions, artifact types.

Kept apart from :mod:`cmf_core.records` (which needs pydantic) so that every
surface can build its choices from these tables — the CLI's ``--type``
options, the MCP tools' schemas, the filter language's checks — without
paying for pydantic at start-up.
"""

from enum import StrEnum


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class EventDirection(StrEnum):
    INPUT = "input"
    OUTPUT = "output"


class ArtifactType(StrEnum):
    DATASET = "dataset"
    MODEL = "model"
    METRICS = "metrics"
    STEP_METRICS = "step_metrics"
    DATASLICE = "dataslice"
    LABEL = "label"
    ENVIRONMENT = "environment"
    TENSORBOARD = "tensorboard"
    OTHER = "other"


STATUSES = tuple(status.value for status in ExecutionStatus)
ENDED_STATUSES = (ExecutionStatus.COMPLETED.value, ExecutionStatus.FAILED.value)
DIRECTIONS = tuple(direction.value for direction in EventDirection)
ARTIFACT_TYPES = tuple(kind.value for kind in ArtifactType)
# What a caller may log: environments are recorded by cmf itself, once per distinct one.
LOGGABLE_TYPES = tuple(kind for kind in ARTIFACT_TYPES if kind != ArtifactType.ENVIRONMENT)
