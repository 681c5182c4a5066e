"""ML Metadata's and cmflib's own terms, and what each means in cmf.

cmflib's artifact type names, MLMD's numeric event types and execution
states, the execution properties cmflib keeps for its own bookkeeping, and the
reasons the importer gives for what has no place in cmf. The mapping itself is
:mod:`cmf_core.cmflib.mapping`.
"""

import re
import uuid

from cmf_core.vocabulary import ArtifactType, EventDirection, ExecutionStatus

TYPES = {
    "Dataset": ArtifactType.DATASET,
    "Model": ArtifactType.MODEL,
    "Metrics": ArtifactType.METRICS,
    "Step_Metrics": ArtifactType.STEP_METRICS,
    "Dataslice": ArtifactType.DATASLICE,
    "Label": ArtifactType.LABEL,
    "Environment": ArtifactType.ENVIRONMENT,
}
# MLMD's Event.Type: 1 DECLARED_OUTPUT, 2 DECLARED_INPUT, 3 INPUT, 4 OUTPUT,
# 5 INTERNAL_INPUT, 6 INTERNAL_OUTPUT; 0 UNKNOWN and 7 PENDING_OUTPUT have no direction.
DIRECTIONS = {
    1: EventDirection.OUTPUT,
    2: EventDirection.INPUT,
    3: EventDirection.INPUT,
    4: EventDirection.OUTPUT,
    5: EventDirection.INPUT,
    6: EventDirection.OUTPUT,
}
# MLMD's Execution.State: 1 NEW, 2 RUNNING, 3 COMPLETE, 4 FAILED, 5 CACHED, 6 CANCELED.
# cmflib never sets it (0 / NULL): a run it recorded is over.
STATES = {
    1: ExecutionStatus.RUNNING,
    2: ExecutionStatus.RUNNING,
    4: ExecutionStatus.FAILED,
    6: ExecutionStatus.FAILED,
}
# cmflib's bookkeeping properties of an execution, mapped to columns or dropped (local ids).
EXECUTION_KEYS = {
    "Context_ID",
    "Context_Type",
    "Execution",
    "Execution_type_name",
    "Execution_uuid",
    "Git_End_Commit",
    "Git_Repo",
    "Git_Start_Commit",
    "Pipeline_id",
    "Pipeline_Type",
}
MD5 = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
FLOAT_TEXT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")
NO_BYTES_METRICS = (
    "a Metrics artifact has no bytes (its uri is a uuid): its values are the execution's metrics"
)
NO_BYTES_VALIDATION = (
    "a validation output has no bytes: it is the execution's property validation_output"
)
RECORDED_WITHOUT_VALUES = "the artifact is recorded without its values"
# Execution ids cmflib did not give a uuid are derived from the pipeline and mlmd's id.
ID_NAMESPACE = uuid.UUID("6f1c3b8e-2f0a-5d4c-9b7e-0c6d1a2e3f40")
