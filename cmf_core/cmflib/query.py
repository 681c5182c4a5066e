"""cmflib's ``CmfQuery`` over a cmf store, so scripts that query cmflib's metadata keep working.

::

    from cmf_core.cmflib.query import CmfQuery          # was: from cmflib.cmfquery import CmfQuery

    query = CmfQuery(filepath="mlmd")
    stages = query.get_pipeline_stages("fraud")     # ["fraud/prepare", "fraud/train"]
    df = query.get_all_executions_in_stage("fraud/train")
    df[["Execution_uuid", "Git_Start_Commit", "custom_properties_lr"]]

The methods return what cmflib's do — pandas DataFrames (columns sorted, as
cmflib's ``pd.concat(..., sort=True)`` leaves them; an empty ``DataFrame()``
when nothing matches), lists of names, a JSON string — with cmflib's column
names. pandas is an optional extra (``pip install 'cmf[query]'``), imported
on first use.

How cmf's records map to cmflib's columns:

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
  columns, values stored as cmflib stores them (int, float, else ``str()``).
- **Artifacts**: ``id`` is the digest, ``uri`` the DVC hash (the digest
  without ``md5:``), ``name`` ``<path>:<hash>`` (a model's adds
  ``:<execution id>``), ``type`` cmflib's type name (``Dataset``, ``Model``,
  ``Step_Metrics``, …), ``Commit`` the hash. cmflib's own artifact properties
  (``git_repo``, ``model_framework``, …) keep their names; other properties
  become ``custom_properties_<name>`` columns. An artifact name given to a
  method may be that ``<path>:<hash>`` name, a digest, or a recorded path
  (its newest version).
- **Execution metrics** logged by ``log_execution_metrics`` appear among an
  execution's artifacts as one ``Metrics`` row per metrics name, the values as
  ``custom_properties_<name>`` columns. The environment is not an artifact of
  an execution (DESIGN.md), so no ``Environment`` rows appear.
- ``get_all_exe_in_stage`` and ``find_producer_execution`` return
  :class:`cmf_core.records.Execution` records where cmflib returns ML Metadata
  protobufs. ``dumptojson`` has cmflib's nesting (pipelines → stages →
  executions → events → artifact); events have ``type`` 3 (input) or 4
  (output), as in ML Metadata; there are no ``type_id`` fields.
"""

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmf_core.errors import ConfigError, InvalidInputError, NotFoundError
from cmf_core.records import Artifact, EventDirection, Execution

if TYPE_CHECKING:
    import pandas as pd

    from cmf_core.store import Store
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
CMFLIB_PROPERTIES = {"git_repo", "Commit", "url", "model_framework", "model_type", "model_name"}
EVENT_TYPES = {EventDirection.INPUT: 3, EventDirection.OUTPUT: 4}  # ML Metadata's Event.Type
_CMFLIB_NAME = re.compile(r"^(?P<path>.*?):(?P<hash>[0-9a-f]{32}(?:\.dir)?)(?::.*)?$")


