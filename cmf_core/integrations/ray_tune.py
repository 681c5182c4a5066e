"""``CmfTuneCallback``: each Ray Tune trial recorded as an execution (the ``ray`` extra).

::

    from ray import tune
    from cmf_core.integrations.ray_tune import CmfTuneCallback

    tuner = tune.Tuner(
        train_fn,
        param_space={"lr": tune.grid_search([0.01, 0.1])},
        run_config=tune.RunConfig(
            callbacks=[CmfTuneCallback(pipeline="search", metric="val_loss", mode="min", top=3)]
        ),
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

With ``metric=`` and ``mode=`` (``"min"`` or ``"max"``, as in Ray's own
``TuneConfig``), a completed trial's model output is instead the checkpoint
reported (in the same ``tune.report``) with its best value of the metric; its
best value over all its results is the final metric ``best_<metric>``
(``best_val_loss``), with the step it was reported at in the property
``ray.best_step`` and the model's step in ``ray.checkpoint_step``. A trial whose
checkpoints never came with the metric keeps its last checkpoint as the model; a
best checkpoint Ray has deleted since (``CheckpointConfig(num_to_keep=...)``
without ``checkpoint_score_attribute``) records no model and warns. With
``top=N``, when the experiment ends the N completed trials with the best
``best_<metric>`` are labelled ``tune.rank`` = ``"1"`` .. ``"N"`` (an annotation,
its note naming the metric and value), so ``labels.tune.rank = "1"`` finds the
winner; trials that errored, did not finish or never reported the metric are
not ranked.

The callback runs in the Tune driver process (not in the trial workers), so
one store connection records every trial and the trainable needs no change.
Recording never stops tuning: a store that cannot be written warns once.
"""

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from cmf_core.errors import InvalidInputError, warn_user
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
MODES = ("min", "max")
RANK_LABEL = "tune.rank"


@dataclass
class TrialBest:
    """One trial's best value of the metric so far, and the checkpoint reported with the best."""

    value: float | None = None
    step: int | None = None
    checkpoint: str | None = None  # a local path; None for one on remote storage
    checkpoint_value: float | None = None
    checkpoint_step: int | None = None
    # The latest result (value, step, checkpoint folder): Ray calls ``on_checkpoint``
    # right after the ``on_trial_result`` of the same report, before the next one.
    reported: tuple[float | None, int | None, str | None] = (None, None, None)


