"""How cmf's records become cmflib's DataFrame rows and JSON, column by column.

- **Stages** are named ``<pipeline>/<stage>``, as cmflib names its stage
  contexts; a method taking a stage name also accepts a bare stage name (every
  pipeline's stage of that name).
- **Executions**: ``id`` and ``Execution_uuid`` are the execution's id (a UUID
  string where cmflib has an int and a uuid1); ``name`` is the
  ``execution_type`` given to ``create_execution`` (cmflib leaves it empty);
  ``Context_Type`` and ``Execution_type_name`` the stage's name;
  ``Context_ID`` and ``Pipeline_id`` the stage's and pipeline's ids;
  ``Execution`` the command; ``Git_Repo`` the remote; ``Git_Start_Commit``,
  ``Git_End_Commit`` the commits; ``Pipeline_Type`` the pipeline's name. The
  params (cmflib's ``custom_properties``) are ``custom_properties_<name>``
  columns, values stored as cmflib stores them (int, float, else ``str()``);
  ``custom_properties_Python_Env`` (cmflib: its environment file's path) is
  the digest of the execution's environment artifact.
- **Artifacts**: ``id`` is the digest, ``uri`` the DVC hash (the digest
  without ``md5:``), ``name`` ``<path>:<hash>`` (a model's adds
  ``:<execution id>``), ``type`` cmflib's type name (``Dataset``, ``Model``,
  ``Step_Metrics``, …), ``Commit`` the hash. cmflib's own artifact properties
  (``git_repo``, ``model_framework``, ``metrics_name``, …) keep their names;
  ``url`` is ``<pipeline>:<path>`` (cmflib: ``<pipeline>:<DVC remote URL>``),
  unless the artifact carries its own (imported from mlmd); other properties
  become ``custom_properties_<name>`` columns. An artifact name given to a
  method may be that ``<path>:<hash>`` name, a digest, or a recorded path
  (its newest version).
- **Execution metrics** logged by ``log_execution_metrics`` appear among an
  execution's artifacts as one ``Metrics`` row per metrics name (its
  ``metrics`` artifact, named ``<metrics_name>:<hash>:<execution id>``; for
  runs recorded before that artifact existed, a row named
  ``<metrics_name>:<execution id>``), the values as ``custom_properties_<name>``
  columns. The environment is not an artifact of
  an execution (DESIGN.md), so no ``Environment`` rows appear.
- ``get_all_exe_in_stage`` and ``find_producer_execution`` return
  :class:`cmf_core.records.Execution` records where cmflib returns ML Metadata
  protobufs. ``dumptojson`` has cmflib's nesting (pipelines → stages →
  executions → events → artifact); events have ``type`` 3 (input) or 4
  (output), as in ML Metadata; there are no ``type_id`` fields.

pandas is an optional extra (``pip install 'cmf[query]'``), imported on first
use by :func:`load_pandas`.
"""

from typing import TYPE_CHECKING, Any

from cmf_core.errors import ConfigError
from cmf_core.records import Artifact, EventDirection, Execution

if TYPE_CHECKING:
    import pandas as pd

    from cmf_core.store.history import StagedExecution

TYPE_NAMES = {
    "dataset": "Dataset",
    "model": "Model",
    "metrics": "Metrics",
    "step_metrics": "Step_Metrics",
    "dataslice": "Dataslice",
    "label": "Label",
    "environment": "Environment",
    "other": "Other",
}
CMFLIB_PROPERTIES = {
    "git_repo",
    "Commit",
    "url",
    "model_framework",
    "model_type",
    "model_name",
    "metrics_name",
}
URL_TYPES = {"dataset", "model", "step_metrics", "dataslice", "label", "environment"}
EVENT_TYPES = {EventDirection.INPUT: 3, EventDirection.OUTPUT: 4}  # ML Metadata's Event.Type


def load_pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ConfigError(
            "CmfQuery returns pandas DataFrames; install pandas (pip install 'cmf[query]')."
        ) from None
    return pandas


def to_frame(rows: list[dict[str, Any]]) -> "pd.DataFrame":
    pd = load_pandas()
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(rows)
    return frame[sorted(frame.columns)]


def mlmd_value(value: Any) -> Any:
    """A value as ML Metadata keeps it: int, float, or its str() (None stays None)."""
    if value is None or isinstance(value, int | float | str):
        return int(value) if isinstance(value, bool) else value
    return str(value)


