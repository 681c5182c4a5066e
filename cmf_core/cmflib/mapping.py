"""What cmflib's mlmd records mean in cmf: one :class:`RecordBatch` per pipeline.

How cmflib (``cmflib/cmf.py``, ``metadata_helper.py``) writes, and what each part becomes:

- a ``Parent_Context`` context is a **pipeline** (its custom properties are the
  pipeline's properties); a ``Pipeline_Stage`` context named
  ``<pipeline>/<stage>``, child of it, is a **stage**;
- an execution, associated with its stage, is an **execution**: its id is
  cmflib's ``Execution_uuid`` (the first, when a reused execution has several),
  ``Execution`` is the command, ``Git_Repo`` (credentials stripped),
  ``Git_Start_Commit`` and ``Git_End_Commit`` the Git state, its type's name
  the property ``execution_type``, its custom properties the **params**
  (cmflib stored floats as their text, so ``"0.01"`` becomes 0.01), other
  properties stay properties; mlmd's local ids are dropped;
- an artifact is named by its **digest**: cmflib's uri is the DVC md5
  (``<32 hex>`` or ``<32 hex>.dir``), which becomes ``md5:…``; its properties
  and custom properties become the artifact's properties. cmflib's types map
  to cmf's (``Dataset`` → dataset, ``Model`` → model, ``Step_Metrics`` →
  step_metrics, ``Dataslice``, ``Label``, ``Environment``, ``Metrics``); any
  other type is ``other`` with the property ``mlmd_type``;
- an event is an **event**, input or output, under the path cmflib logged
  (the event's path, else the artifact's name, less its ``:<hash>…`` suffix);
- the custom properties of a ``Metrics`` artifact (``log_execution_metrics``)
  are **metrics** of the execution that wrote it, and the property
  ``metrics_names`` maps each group's name to its keys, as cmf's own
  ``log_execution_metrics`` does; a ``Step_Metrics`` file still next to the
  mlmd file is read into **step metrics** (:mod:`cmf_core.cmflib.step_metrics`).

What has no place in cmf is counted as skipped, with the reason: a Metrics
artifact's uuid (it has no bytes), the ``Environment`` input event (the
environment is the execution's ``environment_digest``, not an input: a shared
input would join every run), a uri that is not an md5, an event whose
artifact or execution the file does not hold, an execution in no stage.
"""

