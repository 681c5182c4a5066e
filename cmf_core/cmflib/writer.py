"""cmflib's methods on :class:`cmf_core.Cmf`, so a cmflib script runs after changing its import.

Like cmflib, a ``Cmf`` has one current stage (context) and one current execution;
a log call before ``create_context`` / ``create_execution`` makes both, named
after the script. ``create_execution`` ends the previous one as completed, and
``finalize()`` (called by ``Cmf.close()``, else at interpreter exit — cmflib's
examples never call it) ends the last: completed, or failed with the error if an
uncaught exception ended the script. Values JSON cannot hold are stored as their
``str()``, as in cmflib. What cmflib writes as parquet is written as CSV / JSON
under ``cmf_artifacts/<execution id>/``. ``docs/cmflib.md`` maps every method.
"""

import atexit
import csv
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from cmf_core.errors import CmfError, ConflictError, InvalidInputError, NotFoundError
from cmf_core.records import Artifact, ArtifactType, EventDirection, ExecutionStatus

if TYPE_CHECKING:  # tracking imports this module: for the type checker only
    from cmf_core.tracking import Cmf, Run

Props = Mapping[str, Any] | None
GITIGNORE = "# Written by cmf: these files are recorded by digest; keep them out of Git.\n*\n"


@dataclass(frozen=True)
class CmflibContext:
    """What ``create_context`` returns for cmflib's mlmd Context: ``id`` is the stage's id,
    ``name`` is ``<pipeline>/<stage>`` as cmflib names it."""

    id: int
    name: str
    pipeline: str
    stage: str


@dataclass(frozen=True)
class CmflibExecution:
    """What ``create_execution`` returns for cmflib's mlmd Execution: ``id`` is the execution
    id (a UUID string where cmflib has an int), ``name`` the ``execution_type`` given."""

    id: str
    name: str
    pipeline: str
    stage: str


@dataclass
class _Current:
    """The current cmflib-style execution and the step-metric rows cmflib keeps for it."""

    run: "Run"
    execution: CmflibExecution
    rows: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    series: dict[str, str] = field(default_factory=dict)  # step-metric key -> its metrics_name


class DataSlice:
    """cmflib's ``Cmf.DataSlice``: files with properties; ``commit()`` records the list.

    The manifest, ``cmf_artifacts/<execution id>/dataslice/<name>.json``, maps each
    path (relative to the project root) to ``{"digest": …, **properties}``.
    """

    def __init__(self, name: str, writer: "CmflibMethods") -> None:
        self.name = _file_name(name, "dataslice")
        self.writer = writer
        self.props: dict[str, dict[str, Any]] = {}

    def add_data(self, path: str, custom_properties: Props = None) -> None:
        """Add the file at ``path`` (hashed now) with its properties."""
        from cmf_core.hashing import hash_path

        cmf = self.writer._owner
        absolute, recorded = cmf.resolve_path(path)
        digest = hash_path(absolute, stat_cache=cmf.stat_cache).digest
        self.props[recorded] = {"digest": digest, **_plain(custom_properties)}

    def commit(self, custom_properties: Props = None) -> Artifact:
        """Write the manifest and record it as a ``dataslice`` output of the current execution."""
        return self.writer._write_dataslice(self.name, self.props, custom_properties)


