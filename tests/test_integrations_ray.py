"""CmfTuneCallback: a real Ray Tune search on this machine's CPU, one execution per trial,
the best checkpoint as the model and the top trials ranked."""

import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmf_core import Cmf
from cmf_core.annotate import labels_of
from cmf_core.errors import InvalidInputError
from cmf_core.search.search import search_executions

pytest.importorskip("ray.tune", reason="the ray extra is not installed")

import ray
from ray import tune

from cmf_core.integrations.ray_tune import CmfTuneCallback, flatten, metric_values


def trainable(config: dict[str, Any]) -> None:
    lr = config["opt"]["lr"]
    for step in range(1, 4):
        if lr < 0 and step == 2:
            raise ValueError("learning rate must be positive")
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "weights.txt").write_text(f"{lr} {step}")
            tune.report(
                {"loss": lr / step, "scores": {"acc": 1 - lr / step}},
                checkpoint=tune.Checkpoint.from_directory(folder),
            )


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # The trial workers cannot import this test module: ship the trainable by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def search(project: Path, callback: CmfTuneCallback, rates: list[float]) -> None:
    tuner = tune.Tuner(
        trainable,
        param_space={"opt": {"lr": tune.grid_search(rates)}, "seed": 7},
        run_config=tune.RunConfig(
            name="search",
            storage_path=str(project / "ray_results"),
            callbacks=[callback],
            verbose=0,
        ),
    )
    with warnings.catch_warnings():  # Ray's own deprecation notices
        warnings.simplefilter("ignore")
        tuner.fit()


def test_each_trial_is_an_execution_with_its_config_curve_checkpoint_or_error(
    local_ray: None, project: Path, sqlite_url: str
) -> None:
    (project / "data.csv").write_text("x\n")
    callback = CmfTuneCallback(pipeline="search", inputs=["data.csv"], store=sqlite_url)
    search(project, callback, [0.1, 0.2, -1.0])
    with Cmf(pipeline="search", store=sqlite_url) as cmf:
        runs = {
            e.params["opt.lr"]: cmf.store.get_execution_detail(e.id)
            for e in cmf.store.list_executions()
        }
    assert set(runs) == {0.1, 0.2, -1.0}
    good = runs[0.2]
    assert good.execution.status.value == "completed" and good.execution.params["seed"] == 7
    assert good.step_metrics["loss"] == 3 and good.step_metrics["scores.acc"] == 3
    final = {m.name: m.value for m in good.metrics}
    assert final["loss"] == pytest.approx(0.2 / 3)  # the last result, as final metrics
    assert "training_iteration" not in good.step_metrics and "time_total_s" not in final
    assert good.execution.properties["ray.trial_id"]
    assert [e.path for e in good.inputs] == ["data.csv"]
    [model] = good.outputs
    assert model.artifact.type.value == "model" and model.path.startswith("ray_results/search/")
    bad = runs[-1.0]
    assert bad.execution.status.value == "failed"
    assert "learning rate must be positive" in (bad.execution.error or "")
    assert bad.step_metrics["loss"] == 1  # the one result before it raised


def test_results_keep_numbers_and_leave_out_ray_bookkeeping() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": {}}) == {"a.b": 1, "a.c.d": 2, "e": {}}
    result = {"loss": 0.5, "ok": True, "nan": float("nan"), "note": "x", "time_total_s": 3.0}
    assert metric_values({**result, "training_iteration": 4, "nested": {"f1": 1}}) == {
        "loss": 0.5,
        "nested.f1": 1.0,
    }


def ranked_trainable(config: dict[str, Any]) -> None:
    """Loss ``lr + |step - dip|`` over three checkpointed steps; ``tail`` adds a bare fourth."""
    lr, dip = config["lr"], config["dip"]
    for step in range(1, 4):
        if config.get("fail") and step == 2:
            raise ValueError("diverged")
        metrics = {"loss": lr + abs(step - dip)} if dip else {"acc": 0.5}
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "weights.txt").write_text(f"{lr} {step}")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
    if config.get("tail") is not None:
        tune.report({"loss": config["tail"]})  # the best value, reported with no checkpoint