def epoch_millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def cmflib_properties(execution: Execution, stage_id: int, pipeline_id: int) -> dict[str, Any]:
    stage = f"{execution.pipeline}/{execution.stage}"
    return {
        "Context_ID": stage_id,
        "Context_Type": stage,
        "Execution": execution.command or "",
        "Execution_type_name": stage,
        "Execution_uuid": execution.id,
        "Git_End_Commit": execution.git_commit_end or "",
        "Git_Repo": execution.git_remote or "",
        "Git_Start_Commit": execution.git_commit_start or "",
        "Pipeline_Type": execution.pipeline,
        "Pipeline_id": pipeline_id,
    }


def execution_row(staged: "StagedExecution") -> dict[str, Any]:
    e = staged.execution
    return {
        "id": e.id,
        "name": str(e.properties.get("execution_type", "")),
        **cmflib_properties(e, staged.stage_id, staged.pipeline_id),
        "custom_properties_Python_Env": e.environment_digest or "",
        **{f"custom_properties_{k}": mlmd_value(v) for k, v in e.params.items()},
    }


def cmflib_name(artifact: Artifact, path: str, by: Execution) -> str:
    uri = artifact.digest.partition(":")[2]
    if artifact.type.value == "metrics" and "metrics_name" in artifact.properties:
        return f"{artifact.properties['metrics_name']}:{uri}:{by.id}"
    name = f"{path}:{uri}"
    return f"{name}:{by.id}" if artifact.type.value == "model" else name


def artifact_properties(
    artifact: Artifact, by: Execution, path: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(cmflib's properties, custom properties) of an artifact logged under ``path``."""
    own = {"Commit": artifact.digest.partition(":")[2]}
    if artifact.type.value in ("dataset", "label"):
        own["git_repo"] = by.git_remote or ""
    if artifact.type.value in URL_TYPES:  # cmflib: <pipeline>:<where the bytes are>
        own["url"] = f"{by.pipeline}:{path}"
    custom = {}
    for key, value in artifact.properties.items():
        if key in CMFLIB_PROPERTIES:
            own[key] = mlmd_value(value)
        else:
            custom[key] = mlmd_value(value)
    return own, custom


def artifact_row(artifact: Artifact, path: str, by: Execution) -> dict[str, Any]:
    own, custom = artifact_properties(artifact, by, path)
    millis = epoch_millis(artifact.created_at)
    return {
        "id": artifact.digest,
        "type": TYPE_NAMES.get(artifact.type.value, "Other"),
        "uri": artifact.digest.partition(":")[2],
        "name": cmflib_name(artifact, path, by),
        "create_time_since_epoch": millis,
        "last_update_time_since_epoch": millis,
        **own,
        **{f"custom_properties_{k}": v for k, v in custom.items()},
    }


def context_json(id: int, name: str, properties: dict[str, Any], created: Any) -> dict[str, Any]:
    millis = epoch_millis(created)
    return {
        "create_time_since_epoch": millis,
        "custom_properties": {k: mlmd_value(v) for k, v in properties.items()},
        "id": id,
        "last_update_time_since_epoch": millis,
        "name": name,
    }


def execution_json(staged: "StagedExecution", events: list[Any]) -> dict[str, Any]:
    e = staged.execution
    custom = {("user_type" if k == "type" else k): mlmd_value(v) for k, v in e.params.items()}
    return {
        "type": str(e.properties.get("execution_type", e.stage)),
        "name": "",
        "events": [
            {
                "type": EVENT_TYPES[event.direction],
                "artifact": artifact_json(event.artifact, event.path, e),
            }
            for event in events
        ],
        "create_time_since_epoch": epoch_millis(e.started_at),
        "custom_properties": custom,
        "id": e.id,
        "last_update_time_since_epoch": epoch_millis(e.ended_at or e.started_at),
        "properties": cmflib_properties(e, staged.stage_id, staged.pipeline_id),
    }


def artifact_json(artifact: Artifact, path: str, by: Execution) -> dict[str, Any]:
    own, custom = artifact_properties(artifact, by, path)
    millis = epoch_millis(artifact.created_at)
    return {
        "type": TYPE_NAMES.get(artifact.type.value, "Other"),
        "create_time_since_epoch": millis,
        "custom_properties": {("user_type" if k == "type" else k): v for k, v in custom.items()},
        "id": artifact.digest,
        "last_update_time_since_epoch": millis,
        "name": cmflib_name(artifact, path, by),
        "properties": own,
        "uri": artifact.digest.partition(":")[2],
    }