class CmflibMethods:
    """cmflib's ``Cmf`` methods, mixed into :class:`cmf_core.Cmf` (see the module docstring)."""

    ARTIFACTS_PATH = "cmf_artifacts"
    DATASLICE_PATH = "dataslice"
    METRICS_PATH = "metrics"

    def __init__(self) -> None:
        self._cmflib_context: CmflibContext | None = None
        self._cmflib_current: _Current | None = None

    @property
    def _owner(self) -> "Cmf":
        return cast("Cmf", self)

    # -- stages and executions ---------------------------------------------------------------

    def create_context(self, pipeline_stage: str, custom_properties: Props = None) -> CmflibContext:
        """Make ``pipeline_stage`` the current stage (created if new; properties merged)."""
        pipeline = self._owner.pipeline or Path.cwd().name  # cmflib's name for an unnamed one
        properties = _plain(custom_properties) or None
        stage_id = self._owner.stage_id(pipeline_stage, pipeline=pipeline, properties=properties)
        context = CmflibContext(stage_id, f"{pipeline}/{pipeline_stage}", pipeline, pipeline_stage)
        self._cmflib_context = context
        return context

    def create_execution(
        self,
        execution_type: str,
        custom_properties: Props = None,
        cmd: str | None = None,
        create_new_execution: bool = True,
    ) -> CmflibExecution:
        """Start an execution of the current stage; ``custom_properties`` become its params.

        The previous cmflib-style execution, if open, is ended as completed. With
        ``create_new_execution=False`` a running execution of this stage and
        ``execution_type`` (this ``Cmf``'s, else one in the store) is reused and the
        params merged into it. ``cmd`` defaults to the script's command line.
        """
        if not isinstance(execution_type, str) or not execution_type.strip():
            raise InvalidInputError(
                "create_execution needs an execution_type, e.g. execution_type='Train-execution'."
            )
        context = self._cmflib_context or self.create_context(_script_stage())
        params = _plain(custom_properties)
        current = None if create_new_execution else self._reusable(context, execution_type)
        if current is not None:
            if params:
                current.run.log_params(params)
            return current.execution
        self.finalize()
        run = self._owner.start_execution(
            context.stage,
            pipeline=context.pipeline,
            params=params,
            properties={"execution_type": execution_type},
            command=cmd,
        )
        return self._adopt(run, context, execution_type).execution

    def _reusable(self, context: CmflibContext, execution_type: str) -> _Current | None:
        current = self._cmflib_current
        if current is not None and current.execution == CmflibExecution(
            current.run.id, execution_type, context.pipeline, context.stage
        ):
            return current
        running = self._owner.store.list_executions(
            pipeline=context.pipeline, stage=context.stage, status=ExecutionStatus.RUNNING
        )
        for found in running:
            if found.properties.get("execution_type") == execution_type:
                self.finalize()
                return self._adopt(self._owner.attach(found.id), context, execution_type)
        return None

    def _adopt(self, run: "Run", context: CmflibContext, execution_type: str) -> _Current:
        execution = CmflibExecution(run.id, execution_type, context.pipeline, context.stage)
        self._cmflib_current = _Current(run, execution)
        atexit.unregister(self._end_at_exit)
        atexit.register(self._end_at_exit)
        return self._cmflib_current

    def _current(self) -> _Current:
        if self._cmflib_current is None:  # cmflib names both after the script
            self.create_execution(_script_stage())
        return cast(_Current, self._cmflib_current)

    def update_execution(
        self, execution_id: str, custom_properties: Props = None
    ) -> CmflibExecution:
        """Merge ``custom_properties`` into the params of a running execution (id or prefix)."""
        current = self._cmflib_current
        if current is not None and current.run.id == execution_id:
            run = current.run
        else:
            run = self._owner.attach(str(execution_id))
        params = _plain(custom_properties)
        if params:
            run.log_params(params)
        if current is not None and run is current.run:
            return current.execution
        record = run.execution
        name = str(record.properties.get("execution_type", record.stage))
        return CmflibExecution(record.id, name, record.pipeline, record.stage)

    def finalize(self) -> None:
        """End the current cmflib-style execution as completed, writing buffered metrics.

        Safe to repeat or with nothing started. Unlike cmflib it makes no Git commit.
        """
        atexit.unregister(self._end_at_exit)
        self._end(None)

    def _end_at_exit(self) -> None:
        try:  # sys.last_value is set when an uncaught exception ended the script
            self._end(getattr(sys, "last_value", None))
        except CmfError as exc:
            print(f"cmf: could not end a cmflib-style execution at exit: {exc}", file=sys.stderr)

    def _end(self, error: BaseException | None) -> None:
        current, self._cmflib_current = self._cmflib_current, None
        if current is None:
            return
        try:
            if error is None:
                current.run.end()
            else:
                current.run.end(ExecutionStatus.FAILED, error=f"{type(error).__name__}: {error}")
        except ConflictError:
            if current.run.execution.status is ExecutionStatus.RUNNING:
                raise  # a real conflict (a metric), not another Cmf having ended it already

    # -- artifacts ---------------------------------------------------------------------------

    def log_dataset(
        self,
        url: str,
        event: str | EventDirection,
        custom_properties: Props = None,
        label: str | None = None,
        label_properties: Props = None,
        external: bool = False,
    ) -> Artifact:
        """Record the local file or folder ``url`` as a dataset, and ``label`` as its label.

        ``external`` is ignored (cmflib ignores it too); a remote URL is refused.
        """
        _check_local(url, "log_dataset")
        run = self._current().run
        artifact = run.log_dataset(url, event=event, properties=_plain(custom_properties))
        if label is not None:
            self.log_label(label, url, label_properties)
        return artifact

    def log_model(
        self,
        path: str,
        event: str | EventDirection,
        model_framework: str = "Default",
        model_type: str = "Default",
        model_name: str = "Default",
        custom_properties: Props = None,
    ) -> Artifact:
        """Record a model; framework, type and name describe it from its first logging on.

        As in cmflib, logging a known model again (say as the input of an
        evaluation) does not change its description.
        """
        _check_local(path, "log_model")
        run = self._current().run
        model = run.log_model(path, event=event, properties=_plain(custom_properties))
        if "model_framework" in model.properties:
            return model
        names = {"model_framework": model_framework, "model_type": model_type}
        return self.update_existing_artifact(model, {**names, "model_name": model_name})

    def log_label(self, url: str, dataset_name: str, custom_properties: Props = None) -> Artifact:
        """Record the label file ``url`` as an input, tied to the logged dataset ``dataset_name``.

        The label gets the property ``dataset_digest``, the dataset ``labels: {path: digest}``.
        """
        from cmf_core.hashing import hash_path

        _check_local(url, "log_label")
        cmf, run = self._owner, self._current().run
        dataset_digest = hash_path(
            cmf.resolve_path(dataset_name)[0], stat_cache=cmf.stat_cache
        ).digest
        try:
            dataset = cmf.store.get_artifact_detail(dataset_digest).artifact
        except NotFoundError:
            raise NotFoundError(
                f"The dataset {dataset_name} ({dataset_digest}) is not recorded; log it first "
                f"with log_dataset({dataset_name!r}, 'input', label={url!r})."
            ) from None
        properties = {**_plain(custom_properties), "dataset_digest": dataset_digest}
        label = run.log_artifact(url, type=ArtifactType.LABEL, event="input", properties=properties)
        labels = {**dataset.properties.get("labels", {}), cmf.resolve_path(url)[1]: label.digest}
        self.update_existing_artifact(dataset, {"labels": labels})
        return label

    def update_existing_artifact(self, artifact: Artifact, custom_properties: Props) -> Artifact:
        """Merge ``custom_properties`` into a recorded artifact's properties."""
        from cmf_core.store import ArtifactRow

        properties = _plain(custom_properties)
        row = ArtifactRow(artifact.digest, artifact.type.value, None, None, properties)
        return self._owner.store.record_artifact(row)

    def get_artifact(self, artifact_id: str) -> Artifact:
        """The artifact with this digest (or unique digest prefix)."""
        return self._owner.store.get_artifact_detail(str(artifact_id)).artifact

    def log_python_env(self, url: str) -> Artifact:
        """The current execution's environment artifact; ``url`` is not read.

        cmf captures the environment at every execution's start and keeps its digest
        on the execution, not as an input: a shared input would join all runs in lineage.
        """
        execution = self._current().run.execution
        if execution.environment_digest is None:
            raise InvalidInputError(
                "This Cmf was made with capture_environment=False; drop it to record the "
                "environment with every execution."
            )
        return self._owner.store.get_artifact_detail(execution.environment_digest).artifact

    def log_validation_output(self, version: str, custom_properties: Props = None) -> None:
        """Record ``{"version": …, **custom_properties}`` as property ``validation_output``."""
        output = {"version": str(version), **_plain(custom_properties)}
        self._current().run.set_properties({"validation_output": output})

    # -- metrics -----------------------------------------------------------------------------

    def log_execution_metrics(self, metrics_name: str, custom_properties: Props = None) -> None:
        """Record ``custom_properties`` (name -> number) as the execution's metrics.

        Metrics keep their own names (``auc``), so runs compare by them; the
        property ``metrics_names`` maps each ``metrics_name`` to its keys.
        """
        run = self._current().run
        values = _numbers(custom_properties, "log_execution_metrics", metrics_name)
        try:
            if values:
                run.log_metrics(values)
        except ConflictError as exc:
            raise ConflictError(
                f"{exc} Metrics keep their plain names, so the groups logged by one execution "
                "need distinct keys (e.g. 'test_loss' and 'train_loss')."
            ) from exc
        names = {**run.execution.properties.get("metrics_names", {}), metrics_name: [*values]}
        run.set_properties({"metrics_names": names})

    def log_metric(self, metrics_name: str, custom_properties: Props = None) -> None:
        """Add one row of step metrics: its step is the row number (from 1) in ``metrics_name``."""
        current = self._current()
        values = _numbers(custom_properties, "log_metric", metrics_name)
        for key in values:
            owner = current.series.get(key, metrics_name)
            if owner != metrics_name:
                raise ConflictError(
                    f"Step metric {key!r} of execution {current.run.id} is already logged under "
                    f"{owner!r}; series keep their plain names, so give this one another key."
                )
        current.series.update(dict.fromkeys(values, metrics_name))
        rows = current.rows.setdefault(metrics_name, [])
        rows.append(values)
        for key, value in values.items():
            current.run.log_metric(key, value, step=len(rows))

    def commit_metrics(self, metrics_name: str) -> Artifact:
        """Write buffered step metrics to the store and the rows to a ``step_metrics`` file.

        ``cmf_artifacts/<execution id>/metrics/<metrics_name>.csv`` has a column
        ``SequenceNumber`` (the step) and one per key, as cmflib's parquet file has.
        """
        current = self._current()
        rows = current.rows.get(metrics_name)
        if rows is None:
            raise NotFoundError(
                f"No step metrics named {metrics_name!r} in execution {current.run.id}; log "
                f"rows first with log_metric({metrics_name!r}, {{'loss': 0.3}})."
            )
        current.run.flush()
        name = _file_name(metrics_name, "metrics")
        path = self._folder(current, self.METRICS_PATH) / f"{name}.csv"
        columns = dict.fromkeys(key for row in rows for key in row)
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, ["SequenceNumber", *columns])
            writer.writeheader()
            writer.writerows({"SequenceNumber": step, **row} for step, row in enumerate(rows, 1))
        properties = {"metrics_name": metrics_name, "columns": [*columns]}
        return current.run.log_artifact(path, type=ArtifactType.STEP_METRICS, properties=properties)

    # -- data slices -------------------------------------------------------------------------

    def create_dataslice(self, name: str) -> DataSlice:
        """A new, empty :class:`DataSlice` named ``name``."""
        return DataSlice(name, self)

    def read_dataslice(self, name: str) -> dict[str, dict[str, Any]]:
        """The slice the current execution committed: ``{path: {"digest": …, **properties}}``."""
        path = self._slice_path(name)
        if not path.is_file():
            raise NotFoundError(
                f"The current execution has committed no dataslice {name!r} ({path} is missing); "
                "commit one first with create_dataslice(name) … .commit()."
            )
        return cast(dict[str, dict[str, Any]], json.loads(path.read_text(encoding="utf-8")))

    def update_dataslice(self, name: str, record: str, custom_properties: Props) -> Artifact:
        """Merge properties into one path of a committed slice and record the new version."""
        props = self.read_dataslice(name)
        if record not in props:
            raise NotFoundError(f"Dataslice {name!r} has no path {record!r}; it has {[*props]}.")
        props[record].update(_plain(custom_properties))
        return self._write_dataslice(name, props, None)

    def _write_dataslice(
        self, name: str, props: dict[str, dict[str, Any]], custom_properties: Props
    ) -> Artifact:
        path = self._slice_path(name)
        path.write_text(json.dumps(props, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return self._current().run.log_artifact(
            path, type=ArtifactType.DATASLICE, properties=_plain(custom_properties)
        )

    def _slice_path(self, name: str) -> Path:
        folder = self._folder(self._current(), self.DATASLICE_PATH)
        return folder / f"{_file_name(name, 'dataslice')}.json"

    def _folder(self, current: _Current, kind: str) -> Path:
        root = self._owner.project_root / self.ARTIFACTS_PATH
        folder = root / current.run.id / kind
        folder.mkdir(parents=True, exist_ok=True)
        if not (root / ".gitignore").exists():  # untracked files would make later runs dirty
            (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        return folder


def _unsupported(name: str, instead: str) -> Callable[..., NoReturn]:
    def method(self: object, *args: Any, **kwargs: Any) -> NoReturn:
        raise InvalidInputError(
            f"cmflib's {name}() is not supported by cmf: {instead} See docs/cmflib.md."
        )

    method.__name__ = method.__qualname__ = name
    return method


# cmflib methods with no meaning here: calling one says why (mypy flags them as missing).
_SYNC = "cmf merges metadata between sites by content digest, not record by record."
_URL = "cmf keeps paths on events and no DVC remote URLs on artifacts."
UNSUPPORTED = {
    "log_dvc_lock": "cmf never commits to Git; commit dvc.lock yourself (runs record the commit).",
    "link_artifacts": "lineage follows each execution's inputs and outputs; log both in one.",
    "update_context": "create_context(stage, custom_properties) merges properties into a stage.",
    "update_dataset_url": _URL,
    "update_model_url": _URL,
    "update_model_output": "use update_existing_artifact(artifact, properties).",
    **dict.fromkeys(
        [
            "merge_created_context",
            "merge_created_execution",
            "log_python_env_from_client",
            "log_dataset_with_version",
            "log_model_with_version",
            "log_execution_metrics_from_client",
            "log_step_metrics_from_client",
            "log_label_with_version",
        ],
        _SYNC,
    ),
}
for _name, _instead in UNSUPPORTED.items():
    setattr(CmflibMethods, _name, _unsupported(_name, _instead))
_slice_sync = _unsupported("log_dataslice_from_client", _SYNC)
DataSlice.log_dataslice_from_client = _slice_sync  # type: ignore[attr-defined]
CmflibMethods.DataSlice = DataSlice  # type: ignore[attr-defined]  # cmflib's Cmf.DataSlice


def _script_stage() -> str:
    """cmflib's default stage and execution name: the running script's name without suffix."""
    name = Path(sys.argv[0]).stem if sys.argv else ""
    return name if name and not name.startswith("-") else "default"


def _check_local(url: str, method: str) -> None:
    if "://" in str(url):
        raise InvalidInputError(
            f"{method} needs a local file or folder, not {url}: cmf names an artifact by the "
            f"digest of its bytes. Fetch it first (e.g. `dvc import-url {url} data/`) and log "
            "the local copy."
        )


def _file_name(name: str, what: str) -> str:
    if (
        not isinstance(name, str)
        or name.strip() in {"", ".", ".."}
        or any(c in name for c in "/\\")
    ):
        raise InvalidInputError(
            f"A {what} name becomes a file name; use a plain one such as 'training', not {name!r}."
        )
    return name


def _plain(values: Props) -> dict[str, Any]:
    """JSON-ready properties: values JSON cannot hold become their str(), as in cmflib."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInputError(f"Properties must be a mapping of name -> value, not {values!r}.")
    return {str(key): json.loads(json.dumps(value, default=str)) for key, value in values.items()}


def _numbers(values: Props, method: str, metrics_name: str) -> dict[str, float]:
    if not isinstance(metrics_name, str) or not metrics_name.strip():
        raise InvalidInputError(f"{method} needs a metrics_name, e.g. 'training_metrics'.")
    if values is not None and not isinstance(values, Mapping):
        raise InvalidInputError(f"{method} takes a mapping of name -> number, not {values!r}.")
    numbers: dict[str, float] = {}
    for key, value in (values or {}).items():
        try:
            if isinstance(value, bool):
                raise TypeError
            numbers[str(key)] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{method}({metrics_name!r}, …): {key!r} must be a number, not "
                f"{type(value).__name__} {value!r}; put other values in update_execution()."
            ) from None
    return numbers


__all__ = ["CmflibContext", "CmflibExecution", "CmflibMethods", "DataSlice"]
