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

How cmf's records map to cmflib's columns and JSON: :mod:`cmf_core.cmflib.columns`.
"""

import json
import re
from typing import TYPE_CHECKING, Any

from cmf_core.cmflib.arguments import separate_store
from cmf_core.cmflib.columns import (
    artifact_row,
    cmflib_name,
    context_json,
    epoch_millis,
    execution_json,
    execution_row,
    load_pandas,
    to_frame,
)
from cmf_core.digest import DIGEST_PREFIX, from_object_id
from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.records import Execution

if TYPE_CHECKING:
    import pandas as pd

    from cmf_core.store import Store

_CMFLIB_NAME = re.compile(r"^(?P<path>.*?):(?P<hash>[0-9a-f]{32}(?:\.dir)?)(?::.*)?$")


class CmfQuery:
    """cmflib's query API over the store ``Cmf(filepath=…)`` records into.

    As for ``Cmf``, ``filepath`` (cmflib's ``"mlmd"``) means the project's store
    (``CMF_STORE_URL``, ``.cmf/config.toml``, else ``.cmf/metadata.db``) unless
    it is a store URL or a path ending in ``.db``; ``store`` (a URL or an open
    :class:`~cmf_core.store.Store`) names any other. The store is opened
    read-only: a query creates and changes nothing.
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
        if store is None and not is_server:
            store = separate_store(filepath)
        if store is None:  # cmflib's "mlmd", or is_server: the project's store, as Cmf records
            from cmf_core.config import load_settings

            store = load_settings().store_url
        self.store, self._owns_store = Store(store, read_only=True), True

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
        return [
            s.execution
            for p, st in stages
            for s in self.store.staged_executions(pipeline=p, stage=st)
        ]

    def get_all_executions_in_stage(self, stage_name: str) -> "pd.DataFrame":
        rows = [
            execution_row(s)
            for pipeline, stage in self._stages(stage_name)
            for s in self.store.staged_executions(pipeline=pipeline, stage=stage)
        ]
        return to_frame(rows)

    def get_all_executions_in_pipeline(self, pipeline_name: str) -> "pd.DataFrame":
        return to_frame(
            [execution_row(s) for s in self.store.staged_executions(pipeline=pipeline_name)]
        )

    def get_all_executions_by_ids_list(self, exe_ids: list[str]) -> "pd.DataFrame":
        return to_frame([execution_row(s) for s in self.store.staged_executions(ids=exe_ids)])

    # -- artifacts ---------------------------------------------------------------------------

    def get_all_artifacts_by_context(self, pipeline_name: str) -> "pd.DataFrame":
        rows = [
            artifact_row(a, path, by)
            for a, path, by in self.store.pipeline_artifacts(pipeline_name)
        ]
        return to_frame(rows)

    def get_all_artifacts_for_execution(self, execution_id: str) -> "pd.DataFrame":
        """The execution's inputs and outputs (column ``event``), and its ``Metrics`` rows."""
        run = self._execution(execution_id)
        if run is None:
            return to_frame([])
        events = self.store.get_events([run.id])[run.id]
        rows = [
            {"event": e.direction.value.upper(), **artifact_row(e.artifact, e.path, run)}
            for e in events
        ]
        finals = self.store.final_metrics([run.id])[run.id]
        groups = run.properties.get("metrics_names") or {}
        logged = {  # metrics names whose values log_execution_metrics recorded as an artifact
            e.artifact.properties.get("metrics_name")
            for e in events
            if e.artifact.type.value == "metrics"
        }
        for metrics_name, keys in groups.items() if isinstance(groups, dict) else []:
            if metrics_name in logged:
                continue
            name = f"{metrics_name}:{run.id}"
            values = {f"custom_properties_{k}": finals[k] for k in keys if k in finals}
            millis = epoch_millis(run.ended_at or run.started_at)
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
        return to_frame(rows)

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
                names.append(cmflib_name(artifact, path, by))
        return list(dict.fromkeys(names))

    get_artifact_names = get_all_artifacts

    def get_all_executions_for_artifact(self, artifact_name: str) -> "pd.DataFrame":
        digest = self._digest(artifact_name)
        if digest is None:
            return to_frame([])
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
        return to_frame(rows)

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
            return to_frame([])
        parents = [
            d for hop in self.store.artifact_hops([digest], direction="upstream") for d in hop
        ]
        made = self.store.producers(parents)
        ids = sorted({e.id for runs in made.values() for e in runs})
        return self.get_all_executions_by_ids_list(ids) if ids else to_frame([])

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
        pd = load_pandas()
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
        staged = self.store.staged_executions(pipeline=pipeline_name)
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
                        "executions": [execution_json(s, events[s.execution.id]) for s in runs],
                        **context_json(stage_id, name, stage.properties, stage.created_at),
                        "properties": {"Pipeline_Stage": name},
                        "type": "Pipeline_Stage",
                    }
                )
            result.append(
                {
                    "stages": stages,
                    **context_json(
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
        if name.startswith(DIGEST_PREFIX):
            candidate = name
        elif match:
            candidate = from_object_id(match["hash"])
        else:
            paths = self.store.find_artifacts_by_path(name)
            return paths[0] if paths else None
        return candidate if candidate in self.store.get_artifacts([candidate]) else None

    def _artifacts(self, digests: Any) -> "pd.DataFrame":
        return to_frame([artifact_row(*found) for found in self.store.describe_artifacts(digests)])

    def _walk(
        self, name: str, direction: Any, hops: int | None, pipeline: int | str | None
    ) -> "pd.DataFrame":
        digest = self._digest(name)
        if digest is None:
            return to_frame([])
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
        return to_frame([artifact_row(*described[d]) for d in ordered if d in described])


__all__ = ["CmfQuery"]