import functools
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cmf_core.cmflib.mlmd import MlmdEvent, MlmdFile, Node, Value
from cmf_core.cmflib.mlmd_terms import (
    DIRECTIONS,
    EXECUTION_KEYS,
    FLOAT_TEXT,
    ID_NAMESPACE,
    MD5,
    NO_BYTES_METRICS,
    NO_BYTES_VALIDATION,
    RECORDED_WITHOUT_VALUES,
    STATES,
    TYPES,
)
from cmf_core.cmflib.step_metrics import read_step_metrics
from cmf_core.git import strip_credentials
from cmf_core.records import (
    Artifact,
    ArtifactType,
    Event,
    EventDirection,
    Execution,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store.batch import RecordBatch, Tally


@dataclass
class _Links:
    """What the events of one execution add to it."""

    environment: str | None = None
    metrics_names: dict[str, list[str]] = field(default_factory=dict)
    validation: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Pipeline:
    record: Pipeline
    stages: dict[int, Stage] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def batch(self) -> RecordBatch:
        return RecordBatch(
            pipelines=[self.record],
            stages=list(self.stages.values()),
            executions=self.executions,
            artifacts=list(self.artifacts.values()),
            events=self.events,
            metrics=self.metrics,
        )


def map_mlmd(mlmd: MlmdFile, tally: Tally) -> dict[str, RecordBatch]:
    """The records of each pipeline in ``mlmd``; what cannot be mapped is counted in ``tally``."""
    return _Mapper(mlmd, tally).run()


class _Mapper:
    def __init__(self, mlmd: MlmdFile, tally: Tally) -> None:
        self.mlmd = mlmd
        self.tally = tally
        self.pipelines: dict[int, _Pipeline] = {}
        self.stage_of: dict[int, tuple[_Pipeline, Stage]] = {}  # context id ->
        self.execution_ids: dict[int, tuple[_Pipeline, str]] = {}  # mlmd id -> (pipeline, id)
        self.digests: dict[int, str] = {}  # mlmd artifact id -> digest
        self.links: dict[int, _Links] = defaultdict(_Links)
        self.artifacts: dict[int, Artifact] = {}  # mlmd artifact id -> its record

    def run(self) -> dict[str, RecordBatch]:
        self._contexts()
        placed = self._place_executions()
        self._artifacts()
        for event in self.mlmd.events:
            self._event(event)
        for node, pipeline, stage in placed:
            pipeline.executions.append(self._execution(node, pipeline, stage))
        return {p.record.name: p.batch() for p in self.pipelines.values()}

    # -- pipelines, stages, executions --------------------------------------------------------

    def _contexts(self) -> None:
        contexts = self.mlmd.contexts
        for node in contexts.values():
            if node.type == "Parent_Context" and node.name:
                record = Pipeline(
                    name=node.name, properties=_plain(node.custom), created_at=_at(node.created_ms)
                )
                self.pipelines[node.id] = _Pipeline(record)
        for node in contexts.values():
            if node.type != "Pipeline_Stage" or not node.name:
                continue
            parents = [
                self.pipelines[p] for p in self.mlmd.parents.get(node.id, []) if p in self.pipelines
            ]
            if not parents:
                self.tally.skip("stages", node.name, "the stage is in no pipeline")
                continue
            pipeline = parents[0]
            name = node.name.removeprefix(pipeline.record.name + "/")
            stage = Stage(
                pipeline=pipeline.record.name,
                name=name,
                properties=_plain(node.custom),
                created_at=_at(node.created_ms),
            )
            pipeline.stages[node.id] = stage
            self.stage_of[node.id] = (pipeline, stage)

    def _place_executions(self) -> list[tuple[Node, _Pipeline, Stage]]:
        placed = []
        for node in self.mlmd.executions.values():
            found = [
                self.stage_of[c]
                for c in self.mlmd.associations.get(node.id, [])
                if c in self.stage_of
            ]
            if not found:
                self.tally.skip(
                    "executions", f"mlmd execution {node.id}", "the execution is in no stage"
                )
                continue
            pipeline, stage = found[0]
            self.execution_ids[node.id] = (pipeline, _execution_id(node, pipeline.record.name))
            placed.append((node, pipeline, stage))
        return placed

    def _execution(self, node: Node, pipeline: _Pipeline, stage: Stage) -> Execution:
        props = node.properties
        status = STATES.get(node.state or 0, ExecutionStatus.COMPLETED)
        started = _at(node.created_ms)
        links = self.links[node.id]
        properties: dict[str, Any] = {"execution_type": node.type}
        properties.update((k, v) for k, v in props.items() if k not in EXECUTION_KEYS)
        uuids = [u for u in str(props.get("Execution_uuid") or "").split(",") if u]
        if len(uuids) > 1:
            properties["execution_uuids"] = uuids
        if links.metrics_names:
            properties["metrics_names"] = links.metrics_names
        if links.validation:
            properties["validation_output"] = links.validation[-1]
        remote = _text(props.get("Git_Repo"))
        return Execution(
            id=self.execution_ids[node.id][1],
            pipeline=pipeline.record.name,
            stage=stage.name,
            status=status,
            started_at=started,
            ended_at=None
            if status is ExecutionStatus.RUNNING
            else max(started, _at(node.updated_ms)),
            command=_text(props.get("Execution")),
            params=_plain({k: _param(v) for k, v in node.custom.items() if k != "Python_Env"}),
            properties=properties,
            error=None,
            site=None,
            git_remote=None if remote is None else _remote(remote),
            git_branch=None,
            git_commit_start=_text(props.get("Git_Start_Commit")),
            git_commit_end=_text(props.get("Git_End_Commit")),
            git_is_dirty=None,
            git_diff_digest=None,
            environment_digest=links.environment,
        )

    # -- artifacts and events ----------------------------------------------------------------

    def _artifacts(self) -> None:
        for node in self.mlmd.artifacts.values():
            uri = (node.uri or "").strip().lower()
            if MD5.fullmatch(uri):
                self.digests[node.id] = f"md5:{uri}"
            elif node.type not in ("Metrics", "Validation_output"):
                self.tally.skip(
                    "artifacts", f"{node.name} ({node.uri})", "its uri is not an md5 digest"
                )

    def _event(self, event: MlmdEvent) -> None:
        node = self.mlmd.artifacts.get(event.artifact_id)
        placed = self.execution_ids.get(event.execution_id)
        shown = f"mlmd event {event.id}"
        if node is None:
            self.tally.skip("events", shown, "it points at an artifact the file does not hold")
            return
        if placed is None:
            reason = (
                "its execution is in no stage"
                if event.execution_id in self.mlmd.executions
                else "it points at an execution the file does not hold"
            )
            self.tally.skip("events", shown, reason)
            return
        direction = DIRECTIONS.get(event.type)
        if direction is None:
            self.tally.skip("events", shown, f"its type {event.type} is neither input nor output")
            return
        pipeline, execution_id = placed
        at = _at(event.ms) if event.ms else _at(node.created_ms)
        if node.type == "Metrics" and direction is EventDirection.OUTPUT:
            self._execution_metrics(node, event.execution_id, pipeline, execution_id, at)
        if node.type == "Validation_output":
            self.links[event.execution_id].validation.append(_plain(node.properties | node.custom))
            self.tally.skip(
                "artifacts",
                f"{node.name}",
                NO_BYTES_VALIDATION,
            )
            return
        digest = self.digests.get(node.id)
        if digest is None:
            if node.type != "Metrics":
                self.tally.skip("events", shown, "its artifact's uri is not an md5 digest")
            return
        if node.type == "Environment" and direction is EventDirection.INPUT:
            self.links[event.execution_id].environment = digest
            reason = "an environment is the execution's environment_digest, not an input event"
            self.tally.skip("events", shown, reason)
            pipeline.artifacts[digest] = self._artifact(node, digest)
            return
        path = _path(event.path or node.name or digest, node.uri or "", self.mlmd.path.parent)
        pipeline.artifacts[digest] = self._artifact(node, digest)
        pipeline.events.append(
            Event.model_construct(  # every field is built here, of its type: no need to check
                execution_id=execution_id,
                digest=digest,
                direction=direction,
                path=path,
                created_at=at,
            )
        )
        if node.type == "Step_Metrics" and direction is EventDirection.OUTPUT:
            self._step_metrics(path, digest, pipeline, execution_id, at)

    def _artifact(self, node: Node, digest: str) -> Artifact:
        known = self.artifacts.get(node.id)
        if known is not None:
            return known
        properties = _plain({**node.properties, **node.custom})
        if isinstance(properties.get("git_repo"), str):
            properties["git_repo"] = _remote(properties["git_repo"])
        type = TYPES.get(node.type, ArtifactType.OTHER)
        if type is ArtifactType.OTHER:
            properties["mlmd_type"] = node.type
        record = Artifact(
            digest=digest,
            type=type,
            size=None,
            nfiles=None,
            properties=properties,
            created_at=_at(node.created_ms),
        )
        self.artifacts[node.id] = record
        return record

    def _execution_metrics(
        self, node: Node, mlmd_id: int, pipeline: _Pipeline, execution_id: str, at: datetime
    ) -> None:
        group = str(node.properties.get("metrics_name") or node.name or "metrics").split(":")[0]
        names = []
        for name, value in node.custom.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.tally.skip("metrics", f"{execution_id} {name}", "its value is not a number")
                continue
            names.append(name)
            pipeline.metrics.append(
                Metric(execution_id=execution_id, name=name, step=None, value=float(value), time=at)
            )
        self.links[mlmd_id].metrics_names[group] = names
        if node.id not in self.digests:
            self.tally.skip("artifacts", str(node.name), NO_BYTES_METRICS)

    def _step_metrics(
        self, path: str, digest: str, pipeline: _Pipeline, execution_id: str, at: datetime
    ) -> None:
        found = read_step_metrics(self.mlmd.path.parent / path, digest)
        if found.problem is not None:
            reason = f"step-metrics file not read: {found.problem}; {RECORDED_WITHOUT_VALUES}"
            self.tally.skip("metrics", path, reason)
            return
        for column in found.skipped_columns:
            self.tally.skip("metrics", f"{path} {column}", "its step-metrics column is not numbers")
        pipeline.metrics.extend(
            Metric.model_construct(
                execution_id=execution_id, name=name, step=step, value=value, time=at
            )
            for name, step, value in found.rows
        )


def _execution_id(node: Node, pipeline: str) -> str:
    first = str(node.properties.get("Execution_uuid") or "").split(",")[0].strip()
    try:
        return str(uuid.UUID(first))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, f"{pipeline}/{node.id}/{node.created_ms}"))