class CmfQuery:
    """cmflib's query API over the cmf store at ``filepath`` (a SQLite file, as in cmflib).

    ``store`` (a URL or an open :class:`~cmf_core.store.Store`) names any other store;
    ``is_server=True`` uses the configured store (``CMF_STORE_URL``, ``.cmf/config.toml``).
    """

    def __init__(
        self,
        filepath: str = "mlmd",
        is_server: bool = False,
        *,
        store: "str | Store | None" = None,
    ) -> None:
        from cmf_core.store import Store

        self.filepath = filepath
        if isinstance(store, Store):
            self.store, self._owns_store = store, False
            return
        if store is None and is_server:
            from cmf_core.config import load_settings

            store = load_settings().store_url
        if store is None:
            path = Path(filepath).expanduser().resolve()
            if not path.is_file():
                raise NotFoundError(
                    f"No store at {path}; give the file a Cmf(filepath=...) wrote, "
                    "or store='<url>' (the project's is .cmf/metadata.db)."
                )
            store = f"sqlite:///{path}"
        self.store, self._owns_store = Store(store), True

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> "CmfQuery":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pipelines and stages ----------------------------------------------------------------

    def get_pipeline_names(self) -> list[str]:
        return [p.name for p in self.store.list_pipelines()]

    def get_pipeline_id(self, pipeline_name: str) -> int:
        """The pipeline's id, or -1 if there is none of that name."""
        return self.store.pipeline_ids().get(pipeline_name, -1)

    def get_pipeline_stages(self, pipeline_name: str) -> list[str]:
        return [f"{s.pipeline}/{s.name}" for s in self.store.list_stages(pipeline=pipeline_name)]

    def get_all_exe_in_stage(self, stage_name: str) -> list[Execution]:
        """The executions of the first stage of that name (cmflib returns protobufs)."""
        stages = self._stages(stage_name)[:1]
        return [s.execution for p, st in stages for s in self._staged(pipeline=p, stage=st)]

    def get_all_executions_in_stage(self, stage_name: str) -> "pd.DataFrame":
        rows = [
            _execution_row(s)
            for pipeline, stage in self._stages(stage_name)
            for s in self._staged(pipeline=pipeline, stage=stage)
        ]
        return _frame(rows)

    def get_all_executions_in_pipeline(self, pipeline_name: str) -> "pd.DataFrame":
        return _frame([_execution_row(s) for s in self._staged(pipeline=pipeline_name)])

    def get_all_executions_by_ids_list(self, exe_ids: list[str]) -> "pd.DataFrame":
        return _frame([_execution_row(s) for s in self._staged(ids=exe_ids)])

    # -- artifacts ---------------------------------------------------------------------------

    def get_all_artifacts_by_context(self, pipeline_name: str) -> "pd.DataFrame":
        rows = [
            _artifact_row(a, path, by)
            for a, path, by in self.store.pipeline_artifacts(pipeline_name)
        ]
        return _frame(rows)

    def get_all_artifacts_for_execution(self, execution_id: str) -> "pd.DataFrame":
        """The execution's inputs and outputs (column ``event``), and its ``Metrics`` rows."""
        run = self._execution(execution_id)
        if run is None:
            return _frame([])
        rows = [
            {"event": e.direction.value.upper(), **_artifact_row(e.artifact, e.path, run)}
            for e in self.store.get_events([run.id])[run.id]
        ]
        finals = self.store.final_metrics([run.id])[run.id]
        groups = run.properties.get("metrics_names") or {}
        for metrics_name, keys in groups.items() if isinstance(groups, dict) else []:
            name = f"{metrics_name}:{run.id}"
            values = {f"custom_properties_{k}": finals[k] for k in keys if k in finals}
            millis = _millis(run.ended_at or run.started_at)
            rows.append(
                {
                    "event": "OUTPUT",
                    "id": name,
                    "type": "Metrics",
                    "uri": run.id,
                    "name": name,
                    "metrics_name": name,
                    "create_time_since_epoch": millis,
                    "last_update_time_since_epoch": millis,
                    **values,
                }
            )
        return _frame(rows)

    def get_all_artifacts_for_executions(self, execution_ids: list[str]) -> "pd.DataFrame":
        events = self.store.get_events([e.id for e in self.store.get_executions(execution_ids)])
        digests = {e.artifact.digest for found in events.values() for e in found}
        return self._artifacts(digests)

    def get_artifact(self, name: str) -> "pd.DataFrame | None":
        digest = self._digest(name)
        return None if digest is None else self._artifacts([digest])

    def get_all_artifacts(self) -> list[str]:
        """Names of every artifact some execution logged (``<path>:<hash>``)."""
        names = []
        for pipeline in self.get_pipeline_names():
            for artifact, path, by in self.store.pipeline_artifacts(pipeline):
                names.append(_artifact_name(artifact, path, by))
        return list(dict.fromkeys(names))

    get_artifact_names = get_all_artifacts

    def get_all_executions_for_artifact(self, artifact_name: str) -> "pd.DataFrame":
        digest = self._digest(artifact_name)
        if digest is None:
            return _frame([])
        events = self.store.get_artifact_detail(digest).events
        runs = {
            e.id: e for e in self.store.get_executions(sorted({e.execution_id for e in events}))
        }
        rows = []
        for event in events:
            run = runs[event.execution_id]
            rows.append(
                {
                    "Type": event.direction.value.upper(),
                    "execution_id": run.id,
                    "execution_name": str(run.properties.get("execution_type", "")),
                    "execution_type_name": f"{run.pipeline}/{run.stage}",
                    "stage": f"{run.pipeline}/{run.stage}",
                    "pipeline": run.pipeline,
                }
            )
        return _frame(rows)

    # -- lineage -----------------------------------------------------------------------------

    def get_one_hop_child_artifacts(
        self, artifact_name: str, pipeline_id: int | str | None = None
    ) -> "pd.DataFrame":
        """Outputs of the executions that read the artifact (of one pipeline, if given)."""
        return self._walk(artifact_name, "downstream", 1, pipeline_id)

    def get_all_child_artifacts(self, artifact_name: str) -> "pd.DataFrame":
        return self._walk(artifact_name, "downstream", None, None)

    def get_one_hop_parent_artifacts(self, artifact_name: str) -> "pd.DataFrame":
        """Inputs of the executions that wrote the artifact."""
        return self._walk(artifact_name, "upstream", 1, None)

    def get_all_parent_artifacts(self, artifact_name: str) -> "pd.DataFrame":
        return self._walk(artifact_name, "upstream", None, None)

    def get_all_parent_executions(self, artifact_name: str) -> "pd.DataFrame":
        """The executions that wrote the artifact's upstream artifacts (not the artifact)."""
        digest = self._digest(artifact_name)
        if digest is None:
            return _frame([])
        parents = [
            d for hop in self.store.artifact_hops([digest], direction="upstream") for d in hop
        ]
        made = self.store.producers(parents)
        ids = sorted({e.id for runs in made.values() for e in runs})
        return self.get_all_executions_by_ids_list(ids) if ids else _frame([])

    def find_producer_execution(self, artifact_name: str) -> Execution | None:
        """The first execution that wrote the artifact, or None (cmflib returns a protobuf)."""
        digest = self._digest(artifact_name)
        made = self.store.producers([digest]).get(digest, []) if digest else []
        return made[0] if made else None

    get_producer_execution = find_producer_execution

    # -- metrics and export ------------------------------------------------------------------

    def get_metrics(self, metrics_name: str) -> "pd.DataFrame | None":
        """A step-metrics table: index ``SequenceNumber``, one column per metric, or None.

        ``metrics_name`` is the name given to ``commit_metrics`` (its newest commit) or
        the ``Step_Metrics`` artifact's ``name``.
        """
        pd = _pandas()
        digest = self._digest(metrics_name)
        digests = [digest] if digest else self.store.step_metrics_artifacts(metrics_name)
        if not digests:
            return None
        made = self.store.producers(digests[:1]).get(digests[0], [])
        if not made:
            return None
        run = made[-1]
        artifact = self.store.get_artifacts(digests[:1])[digests[0]]
        columns = artifact.properties.get("columns")
        if not isinstance(columns, list):
            columns = sorted({s.name for s in self.store.series_stats([run.id])})
        series = {}
        for name in map(str, columns):
            rows = self.store.metric_rows(run.id, name)
            series[name] = pd.Series({step: value for step, value, _ in rows if step is not None})
        frame = pd.DataFrame(series).sort_index()
        frame.index.name = "SequenceNumber"
        return frame

    def dumptojson(self, pipeline_name: str, exec_uuid: str | None = None) -> str:
        """The pipeline with its stages, executions, events and artifacts, as cmflib's JSON."""
        pipelines = [p for p in self.store.list_pipelines() if p.name == pipeline_name]
        staged = self._staged(pipeline=pipeline_name)
        if exec_uuid is not None:
            wanted = exec_uuid.strip().lower()
            staged = [s for s in staged if s.execution.id.startswith(wanted)]
        events = self.store.get_events([s.execution.id for s in staged])
        ids = self.store.stage_ids()
        pipeline_ids = self.store.pipeline_ids()
        result = []
        for pipeline in pipelines:
            stages = []
            for stage in self.store.list_stages(pipeline=pipeline.name):
                stage_id = ids[(pipeline.name, stage.name)][0]
                name = f"{pipeline.name}/{stage.name}"
                runs = [s for s in staged if s.stage_id == stage_id]
                stages.append(
                    {
                        "executions": [_execution_json(s, events[s.execution.id]) for s in runs],
                        **_context_json(stage_id, name, stage.properties, stage.created_at),
                        "properties": {"Pipeline_Stage": name},
                        "type": "Pipeline_Stage",
                    }
                )
            result.append(
                {
                    "stages": stages,
                    **_context_json(
                        pipeline_ids[pipeline.name],
                        pipeline.name,
                        pipeline.properties,
                        pipeline.created_at,
                    ),
                    "properties": {"Pipeline": pipeline.name},
                    "type": "Parent_Context",
                }
            )
        return json.dumps({"Pipeline": result})

    # -- helpers -----------------------------------------------------------------------------

    def _stages(self, stage_name: str) -> list[tuple[str, str]]:
        """(pipeline, stage) pairs a cmflib stage name (``pipeline/stage``, or bare) names."""
        known = list(self.store.stage_ids())
        exact = [(p, s) for p, s in known if f"{p}/{s}" == stage_name]
        return exact or [(p, s) for p, s in known if s == stage_name]

    def _staged(self, **where: Any) -> list["StagedExecution"]:
        return self.store.staged_executions(**where)

    def _execution(self, reference: str) -> Execution | None:
        try:
            return self.store.get_executions([str(reference)])[0]
        except NotFoundError:
            return None

    def _digest(self, name: str) -> str | None:
        """The digest an artifact name names: ``<path>:<hash>…``, a digest, or a path."""
        name = str(name).strip()
        if not name:
            raise InvalidInputError("Give an artifact name, e.g. 'data/train.csv:<hash>'.")
        match = _CMFLIB_NAME.match(name)
        if name.startswith("md5:"):
            candidate = name
        elif match:
            candidate = f"md5:{match['hash']}"
        else:
            paths = self.store.find_artifacts_by_path(name)
            return paths[0] if paths else None
        return candidate if candidate in self.store.get_artifacts([candidate]) else None

    def _artifacts(self, digests: Any) -> "pd.DataFrame":
        return _frame([_artifact_row(*found) for found in self.store.describe_artifacts(digests)])

    def _walk(
        self, name: str, direction: Any, hops: int | None, pipeline: int | str | None
    ) -> "pd.DataFrame":
        digest = self._digest(name)
        if digest is None:
            return _frame([])
        pipeline_id = None
        if isinstance(pipeline, str):
            pipeline_id = self.get_pipeline_id(pipeline)
        elif pipeline is not None:
            pipeline_id = int(pipeline)
        found = self.store.artifact_hops(
            [digest], direction=direction, max_hops=hops, pipeline_id=pipeline_id
        )
        ordered = [d for hop in found for d in hop]
        described = {
            a.digest: (a, path, by) for a, path, by in self.store.describe_artifacts(ordered)
        }
        return _frame([_artifact_row(*described[d]) for d in ordered if d in described])


