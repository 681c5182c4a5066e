"""CmfTuneCallback: a real Ray Tune search on this machine's CPU, one execution per trial."""

import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmf_core import Cmf

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
