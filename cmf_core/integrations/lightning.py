"""``CmfLogger``: PyTorch Lightning's runs recorded as executions (the ``lightning`` extra).

::

    from cmf_core.integrations.lightning import CmfLogger

    logger = CmfLogger(pipeline="mnist", stage="train", inputs=["data/mnist"])
    trainer = Trainer(logger=logger, callbacks=[ModelCheckpoint(dirpath="checkpoints")])
    trainer.fit(model, datamodule)

One ``fit`` is one execution, started on the first thing logged: the
hyperparameters (``save_hyperparameters()``, ``log_hyperparams``) are its
params, ``self.log(...)`` values its step metrics (buffered as ``Run``
buffers them), the declared ``inputs`` and the datamodule's ``data_dir`` /
``data_dirs`` hyperparameters (``self.save_hyperparameters()`` in its
``__init__``) its input datasets, and, when training
ends, the best and the last checkpoint of every ``ModelCheckpoint`` its model
outputs. Training that ends with an exception ends the execution ``failed``.

Recording never stops training: if the store cannot be written, the logger
warns once, keeps the step metrics buffered and writes them at the next flush
or at the end. Only rank zero records.
"""

import functools
import math
from argparse import Namespace
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from cmf_core.integrations.guard import RecordingGuard, json_params
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from cmf_core.run import Run
    from cmf_core.store import Store
    from cmf_core.tracking import Cmf


class CmfLogger(Logger):
    """A Lightning logger that records one execution per ``fit`` (see the module docstring)."""

    def __init__(
        self,
        *,
        pipeline: str | None = None,
        stage: str = "train",
        inputs: Sequence[str | Path] = (),
        cmf: "Cmf | None" = None,
        store: "str | Store | None" = None,
    ) -> None:
        super().__init__()
        self._pipeline = pipeline
        self._stage = stage
        self._inputs = list(inputs)
        self._cmf = cmf
        self._owns_cmf = cmf is None
        self._store = store
        self._run: Run | None = None
        self._checkpoints: list[ModelCheckpoint] = []
        self._guarded = RecordingGuard()

    # -- what Lightning asks of a logger -----------------------------------------------------

    @property
    def name(self) -> str:
        return "cmf"

    @property
    def version(self) -> str:
        return self.experiment.id

    @property
    def experiment(self) -> "Run":
        """The run being recorded (started on first use)."""
        if self._run is None:
            if self._cmf is None:
                from cmf_core.tracking import Cmf

                self._cmf = Cmf(pipeline=self._pipeline, store=self._store)
            run = self._cmf.start_execution(self._stage, pipeline=self._pipeline)
            for path in self._inputs:
                run.log_artifact(path, type=ArtifactType.DATASET, event=EventDirection.INPUT)
            self._run = run
        return self._run

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)

        def record() -> None:
            run = self.experiment
            run.log_params(json_params(values))
            for path in _data_dirs(values):
                run.log_artifact(path, type=ArtifactType.DATASET, event=EventDirection.INPUT)

        self._guarded(record)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        # Called every step, so kept lean: no closure, the run looked up once per call, and
        # Lightning's values taken as the floats they are (it has already turned tensors
        # into numbers, one .item() per value, before any logger sees them).
        try:
            run = self._run if self._run is not None else self.experiment
            for name, value in metrics.items():
                number = value if type(value) is float else float(value)
                if name != "epoch" and math.isfinite(number):
                    run.log_metric(name, number, step=step)
        except Exception as exc:
            self._guarded.failed(exc)

    def after_save_checkpoint(self, checkpoint_callback: "ModelCheckpoint") -> None:
        if checkpoint_callback not in self._checkpoints:
            self._checkpoints.append(checkpoint_callback)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is None:
            return
        run, self._run = self._run, None
        for callback in self._checkpoints:
            paths = {callback.best_model_path, callback.last_model_path} - {""}
            for path in sorted(paths):
                if Path(path).exists():
                    self._guarded(functools.partial(run.log_model, path))
        failed = status not in ("success", "finished")
        final = ExecutionStatus.FAILED if failed else ExecutionStatus.COMPLETED
        self._guarded(lambda: run.end(final, error=f"training {status}" if failed else None))
        if self._owns_cmf and self._cmf is not None:
            self._cmf.close()
            self._cmf = None


def _data_dirs(values: Mapping[str, Any]) -> list[str]:
    """The existing paths a datamodule declared as ``data_dir`` / ``data_dirs`` hyperparameters."""
    declared = values.get("data_dirs") or []
    found = [values.get("data_dir"), *(declared if isinstance(declared, list | tuple) else [])]
    return [str(path) for path in found if isinstance(path, str | Path) and Path(path).exists()]