def _path(name: str, uri: str, root: Path) -> str:
    """The path cmflib logged: the name less its ``:<hash>[:…]`` suffix, relative if under root."""
    marker = f":{uri}"
    logged = name.split(marker, 1)[0] if uri and marker in name else name
    plain = not logged.startswith(("/", "./")) and not logged.endswith("/")
    if plain and "/." not in logged and "//" not in logged:
        return logged  # already as PurePosixPath would write it
    posix = PurePosixPath(logged)
    if posix.is_absolute():
        try:
            return posix.relative_to(PurePosixPath(root.resolve().as_posix())).as_posix()
        except ValueError:
            return posix.as_posix()
    return posix.as_posix()


@functools.lru_cache(maxsize=64)
def _remote(url: str) -> str:
    """A Git remote without its credentials (cached: every record of a project has one)."""
    return strip_credentials(url)


def _param(value: Value) -> Value:
    """cmflib's ``update_execution`` stored every non-int as ``str(value)``: undo it for floats."""
    if isinstance(value, str) and FLOAT_TEXT.fullmatch(value):
        number = float(value)
        if math.isfinite(number) and value in (repr(number), str(number)):
            return number
    return value


def _plain(values: dict[str, Value]) -> dict[str, Any]:
    """Properties as JSON can hold them (NaN and infinities as their text)."""
    return {
        k: str(v) if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }


def _text(value: Value) -> str | None:
    return None if value is None or value == "" else str(value)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


__all__ = ["map_mlmd"]