def weights_digest(folder: Path, lr: float, step: int) -> str:
    """The digest of a checkpoint written by ``ranked_trainable`` at ``step``."""
    from cmf_core.hashing import hash_path

    made = folder / f"{lr}-{step}"
    made.mkdir(parents=True)
    (made / "weights.txt").write_text(f"{lr} {step}")
    return hash_path(made).digest


def test_best_checkpoint_is_the_model_and_the_top_trials_are_ranked(
    local_ray: None, project: Path, sqlite_url: str, tmp_path: Path
) -> None:
    trials = [
        {"lr": 0.1, "dip": 2},  # best 0.1 at step 2: rank 1
        {"lr": 0.3, "dip": 3, "tail": 0.25},  # best 0.25 at bare step 4, model of step 3
        {"lr": 0.2, "dip": 1},  # best 0.2 at step 1: rank 2
        {"lr": 0.4, "dip": 0},  # never reports loss: last checkpoint, no rank
        {"lr": 0.0, "dip": 1, "fail": True},  # best of all, then raises: not ranked
    ]
    callback = CmfTuneCallback(pipeline="rank", store=sqlite_url, metric="loss", mode="min", top=2)
    tuner = tune.Tuner(
        ranked_trainable,
        param_space=tune.grid_search(trials),
        run_config=tune.RunConfig(
            name="rank", storage_path=str(project / "ray_results"), callbacks=[callback], verbose=0
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuner.fit()
    with Cmf(pipeline="rank", store=sqlite_url) as cmf:
        store = cmf.store
        details = {
            e.params["lr"]: store.get_execution_detail(e.id) for e in store.list_executions()
        }
        labels = labels_of(store, "execution", [d.execution.id for d in details.values()])
        [winner] = search_executions(store, 'labels.tune.rank = "1"').items
    expected = {0.1: 2, 0.3: 3, 0.2: 1, 0.4: 3}  # the step whose checkpoint is the model
    for lr, step in expected.items():
        [model] = details[lr].outputs
        assert model.artifact.type.value == "model"
        assert model.path.endswith(f"checkpoint_{step - 1:06d}")
        assert model.artifact.digest == weights_digest(tmp_path / "expected", lr, step)
    final = {lr: {m.name: m.value for m in d.metrics} for lr, d in details.items()}
    assert final[0.1]["best_loss"] == pytest.approx(0.1) and final[0.1]["loss"] == pytest.approx(
        1.1
    )
    assert final[0.3]["best_loss"] == pytest.approx(0.25)
    assert "best_loss" not in final[0.4]
    props = details[0.3].execution.properties
    assert props["ray.best_step"] == 4 and props["ray.checkpoint_step"] == 3
    failed = details[0.0]
    assert failed.execution.status.value == "failed" and not failed.outputs
    ranks = {lr: labels.get(d.execution.id, {}).get("tune.rank") for lr, d in details.items()}
    assert ranks == {0.1: "1", 0.2: "2", 0.3: None, 0.4: None, 0.0: None}
    assert winner.id == details[0.1].execution.id
    with Cmf(pipeline="rank", store=sqlite_url) as cmf:
        [note] = cmf.store.annotation_history("execution", winner.id, key="tune.rank")
    assert note.note == "rank 1 by loss (min): best loss = 0.1 at step 2"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"metric": "loss", "mode": "lowest"}, "mode= is 'min' or 'max'"),
        ({"metric": "loss", "mode": "min", "top": 0}, "top= is how many best trials"),
        ({"metric": "loss", "mode": "min", "top": True}, "top= is how many best trials"),
        ({"mode": "max"}, "mode= and top= need metric="),
        ({"top": 3}, "mode= and top= need metric="),
        ({"metric": "loss"}, "needs mode='min' or mode='max'"),
        ({"metric": " ", "mode": "min"}, "metric= names a reported result"),
    ],
)
def test_ranking_arguments_are_checked_up_front(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        CmfTuneCallback(**arguments)
