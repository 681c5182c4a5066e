"""cmflib's methods on :class:`cmf_core.Cmf`, so a cmflib script runs after changing its import.

This module holds the methods that log into the current execution: datasets,
models, labels, environment, validation output, execution and step metrics,
data slices. Which execution is current, and when it ends, is
:mod:`~cmf_core.cmflib.session`'s business; ``CmflibMethods`` extends it, and
:class:`cmf_core.Cmf` extends ``CmflibMethods``, so the arrows point one way.
Values JSON cannot hold are stored as their ``str()``, as in cmflib
(:mod:`~cmf_core.cmflib.arguments`). What cmflib writes as parquet is written as
CSV / JSON under ``cmf_artifacts/<execution id>/`` (:mod:`~cmf_core.cmflib.files`).
cmflib methods with no meaning here say why (:mod:`~cmf_core.cmflib.unsupported`).
``docs/cmflib.md`` maps every method.
"""

from pathlib import Path
from typing import Any

from cmf_core.cmflib.arguments import Props, check_local, file_name, numbers, plain
from cmf_core.cmflib.files import (
    ARTIFACTS_FOLDER,
    artifact_folder,
    read_manifest,
    write_manifest,
    write_metrics,
    write_step_metrics,
)
from cmf_core.cmflib.objects import CmflibArtifact, cmflib_artifact
from cmf_core.cmflib.session import CmflibSession, CurrentExecution
from cmf_core.cmflib.unsupported import SYNC, UNSUPPORTED, unsupported
from cmf_core.errors import ConflictError, InvalidInputError, NotFoundError
from cmf_core.records import Artifact, ArtifactType, EventDirection


class DataSlice:
    """cmflib's ``Cmf.DataSlice``: files with properties; ``commit()`` records the list.

    The manifest, ``cmf_artifacts/<execution id>/dataslice/<name>.json``, maps each
    path (relative to the project root) to ``{"digest": …, **properties}``.
    """

    def __init__(self, name: str, writer: "CmflibMethods") -> None:
        self.name = file_name(name, "dataslice")
        self.writer = writer
        self.props: dict[str, dict[str, Any]] = {}

    def add_data(self, path: str, custom_properties: Props = None) -> None:
        """Add the file at ``path`` (hashed now) with its properties."""
        from cmf_core.hashing import hash_path

        cmf = self.writer
        absolute, recorded = cmf.resolve_path(path)
        digest = hash_path(absolute, stat_cache=cmf.stat_cache).digest
        self.props[recorded] = {"digest": digest, **plain(custom_properties)}

    def commit(self, custom_properties: Props = None) -> CmflibArtifact:
        """Write the manifest and record it as a ``dataslice`` output of the current execution."""
        return self.writer._write_dataslice(self.name, self.props, custom_properties)