# -- rows ------------------------------------------------------------------------------------


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ConfigError(
            "CmfQuery returns pandas DataFrames; install pandas (pip install 'cmf[query]')."
        ) from None
    return pandas


def _frame(rows: list[dict[str, Any]]) -> "pd.DataFrame":
    pd = _pandas()
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(rows)
    return frame[sorted(frame.columns)]


def _mlmd(value: Any) -> Any:
    """A value as ML Metadata keeps it: int, float, or its str() (None stays None)."""
    if value is None or isinstance(value, int | float | str):
        return int(value) if isinstance(value, bool) else value
    return str(value)


def _millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def _cmflib_properties(execution: Execution, stage_id: int, pipeline_id: int) -> dict[str, Any]:
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


def _execution_row(staged: "StagedExecution") -> dict[str, Any]:
    e = staged.execution
    return {
        "id": e.id,
        "name": str(e.properties.get("execution_type", "")),
        **_cmflib_properties(e, staged.stage_id, staged.pipeline_id),
        **{f"custom_properties_{k}": _mlmd(v) for k, v in e.params.items()},
    }


def _artifact_name(artifact: Artifact, path: str, by: Execution) -> str:
    name = f"{path}:{artifact.digest.partition(':')[2]}"
    return f"{name}:{by.id}" if artifact.type.value == "model" else name