@dataclass(frozen=True)
class Standing:
    """A completed trial's execution and its best value, for the ranking."""

    execution_id: str
    value: float
    step: int | None


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
        metric: str | None = None,
        mode: str | None = None,
        top: int | None = None,
    ) -> None:
        check_ranking(metric, mode, top)
        self._metric = metric
        self._mode = mode
        self._top = top
        self._bests: dict[str, TrialBest] = {}
        self._standings: list[Standing] = []
        self._has_warned_gone = False
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
        reported_step = result.get("training_iteration")
        step = reported_step if isinstance(reported_step, int) else None
        values = metric_values(result)
        if self._metric is not None:
            self._note_result(trial, values, step, result.get("checkpoint_dir_name"))

        def record() -> None:
            for name, value in values.items():
                run.log_metric(name, value, step=step)

        self._guarded(record)

    def _note_result(
        self, trial: "Trial", values: Mapping[str, float], step: int | None, folder: Any
    ) -> None:
        assert self._metric is not None
        best = self._bests.setdefault(trial.trial_id, TrialBest())
        value = metric_value_of(values, self._metric)
        best.reported = (value, step, folder if isinstance(folder, str) else None)
        if value is not None and self._is_better(value, best.value):
            best.value, best.step = value, step

    def on_checkpoint(
        self,
        iteration: int,
        trials: list["Trial"],
        trial: "Trial",
        checkpoint: Any,
        **info: Any,
    ) -> None:
        best = self._bests.get(trial.trial_id)
        if best is None or trial.trial_id not in self._runs:
            return
        value, step, folder = best.reported
        best.reported = (None, None, None)
        path = getattr(checkpoint, "path", None)
        if value is None or (folder is not None and Path(str(path)).name != folder):
            return  # not the checkpoint of the result just seen
        if self._is_better(value, best.checkpoint_value):
            best.checkpoint = _local_path(path)
            best.checkpoint_value, best.checkpoint_step = value, step

    def _is_better(self, value: float, than: float | None) -> bool:
        return than is None or (value < than if self._mode == "min" else value > than)

    def on_trial_complete(
        self, iteration: int, trials: list["Trial"], trial: "Trial", **info: Any
    ) -> None:
        run = self._runs.pop(trial.trial_id, None)
        if run is None:
            return
        final = metric_values(trial.last_result or {})
        checkpoint = _local_checkpoint(trial)
        properties: dict[str, Any] = {}
        best = self._bests.pop(trial.trial_id, None)
        if best is not None and best.value is not None:
            final[f"best_{self._metric}"] = best.value
            properties["ray.best_step"] = best.step
            self._standings.append(Standing(run.id, best.value, best.step))
        if best is not None and best.checkpoint_value is not None:
            properties["ray.checkpoint_step"] = best.checkpoint_step
            checkpoint = best.checkpoint
            if checkpoint is not None and not Path(checkpoint).exists():
                self._warn_gone(trial, best)
                checkpoint = None

        def record() -> None:
            if final:
                run.log_metrics(final)
            if properties:
                run.set_properties(properties)
            if checkpoint is not None:
                run.log_model(checkpoint)
            run.end()

        self._guarded(record)

    def _warn_gone(self, trial: "Trial", best: TrialBest) -> None:
        if not self._has_warned_gone:
            self._has_warned_gone = True
            warn_user(
                f"The best checkpoint of trial {trial.trial_id} ({self._metric} = "
                f"{best.checkpoint_value:g} at step {best.checkpoint_step}) is no longer on disk, "
                "so cmf records no model for it; keep the best checkpoints with "
                f"tune.CheckpointConfig(checkpoint_score_attribute={self._metric!r}, "
                f"checkpoint_score_order={self._mode!r})."
            )

    def on_trial_error(
        self, iteration: int, trials: list["Trial"], trial: "Trial", **info: Any
    ) -> None:
        run = self._runs.pop(trial.trial_id, None)
        self._bests.pop(trial.trial_id, None)  # an errored trial is not ranked
        if run is not None:
            reason = _error_line(trial)
            self._guarded(lambda: run.end(ExecutionStatus.FAILED, error=reason))

    def on_experiment_end(self, trials: list["Trial"], **info: Any) -> None:
        for run in self._runs.values():
            self._guarded(
                functools.partial(run.end, ExecutionStatus.FAILED, error=EXPERIMENT_ENDED)
            )
        self._runs.clear()
        self._bests.clear()
        if self._top is not None and self._cmf is not None:
            cmf = self._cmf
            for rank, standing in enumerate(self._ranked(), start=1):
                note = (
                    f"rank {rank} by {self._metric} ({self._mode}): best {self._metric} = "
                    f"{standing.value:g} at step {standing.step}"
                )
                self._guarded(
                    functools.partial(
                        cmf.annotate, standing.execution_id, RANK_LABEL, str(rank), note=note
                    )
                )
        self._standings.clear()
        if self._owns_cmf and self._cmf is not None:
            self._cmf.close()
            self._cmf = None

    def _ranked(self) -> list[Standing]:
        """The ``top`` completed trials by best value (a tie goes to the first completed)."""
        sign = 1.0 if self._mode == "min" else -1.0
        ordered = sorted(self._standings, key=lambda standing: sign * standing.value)
        return ordered[: self._top]


def check_ranking(metric: str | None, mode: str | None, top: int | None) -> None:
    """Refuse a ``metric``/``mode``/``top`` combination the callback cannot rank by."""
    if metric is not None and (not isinstance(metric, str) or not metric.strip()):
        raise InvalidInputError(
            f"metric= names a reported result, e.g. metric='val_loss', not {metric!r}."
        )
    if mode is not None and mode not in MODES:
        raise InvalidInputError(f"mode= is 'min' or 'max' (as in Ray's TuneConfig), not {mode!r}.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InvalidInputError(f"top= is how many best trials to rank, 1 or more, not {top!r}.")
    if metric is None and (mode is not None or top is not None):
        raise InvalidInputError(
            "mode= and top= need metric=, the reported result to rank trials by "
            "(e.g. metric='val_loss', mode='min')."
        )
    if metric is not None and mode is None:
        raise InvalidInputError(
            f"metric={metric!r} needs mode='min' or mode='max': whether lower or higher is better."
        )


def metric_value_of(values: Mapping[str, float], metric: str) -> float | None:
    """``metric`` in a result's numbers; Ray's ``a/b`` name for a nested value is ``a.b`` here."""
    value = values.get(metric)
    return values.get(metric.replace("/", ".")) if value is None else value


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
    return _local_path(getattr(trial.checkpoint, "path", None))


def _local_path(path: Any) -> str | None:
    if path and Path(str(path)).exists():  # a checkpoint on remote storage is left unnamed
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
