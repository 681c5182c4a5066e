"""``CmfCallback``: Hugging Face ``Trainer`` runs recorded as executions (the ``transformers``
extra).

::

    from cmf_core.integrations.huggingface import CmfCallback

    trainer = Trainer(model, args, train_dataset=data, callbacks=[CmfCallback(pipeline="nlp")])
    trainer.train()

One ``train()`` is one execution: the ``TrainingArguments`` (as TensorBoard's
hyperparameter view sanitizes them) and the model's config are its params,
every ``logs`` dict (``loss``, ``learning_rate``, ``grad_norm``, evaluation
metrics) its step metrics at the global step, ``inputs=`` its input datasets,
and, when training ends, the best checkpoint (else the last one saved) its
model output.

The ``Trainer`` tells callbacks nothing when training raises, so an execution
started by the callback stays ``running`` then (a later ``cmf ls`` shows it
stale). To have a failure recorded, record the run yourself and hand it over:
``with cmf.execution("train") as run: Trainer(…, callbacks=[CmfCallback(run=run)])``
— the block ends it, ``failed`` on an exception. Recording never stops
training: a store that cannot be written warns once. Only the main process
records.
"""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from cmf_core.integrations.guard import RecordingGuard, json_params
from cmf_core.records import ArtifactType, EventDirection

if TYPE_CHECKING:
    from cmf_core.run import Run
    from cmf_core.store import Store
    from cmf_core.tracking import Cmf


class CmfCallback(TrainerCallback):
    """A ``TrainerCallback`` that records one execution per ``train()`` (see the module)."""

    def __init__(
        self,
        *,
        pipeline: str | None = None,
        stage: str = "train",
        inputs: Sequence[str | Path] = (),
        run: "Run | None" = None,
        cmf: "Cmf | None" = None,
        store: "str | Store | None" = None,
    ) -> None:
        self._pipeline = pipeline
        self._stage = stage
        self._inputs = list(inputs)
        self._given_run = run
        self._run: Run | None = None
        self._cmf = cmf
        self._owns_cmf = cmf is None and run is None
        self._store = store
        self._checkpoints: list[str] = []
        self._guarded = RecordingGuard()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        params = json_params(args.to_sanitized_dict())
        config = getattr(kwargs.get("model"), "config", None)
        if config is not None and hasattr(config, "to_dict"):
            params.update(json_params({f"model.{k}": v for k, v in config.to_dict().items()}))
        self._guarded(lambda: self._start(params))

    def _start(self, params: dict[str, Any]) -> None:
        if self._given_run is not None:
            run = self._given_run
            run.log_params(params)
        else:
            if self._cmf is None:
                from cmf_core.tracking import Cmf

                self._cmf = Cmf(pipeline=self._pipeline, store=self._store)
            run = self._cmf.start_execution(self._stage, pipeline=self._pipeline, params=params)
        for path in self._inputs:
            run.log_artifact(path, type=ArtifactType.DATASET, event=EventDirection.INPUT)
        self._run = run

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        run = self._run
        if run is None or not logs:
            return
        values = {
            name: float(value)
            for name, value in logs.items()
            if name != "epoch"
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        }

        def record() -> None:
            for name, value in values.items():
                run.log_metric(name, value, step=state.global_step)

        self._guarded(record)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._checkpoints.append(str(Path(args.output_dir) / f"checkpoint-{state.global_step}"))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        best = state.best_model_checkpoint or next(
            (path for path in reversed(self._checkpoints) if Path(path).exists()), None
        )
        if best is not None and Path(best).exists():
            self._guarded(lambda: run.log_model(best))
        if run is not self._given_run:
            self._guarded(run.end)
        if self._owns_cmf and self._cmf is not None:
            self._cmf.close()
            self._cmf = None