class CmflibMethods(CmflibSession):
    """cmflib's ``Cmf`` methods that log into the current execution (see the module
    docstring); :class:`cmf_core.Cmf` adds cmflib's constructor arguments."""

    ARTIFACTS_PATH = ARTIFACTS_FOLDER
    DATASLICE_PATH = "dataslice"
    METRICS_PATH = "metrics"

    # -- artifacts ---------------------------------------------------------------------------

    def log_dataset(
        self,
        url: str,
        event: str | EventDirection,
        custom_properties: Props = None,
        label: str | None = None,
        label_properties: Props = None,
        external: bool = False,
    ) -> CmflibArtifact:
        """Record the local file or folder ``url`` as a dataset, and ``label`` as its label.

        ``external`` is ignored (cmflib ignores it too); a remote URL is refused.
        """
        check_local(url, "log_dataset")
        run = self._current().run
        artifact = run.log_dataset(url, event=event, properties=plain(custom_properties))
        if label is not None:
            self.log_label(label, url, label_properties)
        return cmflib_artifact(artifact, self.resolve_path(url)[1])

    def log_model(
        self,
        path: str,
        event: str | EventDirection,
        model_framework: str = "Default",
        model_type: str = "Default",
        model_name: str = "Default",
        custom_properties: Props = None,
    ) -> CmflibArtifact:
        """Record a model; framework, type and name describe it from its first logging on.

        As in cmflib, logging a known model again (say as the input of an
        evaluation) does not change its description.
        """
        check_local(path, "log_model")
        run = self._current().run
        model = run.log_model(path, event=event, properties=plain(custom_properties))
        if "model_framework" not in model.properties:
            names = {"model_framework": model_framework, "model_type": model_type}
            model = self.update_existing_artifact(model, {**names, "model_name": model_name})
        return cmflib_artifact(model, self.resolve_path(path)[1])

    def log_label(
        self, url: str, dataset_name: str, custom_properties: Props = None
    ) -> CmflibArtifact:
        """Record the label file ``url`` as an input, tied to the logged dataset ``dataset_name``.

        The label gets the property ``dataset_digest``, the dataset ``labels: {path: digest}``.
        """
        from cmf_core.hashing import hash_path

        check_local(url, "log_label")
        cmf, run = self, self._current().run
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
        properties = {**plain(custom_properties), "dataset_digest": dataset_digest}
        label = run.log_artifact(url, type=ArtifactType.LABEL, event="input", properties=properties)
        labels = {**dataset.properties.get("labels", {}), cmf.resolve_path(url)[1]: label.digest}
        self.update_existing_artifact(dataset, {"labels": labels})
        return cmflib_artifact(label, cmf.resolve_path(url)[1])

    def update_existing_artifact(self, artifact: Artifact, custom_properties: Props) -> Artifact:
        """Merge ``custom_properties`` into a recorded artifact's properties."""
        from cmf_core.store import ArtifactRow

        properties = plain(custom_properties)
        row = ArtifactRow(artifact.digest, artifact.type.value, None, None, properties)
        return self.store.record_artifact(row)

    def get_artifact(self, artifact_id: str) -> Artifact:
        """The artifact with this digest (or unique digest prefix)."""
        return self.store.get_artifact_detail(str(artifact_id)).artifact

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
        return self.store.get_artifact_detail(execution.environment_digest).artifact

    def log_validation_output(self, version: str, custom_properties: Props = None) -> None:
        """Record ``{"version": …, **custom_properties}`` as property ``validation_output``."""
        output = {"version": str(version), **plain(custom_properties)}
        self._current().run.set_properties({"validation_output": output})

    # -- metrics -----------------------------------------------------------------------------

    def log_execution_metrics(
        self, metrics_name: str, custom_properties: Props = None
    ) -> CmflibArtifact:
        """Record ``custom_properties`` (name -> number) as the execution's metrics; returns
        the ``metrics`` artifact, as cmflib does.

        Metrics keep their own names (``auc``), so runs compare by them; the
        property ``metrics_names`` maps each ``metrics_name`` to its keys. The
        values are also written to ``cmf_artifacts/<execution id>/metrics/
        <metrics_name>.json``, recorded as a ``metrics`` output: cmflib's Metrics
        artifact (whose ``name`` is ``<metrics_name>:<hash>:<execution id>``).
        """
        current = self._current()
        run = current.run
        values = numbers(custom_properties, "log_execution_metrics", metrics_name)
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
        path = (
            self._folder(current, self.METRICS_PATH) / f"{file_name(metrics_name, 'metrics')}.json"
        )
        write_metrics(path, values)
        properties = {"metrics_name": metrics_name, **plain(custom_properties)}
        artifact = run.log_artifact(path, type=ArtifactType.METRICS, properties=properties)
        recorded = self.resolve_path(path)[1]
        uri = cmflib_artifact(artifact, recorded).uri
        return cmflib_artifact(artifact, recorded, name=f"{metrics_name}:{uri}:{run.id}")

    def log_metric(self, metrics_name: str, custom_properties: Props = None) -> None:
        """Add one row of step metrics: its step is the row number (from 1) in ``metrics_name``."""
        current = self._current()
        values = numbers(custom_properties, "log_metric", metrics_name)
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

    def commit_metrics(self, metrics_name: str) -> CmflibArtifact:
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
        name = file_name(metrics_name, "metrics")
        path = self._folder(current, self.METRICS_PATH) / f"{name}.csv"
        columns = write_step_metrics(path, rows)
        properties = {"metrics_name": metrics_name, "columns": columns}
        artifact = current.run.log_artifact(
            path, type=ArtifactType.STEP_METRICS, properties=properties
        )
        return cmflib_artifact(artifact, self.resolve_path(path)[1])

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
        return read_manifest(path)

    def update_dataslice(self, name: str, record: str, custom_properties: Props) -> CmflibArtifact:
        """Merge properties into one path of a committed slice and record the new version."""
        props = self.read_dataslice(name)
        if record not in props:
            raise NotFoundError(f"Dataslice {name!r} has no path {record!r}; it has {[*props]}.")
        props[record].update(plain(custom_properties))
        return self._write_dataslice(name, props, None)

    def _write_dataslice(
        self, name: str, props: dict[str, dict[str, Any]], custom_properties: Props
    ) -> CmflibArtifact:
        path = self._slice_path(name)
        write_manifest(path, props)
        artifact = self._current().run.log_artifact(
            path, type=ArtifactType.DATASLICE, properties=plain(custom_properties)
        )
        return cmflib_artifact(artifact, self.resolve_path(path)[1])

    def _slice_path(self, name: str) -> Path:
        folder = self._folder(self._current(), self.DATASLICE_PATH)
        return folder / f"{file_name(name, 'dataslice')}.json"

    def _folder(self, current: CurrentExecution, kind: str) -> Path:
        return artifact_folder(self.project_root / self.ARTIFACTS_PATH, current.run.id, kind)


for _name, _instead in UNSUPPORTED.items():
    setattr(CmflibMethods, _name, unsupported(_name, _instead))
_slice_sync = unsupported("log_dataslice_from_client", SYNC)
DataSlice.log_dataslice_from_client = _slice_sync  # type: ignore[attr-defined]
CmflibMethods.DataSlice = DataSlice  # type: ignore[attr-defined]  # cmflib's Cmf.DataSlice

__all__ = ["CmflibMethods", "DataSlice"]
