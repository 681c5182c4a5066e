"""``CmfTuneCallback``: each Ray Tune trial recorded as an execution (the ``ray`` extra).

::

    from ray import tune
    from cmf_core.integrations.ray_tune import CmfTuneCallback

    tuner = tune.Tuner(
        train_fn,
        param_space={"lr": tune.grid_search([0.01, 0.1])},
        run_config=tune.RunConfig(callbacks=[CmfTuneCallback(pipeline="search")]),
    )
    tuner.fit()

One trial is one execution of the stage (``"tune"`` unless named): its config
(nested dicts flattened to dotted names) is its params, the trial id, the
experiment and the trainable are properties, every reported result its step
metrics at ``training_iteration`` (Ray's bookkeeping fields left out), the last
result its final metrics, ``inputs=`` its input datasets, and the trial's last
checkpoint, when it has one on a local disk, its model output. A trial that
completes ends ``completed``; one that errors ends ``failed`` with the last
line of Ray's error text; a trial Ray retries stays open across the retry.
Trials still open when the experiment ends (stopped, interrupted) end
``failed``.

The callback runs in the Tune driver process (not in the trial workers), so
one store connection records every trial and the trainable needs no change.
Recording never stops tuning: a store that cannot be written warns once.
"""

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from cmf_core.integrations.guard import RecordingGuard, json_params
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

    from cmf_core.run import Run
    from cmf_core.store import Store
    from cmf_core.tracking import Cmf

# What Ray adds to every result: counters, clocks and where the trial ran, not metrics.
BOOKKEEPING = frozenset(
    {
        "training_iteration",
        "iterations_since_restore",
        "timesteps_total",
        "timesteps_since_restore",
        "episodes_total",
        "time_this_iter_s",
        "time_total_s",
        "time_since_restore",
        "timestamp",
        "done",
        "pid",
        "node_ip",
        "hostname",
        "date",
        "trial_id",
        "experiment_tag",
        "should_checkpoint",
        "checkpoint_dir_name",
        "config",
    }
)
EXPERIMENT_ENDED = "the Tune experiment ended before the trial finished"


class CmfTuneCallback(Callback):
    """A Ray Tune ``Callback`` that records one execution per trial (see the module)."""

    def __init__(
        self,
        *,
        pipeline: str | None = None,
        stage: str = "tune",
        inputs: Sequence[str | Path] = (),
        cmf: "Cmf | None" = None,
        store: "str | Store | None" = None,
    ) -> None:
        self._pipeline = pipeline
        self._stage = stage
        self._inputs = list(inputs)
        self._cmf = cmf
        self._owns_cmf = cmf is None
        self._store = store
        self._runs: dict[str, Run] = {}
        self._guarded = RecordingGuard()

    def on_trial_start(
        self, iteration: int, trials: list["Trial"], trial: "Trial", **info: Any
    ) -> None:
        if trial.trial_id not in self._runs:
            self._guarded(lambda: self._start(trial))

    def _start(self, trial: "Trial") -> None:
        if self._cmf is None:
            from cmf_core.tracking import Cmf

            self._cmf = Cmf(pipeline=self._pipeline, store=self._store)
        run = self._cmf.start_execution(
            self._stage,
            pipeline=self._pipeline,
            params=json_params(flatten(trial.config)),
            properties={
                "ray.trial_id": trial.trial_id,
                "ray.experiment": trial.experiment_dir_name or "",
                "ray.trainable": trial.trainable_name,
            },
        )
        self._runs[trial.trial_id] = run
        for path in self._inputs:
            run.log_artifact(path, type=ArtifactType.DATASET, event=EventDirection.INPUT)

    def on_trial_result(
        self,
        iteration: int,
        trials: list["Trial"],
        trial: "Trial",
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        run = self._runs.get(trial.trial_id)
        if run is None:
            return
        step = result.get("training_iteration")
        values = metric_values(result)

        def record() -> None:
            for name, value in values.items():
                run.log_metric(name, value, step=step if isinstance(step, int) else None)

        self._guarded(record)

    def on_trial_complete(
        self, iteration: int, trials: list["Trial"], trial: "Trial", **info: Any
    ) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is None:
            return
        final = metric_values(trial.last_result or {})
        checkpoint = _local_checkpoint(trial)

        def record() -> None:
            if final:
                run.log_metrics(final)
            if checkpoint is not None:
                run.log_model(checkpoint)
            run.end()

        self._guarded(record)

    def on_trial_error(
        self, iteration: int, trials: list["Trial"], trial: "Trial", **info: Any
    ) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is not None:
            reason = _error_line(trial)
            self._guarded(lambda: run.end(ExecutionStatus.FAILED, error=reason))

    def on_experiment_end(self, trials: list["Trial"], **info: Any) -> None:
        for run in self._runs.values():
            self._guarded(
                functools.partial(run.end, ExecutionStatus.FAILED, error=EXPERIMENT_ENDED)
            )
        self._runs.clear()
        if self._owns_cmf and self._cmf is not None:
            self._cmf.close()
            self._cmf = None


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"opt": {"lr": 0.1}}`` as ``{"opt.lr": 0.1}`` (how search spaces nest)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def metric_values(result: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers a trainable reported (nested dicts as dotted names)."""
    return {
        name: float(value)
        for name, value in flatten(
            {k: v for k, v in result.items() if k not in BOOKKEEPING}
        ).items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def _local_checkpoint(trial: "Trial") -> str | None:
    checkpoint = trial.checkpoint
    path = getattr(checkpoint, "path", None)
    if path and Path(path).exists():  # a checkpoint on remote storage is left unnamed
        return str(path)
    return None


def _error_line(trial: "Trial") -> str:
    """The last line of Ray's error text for the trial (the exception), or a plain reason."""
    text = None
    try:  # written on the driver's disk first; the storage copy follows later
        local = trial.error_file
        text = Path(local).read_text(errors="replace") if local else trial.get_error()
    except Exception:  # the error file went missing with the storage
        text = None
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the trial raised an error (see Ray's trial logs)"


__all__ = ["CmfTuneCallback"]
