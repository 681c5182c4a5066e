"""cmflib's method names on Cmf: real cmflib-style scripts, and each method's behaviour."""

import csv
import datetime
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core import Cmf
from cmf_core.cmflib.session import CmflibContext
from cmf_core.cmflib.unsupported import UNSUPPORTED
from cmf_core.errors import ConflictError, InvalidInputError, Kind, NotFoundError
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.store import Store
from cmf_mcp.cli.main import cli
from tests.conftest import git

# Two stages of cmflib's example-get-started, as written for cmflib; the test changes
# only the import (and `cmf.Cmf(` to `Cmf(`) before running them.
TRAIN = """
import os
import pickle
import sys

from cmflib import cmf


def train(input_dir: str, output_dir: str) -> None:
    params = {"n_est": 100, "min_split": 64, "seed": 20170428}
    metawriter = cmf.Cmf(filepath="mlmd", pipeline_name="Test-env")
    _ = metawriter.create_context(pipeline_stage="Train")
    _ = metawriter.create_execution(execution_type="Train-execution", custom_properties=params)
    train_ds = os.path.join(input_dir, "train.pkl")
    _ = metawriter.log_dataset(train_ds, "input", custom_properties={"user-metadata1": "v1"})
    for epoch in range(1, 4):
        metawriter.log_metric("training_metrics", {"train_loss": 1.0 / epoch, "epoch": epoch})
    _ = metawriter.commit_metrics("training_metrics")
    os.makedirs(output_dir, exist_ok=True)
    model_file = os.path.join(output_dir, "model.pkl")
    with open(model_file, "wb") as fd:
        pickle.dump({"weights": [1, 2, 3]}, fd)
    _ = metawriter.log_model(
        path=model_file, event="output", model_framework="SKlearn",
        model_type="RandomForestClassifier", model_name="RandomForestClassifier:default"
    )
    _ = metawriter.log_execution_metrics("metrics", {"train_accuracy": 0.91})
    dataslice = metawriter.create_dataslice("slice-a")
    for name in ("a.xml", "b.xml"):
        dataslice.add_data(os.path.join(input_dir, "raw", name), {"split": "test"})
    dataslice.commit()


if __name__ == "__main__":
    train(sys.argv[1], sys.argv[2])
"""

EVALUATE = """
import os
import sys

from cmflib import cmf


def evaluate(model_dir: str, dataset_dir: str) -> None:
    metawriter = cmf.Cmf(filepath="mlmd", pipeline_name="Test-env")
    _ = metawriter.create_context(pipeline_stage="Evaluate")
    _ = metawriter.create_execution(execution_type="Evaluate-execution")
    metawriter.log_model(
        path=os.path.join(model_dir, "model.pkl"), event="input", model_framework="sklearn",
        model_type="RandomForest", model_name="RandomForest_default"
    )
    _ = metawriter.log_dataset(os.path.join(dataset_dir, "test.pkl"), "input")
    exec_metrics = dict(avg_prec=0.8, roc_auc=0.9)
    _ = metawriter.log_execution_metrics("metrics", exec_metrics)


if __name__ == "__main__":
    evaluate(sys.argv[1], sys.argv[2])
"""


def as_cmf_core(cmflib_script: str) -> str:
    return cmflib_script.replace("from cmflib import cmf", "from cmf_core import Cmf").replace(
        "cmf.Cmf(", "Cmf("
    )