def _artifact_properties(
    artifact: Artifact, by: Execution
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(cmflib's properties, custom properties) of an artifact."""
    own = {"Commit": artifact.digest.partition(":")[2]}
    if artifact.type.value in ("dataset", "label"):
        own["git_repo"] = by.git_remote or ""
    custom = {}
    for key, value in artifact.properties.items():
        if key in CMFLIB_PROPERTIES:
            own[key] = _mlmd(value)
        else:
            custom[key] = _mlmd(value)
    return own, custom


def _artifact_row(artifact: Artifact, path: str, by: Execution) -> dict[str, Any]:
    own, custom = _artifact_properties(artifact, by)
    millis = _millis(artifact.created_at)
    return {
        "id": artifact.digest,
        "type": TYPE_NAMES.get(artifact.type.value, "Other"),
        "uri": artifact.digest.partition(":")[2],
        "name": _artifact_name(artifact, path, by),
        "create_time_since_epoch": millis,
        "last_update_time_since_epoch": millis,
        **own,
        **{f"custom_properties_{k}": v for k, v in custom.items()},
    }


def _context_json(id: int, name: str, properties: dict[str, Any], created: Any) -> dict[str, Any]:
    millis = _millis(created)
    return {
        "create_time_since_epoch": millis,
        "custom_properties": {k: _mlmd(v) for k, v in properties.items()},
        "id": id,
        "last_update_time_since_epoch": millis,
        "name": name,
    }


def _execution_json(staged: "StagedExecution", events: list[Any]) -> dict[str, Any]:
    e = staged.execution
    custom = {("user_type" if k == "type" else k): _mlmd(v) for k, v in e.params.items()}
    return {
        "type": str(e.properties.get("execution_type", e.stage)),
        "name": "",
        "events": [
            {
                "type": EVENT_TYPES[event.direction],
                "artifact": _artifact_json(event.artifact, event.path, e),
            }
            for event in events
        ],
        "create_time_since_epoch": _millis(e.started_at),
        "custom_properties": custom,
        "id": e.id,
        "last_update_time_since_epoch": _millis(e.ended_at or e.started_at),
        "properties": _cmflib_properties(e, staged.stage_id, staged.pipeline_id),
    }


def _artifact_json(artifact: Artifact, path: str, by: Execution) -> dict[str, Any]:
    own, custom = _artifact_properties(artifact, by)
    millis = _millis(artifact.created_at)
    return {
        "type": TYPE_NAMES.get(artifact.type.value, "Other"),
        "create_time_since_epoch": millis,
        "custom_properties": {("user_type" if k == "type" else k): v for k, v in custom.items()},
        "id": artifact.digest,
        "last_update_time_since_epoch": millis,
        "name": _artifact_name(artifact, path, by),
        "properties": own,
        "uri": artifact.digest.partition(":")[2],
    }


__all__ = ["CmfQuery"]