def run_script(project: Path, name: str, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = project / "src" / name
    script.parent.mkdir(exist_ok=True)
    script.write_text(as_cmf_core(text))
    return subprocess.run(
        [sys.executable, f"src/{name}", *args], cwd=project, capture_output=True, text=True
    )


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def md5(path: Path) -> str:
    return "md5:" + hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cmf(project: Path, store_url: str) -> Iterator[Cmf]:
    with Cmf(pipeline_name="fraud", store=store_url, capture_environment=False) as instance:
        yield instance


# -- whole scripts -----------------------------------------------------------------------------


def test_cmflib_example_scripts_run_with_only_the_import_changed(project: Path) -> None:
    write(project / "data" / "train.pkl", "train rows")
    write(project / "data" / "test.pkl", "test rows")
    write(project / "data" / "raw" / "a.xml", "<a/>")
    write(project / "data" / "raw" / "b.xml", "<b/>")

    for name, text, args in [
        ("train.py", TRAIN, ("data", "model")),
        ("evaluate.py", EVALUATE, ("model", "data")),
    ]:
        result = run_script(project, name, text, *args)
        assert result.returncode == 0, result.stderr

    assert not (project / "mlmd").exists()  # recorded into the project's store
    listed = CliRunner().invoke(cli, ["ls", "stages"])
    assert listed.exit_code == 0, listed.output
    assert "Train" in listed.output and "Evaluate" in listed.output
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        evaluate, train = store.list_executions(pipeline="Test-env")  # newest first
        assert [train.stage, evaluate.stage] == ["Train", "Evaluate"]
        assert {train.status, evaluate.status} == {ExecutionStatus.COMPLETED}
        assert train.params == {"n_est": 100, "min_split": 64, "seed": 20170428}
        assert train.properties["execution_type"] == "Train-execution"
        assert train.command == "src/train.py data model"
        assert train.git_commit_start == git(project, "rev-parse", "HEAD")

        trained = store.get_execution_detail(train.id)
        outputs = {event.path: event.artifact for event in trained.outputs}
        model = outputs["model/model.pkl"]
        assert model.type is ArtifactType.MODEL
        assert model.properties == {
            "model_framework": "SKlearn",
            "model_type": "RandomForestClassifier",
            "model_name": "RandomForestClassifier:default",
        }
        [(input_path, dataset)] = [(e.path, e.artifact) for e in trained.inputs]
        assert input_path == "data/train.pkl"
        assert dataset.properties == {"user-metadata1": "v1"}
        assert trained.step_metrics == {"train_loss": 3, "epoch": 3}
        assert [(m.name, m.value) for m in trained.metrics] == [("train_accuracy", 0.91)]

        metrics_path = f"cmf_artifacts/{train.id}/metrics/training_metrics.csv"
        assert outputs[metrics_path].type is ArtifactType.STEP_METRICS
        assert outputs[metrics_path].digest == md5(project / metrics_path)
        slice_path = f"cmf_artifacts/{train.id}/dataslice/slice-a.json"
        assert outputs[slice_path].type is ArtifactType.DATASLICE

        evaluated = store.get_execution_detail(evaluate.id)
        inputs = {event.path: event.artifact.digest for event in evaluated.inputs}
        assert inputs == {
            "model/model.pkl": model.digest,
            "data/test.pkl": md5(project / "data" / "test.pkl"),
        }
        assert {m.name: m.value for m in evaluated.metrics} == {"avg_prec": 0.8, "roc_auc": 0.9}


def test_a_script_that_dies_of_an_uncaught_exception_leaves_its_execution_failed(
    project: Path,
) -> None:
    script = """
from cmflib import cmf

metawriter = cmf.Cmf(filepath="mlmd", pipeline_name="Test-env")
metawriter.create_context(pipeline_stage="Prepare")
metawriter.create_execution(execution_type="Prepare")
metawriter.log_metric("loss_curve", {"loss": 0.5})
raise RuntimeError("disk full")
"""
    result = run_script(project, "prepare.py", script)
    assert result.returncode == 1 and "disk full" in result.stderr
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
        assert execution.status is ExecutionStatus.FAILED
        assert execution.error == "RuntimeError: disk full"
        assert store.get_execution_detail(execution.id).step_metrics == {"loss": 1}


# -- stages and executions ---------------------------------------------------------------------


def test_create_context_returns_the_stage_and_merges_its_properties(cmf: Cmf) -> None:
    context = cmf.create_context("prepare", custom_properties={"owner": "ana"})
    again = cmf.create_context(pipeline_stage="prepare", custom_properties={"team": "ml"})
    assert context == CmflibContext(context.id, "fraud/prepare", "fraud", "prepare")
    assert again.id == context.id
    [stage] = cmf.store.list_stages(pipeline="fraud")
    assert stage.properties == {"owner": "ana", "team": "ml"}


def test_create_execution_ends_the_previous_one_as_completed(cmf: Cmf) -> None:
    cmf.create_context("train")
    first = cmf.create_execution("Train-execution", custom_properties={"lr": 0.1}, cmd="train 1")
    second = cmf.create_execution("Train-execution")
    assert (first.name, first.stage) == ("Train-execution", "train")
    assert first.id != second.id
    assert cmf.store.get_execution(first.id).status is ExecutionStatus.COMPLETED
    assert cmf.store.get_execution(first.id).command == "train 1"
    assert cmf.store.get_execution(first.id).params == {"lr": 0.1}
    assert cmf.store.get_execution(second.id).status is ExecutionStatus.RUNNING
    cmf.close()
    assert cmf.store.get_execution(second.id).status is ExecutionStatus.COMPLETED


def test_finalize_records_the_commit_and_leaves_the_execution_open_as_cmflib_does(
    cmf: Cmf, project: Path
) -> None:
    cmf.create_context("train")
    train = cmf.create_execution("Train-execution")
    cmf.finalize()
    cmf.finalize()
    metrics = cmf.log_execution_metrics("after_finalize", {"auc": 0.9})
    recorded = cmf.store.get_execution(train.id)
    assert recorded.status is ExecutionStatus.RUNNING
    assert recorded.properties["git_commit_finalize"] == git(project, "rev-parse", "HEAD")
    assert [m.name for m in cmf.store.get_metrics(train.id)] == ["auc"]
    outputs = cmf.store.get_execution_detail(train.id).outputs
    assert [event.artifact.digest for event in outputs] == [metrics.digest]
    cmf.close()
    assert cmf.store.count("executions") == 1
    ended = cmf.store.get_execution(train.id)
    assert (ended.status, ended.git_commit_end) == (
        ExecutionStatus.COMPLETED,
        git(project, "rev-parse", "HEAD"),
    )


def test_finalize_with_nothing_started_does_nothing(cmf: Cmf) -> None:
    cmf.finalize()
    assert cmf.store.count("executions") == 0


def test_logging_before_create_context_records_a_stage_named_after_the_script(
    cmf: Cmf, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["src/prepare.py", "--fast"])
    write(project / "data.csv", "a\n")
    cmf.log_dataset("data.csv", "input")
    [execution] = cmf.store.list_executions()
    assert (execution.stage, execution.properties) == ("prepare", {"execution_type": "prepare"})
    assert execution.command == "src/prepare.py --fast"


def test_create_new_execution_false_reuses_the_running_execution_of_that_type(
    cmf: Cmf, store_url: str
) -> None:
    cmf.create_context("train")
    first = cmf.create_execution("epoch-callback", {"lr": 0.1}, create_new_execution=False)
    same = cmf.create_execution("epoch-callback", {"batch": 32}, create_new_execution=False)
    assert same == first
    assert cmf.store.get_execution(first.id).params == {"lr": 0.1, "batch": 32}
    with Cmf(pipeline_name="fraud", store=store_url, capture_environment=False) as other:
        other.create_context("train")
        found = other.create_execution("epoch-callback", create_new_execution=False)
        assert found.id == first.id
        other.log_execution_metrics("metrics", {"loss": 0.2})
    assert cmf.store.get_execution(first.id).status is ExecutionStatus.COMPLETED
    cmf.finalize()  # its execution was ended by the other Cmf: nothing left to do


def test_update_execution_merges_params_into_a_running_execution(cmf: Cmf) -> None:
    cmf.create_context("train")
    execution = cmf.create_execution("Train-execution", {"lr": 0.1})
    assert cmf.update_execution(execution.id, {"epochs": 3}) == execution
    assert cmf.store.get_execution(execution.id).params == {"lr": 0.1, "epochs": 3}
    with pytest.raises(NotFoundError, match="No execution") as missing:
        cmf.update_execution("no-such-execution", {"epochs": 3})
    assert missing.value.kind is Kind.EXECUTION


def test_update_execution_of_another_running_execution_leaves_the_current_one(cmf: Cmf) -> None:
    other = cmf.start_execution("prepare")
    cmf.create_context("train")
    current = cmf.create_execution("Train-execution")
    updated = cmf.update_execution(other.id, {"rows": 10})
    assert (updated.id, updated.stage, updated.name) == (other.id, "prepare", "prepare")
    assert cmf.store.get_execution(other.id).params == {"rows": 10}
    cmf.close()
    assert cmf.store.get_execution(current.id).status is ExecutionStatus.COMPLETED
    assert cmf.store.get_execution(other.id).status is ExecutionStatus.RUNNING
    other.end()


def test_property_values_json_cannot_hold_are_stored_as_text(cmf: Cmf) -> None:
    cmf.create_context("train")
    day = datetime.date(2024, 5, 1)
    execution = cmf.create_execution("Train", {"since": day, "sizes": (1, 2)})
    assert cmf.store.get_execution(execution.id).params == {"since": "2024-05-01", "sizes": [1, 2]}


@pytest.mark.parametrize(
    ("call", "advice"),
    [
        pytest.param(lambda c: c.create_execution(" "), "needs an execution_type", id="type"),
        pytest.param(lambda c: c.create_context("s", ["a"]), "mapping of name", id="properties"),
        pytest.param(lambda c: c.log_metric("", {"loss": 1.0}), "needs a metrics_name", id="name"),
        pytest.param(lambda c: c.log_execution_metrics("m", [0.9]), "takes a mapping", id="values"),
        pytest.param(lambda c: c.log_python_env("env.yaml"), "capture_environment", id="env"),
    ],
)
def test_arguments_cmf_cannot_use_are_refused_with_advice(
    cmf: Cmf, call: Callable[[Cmf], object], advice: str
) -> None:
    with pytest.raises(InvalidInputError, match=advice):
        call(cmf)


# -- artifacts -------------------------------------------------------------------------------


def test_log_dataset_with_a_label_ties_the_label_to_the_dataset(cmf: Cmf, project: Path) -> None:
    data = write(project / "data" / "images.csv", "img1\nimg2\n")
    labels = write(project / "data" / "labels.csv", "img1,cat\n")
    dataset = cmf.log_dataset(
        "data/images.csv", "INPUT", label="data/labels.csv", label_properties={"user": "Ron"}
    )
    assert dataset.digest == md5(data)
    detail = cmf.store.get_execution_detail(cmf.store.list_executions()[0].id)
    kinds = {(e.path, e.direction, e.artifact.type) for e in detail.inputs}
    assert kinds == {
        ("data/images.csv", EventDirection.INPUT, ArtifactType.DATASET),
        ("data/labels.csv", EventDirection.INPUT, ArtifactType.LABEL),
    }
    label = cmf.store.get_artifact_detail(md5(labels)).artifact
    assert label.properties == {"user": "Ron", "dataset_digest": dataset.digest}
    stored = cmf.get_artifact(dataset.digest[:12])
    assert stored.properties == {"labels": {"data/labels.csv": md5(labels)}}


def test_log_label_for_a_dataset_never_logged_says_to_log_it_first(cmf: Cmf, project: Path) -> None:
    write(project / "data.csv", "a\n")
    write(project / "labels.csv", "a,1\n")
    with pytest.raises(NotFoundError, match=r"log it first with log_dataset\('data.csv'"):
        cmf.log_label("labels.csv", "data.csv")


@pytest.mark.parametrize("url", ["s3://bucket/data.csv", "https://example.com/data.csv"])
def test_log_dataset_refuses_a_remote_url_with_advice(cmf: Cmf, url: str) -> None:
    with pytest.raises(InvalidInputError, match="dvc import-url"):
        cmf.log_dataset(url, "input", external=True)


def test_log_model_keeps_the_description_it_was_first_logged_with(cmf: Cmf, project: Path) -> None:
    write(project / "model.pkl", "weights")
    cmf.create_context("train")
    cmf.create_execution("Train")
    cmf.log_model("model.pkl", "output", "torch", "cnn", "resnet", {"epochs": 3})
    cmf.create_context("evaluate")
    cmf.create_execution("Evaluate")
    model = cmf.log_model(path="model.pkl", event="input", model_framework="other")
    assert model.properties == {
        "epochs": 3,
        "model_framework": "torch",
        "model_type": "cnn",
        "model_name": "resnet",
    }


def test_log_python_env_returns_the_environment_recorded_with_the_execution(
    project: Path, sqlite_url: str
) -> None:
    with Cmf(pipeline_name="fraud", store=sqlite_url) as cmf:
        environment = cmf.log_python_env("python_env.yaml")
        execution = cmf.store.list_executions()[0]
        assert environment.type is ArtifactType.ENVIRONMENT
        assert environment.digest == execution.environment_digest


def test_log_validation_output_is_kept_as_an_execution_property(cmf: Cmf) -> None:
    cmf.log_validation_output("v2", {"passed": True})
    execution = cmf.store.list_executions()[0]
    assert execution.properties["validation_output"] == {"version": "v2", "passed": True}


# -- metrics ---------------------------------------------------------------------------------


def test_log_metric_rows_are_steps_and_commit_metrics_records_them_as_a_file(
    cmf: Cmf, project: Path
) -> None:
    cmf.create_context("train")
    execution = cmf.create_execution("Train")
    cmf.log_metric("training_metrics", {"loss": 0.9})
    cmf.log_metric("training_metrics", {"loss": 0.5, "accuracy": 0.7})
    cmf.log_metric("validation_metrics", {"val_loss": 0.6})
    artifact = cmf.commit_metrics("training_metrics")

    metrics = cmf.store.get_metrics(execution.id, name="loss")
    assert [(m.step, m.value) for m in metrics] == [(1, 0.9), (2, 0.5)]
    path = project / "cmf_artifacts" / execution.id / "metrics" / "training_metrics.csv"
    with path.open(newline="") as file:
        assert list(csv.reader(file)) == [
            ["SequenceNumber", "loss", "accuracy"],
            ["1", "0.9", ""],
            ["2", "0.5", "0.7"],
        ]
    assert (artifact.type, artifact.digest) == (ArtifactType.STEP_METRICS, md5(path))
    assert artifact.properties == {
        "metrics_name": "training_metrics",
        "columns": ["loss", "accuracy"],
    }
    assert "cmf_artifacts" not in git(project, "status", "--porcelain")


def test_logging_calls_return_objects_with_cmflibs_attributes(cmf: Cmf, project: Path) -> None:
    write(project / "data" / "train.csv", "a,b\n1,2\n")
    write(project / "model.pkl", "weights")
    context = cmf.create_context("train", {"owner": "ana"})
    execution = cmf.create_execution("Train-execution", {"lr": 0.1}, cmd="python train.py")
    assert (context.name, context.type, context.custom_properties) == (
        "fraud/train",
        "Pipeline_Stage",
        {"owner": "ana"},
    )
    assert (execution.name, execution.type, execution.custom_properties) == (
        "Train-execution",
        "fraud/train",
        {"lr": 0.1},
    )
    assert execution.properties["Execution"] == "python train.py"
    assert execution.properties["Git_Start_Commit"] == git(project, "rev-parse", "HEAD")

    dataset = cmf.log_dataset("data/train.csv", "input", custom_properties={"rows": 1})
    hex_ = md5(project / "data" / "train.csv").removeprefix("md5:")
    assert (dataset.name, dataset.uri, dataset.id) == (
        f"data/train.csv:{hex_}",
        hex_,
        dataset.digest,
    )
    assert (dataset.type, dataset.type_name, dataset.path) == (
        ArtifactType.DATASET,
        "Dataset",
        "data/train.csv",
    )
    assert dataset.custom_properties == dataset.properties == {"rows": 1}
    model = cmf.log_model("model.pkl", "output", model_framework="sklearn")
    assert (model.name, model.type_name) == (f"model.pkl:{model.uri}", "Model")
    assert model.properties["model_framework"] == "sklearn"

    metrics = cmf.log_execution_metrics("training_metrics", {"auc": 0.9, "loss": 0.1})
    path = project / "cmf_artifacts" / execution.id / "metrics" / "training_metrics.json"
    assert json.loads(path.read_text()) == {"auc": 0.9, "loss": 0.1}
    assert (metrics.type, metrics.type_name, metrics.digest) == (
        ArtifactType.METRICS,
        "Metrics",
        md5(path),
    )
    assert metrics.name == f"training_metrics:{metrics.uri}:{execution.id}"
    assert metrics.properties == {"metrics_name": "training_metrics", "auc": 0.9, "loss": 0.1}
    outputs = cmf.store.get_execution_detail(execution.id).outputs
    assert {event.artifact.digest for event in outputs} == {model.digest, metrics.digest}


def test_a_step_metric_key_belongs_to_one_metrics_name(cmf: Cmf) -> None:
    cmf.log_metric("train", {"loss": 0.9})
    with pytest.raises(ConflictError, match="already logged under 'train'"):
        cmf.log_metric("validation", {"accuracy": 0.5, "loss": 0.8})
    cmf.log_metric("validation", {"accuracy": 0.5})


def test_commit_metrics_of_an_unknown_name_says_to_log_rows_first(cmf: Cmf) -> None:
    with pytest.raises(NotFoundError, match=r"log_metric\('epochs'"):
        cmf.commit_metrics("epochs")


def test_log_execution_metrics_records_metrics_under_their_own_names(cmf: Cmf) -> None:
    cmf.log_execution_metrics("metrics", {"auc": 0.93, "loss": 0.2})
    cmf.log_execution_metrics("test_metrics", {"test_loss": 0.3})
    execution = cmf.store.list_executions()[0]
    metrics = {m.name: m.value for m in cmf.store.get_metrics(execution.id)}
    assert metrics == {"auc": 0.93, "loss": 0.2, "test_loss": 0.3}
    assert execution.properties["metrics_names"] == {
        "metrics": ["auc", "loss"],
        "test_metrics": ["test_loss"],
    }
    with pytest.raises(ConflictError, match="need distinct keys"):
        cmf.log_execution_metrics("other", {"loss": 0.4})


@pytest.mark.parametrize("value", ["high", True, None, [1]])
def test_a_metric_that_is_not_a_number_is_refused(cmf: Cmf, value: object) -> None:
    with pytest.raises(InvalidInputError, match="must be a number"):
        cmf.log_metric("training", {"loss": value})


# -- data slices -----------------------------------------------------------------------------


def test_a_dataslice_is_recorded_read_and_updated_as_a_new_version(cmf: Cmf, project: Path) -> None:
    for name in ("a.xml", "b.xml"):
        write(project / "raw" / name, name)
    dataslice = cmf.create_dataslice("slice-a")
    dataslice.add_data("raw/a.xml", {"label": "cat"})
    dataslice.add_data("raw/b.xml")
    first = dataslice.commit({"mean": 2.5})

    assert first.type is ArtifactType.DATASLICE and first.properties == {"mean": 2.5}
    assert cmf.read_dataslice("slice-a") == {
        "raw/a.xml": {"digest": md5(project / "raw" / "a.xml"), "label": "cat"},
        "raw/b.xml": {"digest": md5(project / "raw" / "b.xml")},
    }
    second = cmf.update_dataslice("slice-a", "raw/b.xml", {"label": "dog"})
    assert second.digest != first.digest
    assert cmf.read_dataslice("slice-a")["raw/b.xml"]["label"] == "dog"
    execution = cmf.store.list_executions()[0]
    outputs = cmf.store.get_execution_detail(execution.id).outputs
    assert {e.artifact.digest for e in outputs} == {first.digest, second.digest}
    with pytest.raises(NotFoundError, match="has no path 'raw/c.xml'"):
        cmf.update_dataslice("slice-a", "raw/c.xml", {})


@pytest.mark.parametrize("name", ["", "../up", "a/b"])
def test_a_dataslice_name_must_be_a_plain_file_name(cmf: Cmf, name: str) -> None:
    with pytest.raises(InvalidInputError, match="plain one"):
        cmf.create_dataslice(name)


def test_reading_a_dataslice_never_committed_says_to_commit_it(cmf: Cmf) -> None:
    with pytest.raises(NotFoundError, match="commit one first"):
        cmf.read_dataslice("slice-x")


# -- what cmf does not support ---------------------------------------------------------------


def test_unsupported_cmflib_methods_raise_an_error_that_says_why(cmf: Cmf) -> None:
    for name in UNSUPPORTED:
        with pytest.raises(InvalidInputError, match=f"cmflib's {name}\\(\\) is not supported"):
            getattr(cmf, name)("anything", key="value")
    with pytest.raises(InvalidInputError, match="merges metadata between sites"):
        cmf.create_dataslice("s").log_dataslice_from_client("anything")  # type: ignore[attr-defined]
