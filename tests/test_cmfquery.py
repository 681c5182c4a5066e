"""cmflib's CmfQuery over a pipeline recorded with cmflib's method names, on both backends."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmf_core import Cmf
from cmf_core.cmflib.query import CmfQuery
from cmf_core.errors import ConfigError, NotFoundError
from cmf_core.hashing import hash_path

EXECUTION_COLUMNS = [
    "Context_ID",
    "Context_Type",
    "Execution",
    "Execution_type_name",
    "Execution_uuid",
    "Git_End_Commit",
    "Git_Repo",
    "Git_Start_Commit",
    "Pipeline_Type",
    "Pipeline_id",
]


def record(cmf: Cmf) -> dict[str, str]:
    """prepare: raw.csv → prepared.csv; train: prepared.csv → model.pkl (+ metrics);
    evaluate: model.pkl → report.json. Returns the execution ids and digests."""
    Path("data").mkdir()
    Path("data/raw.csv").write_text("a,b\n1,2\n")
    cmf.create_context("prepare")
    prepare = cmf.create_execution("Prepare", custom_properties={"seed": 1, "split": [0.8, 0.2]})
    cmf.log_dataset("data/raw.csv", "input")
    Path("data/prepared.csv").write_text("a,b\n1,2\n3,4\n")
    cmf.log_dataset("data/prepared.csv", "output", custom_properties={"rows": 2})
    cmf.create_context("train")
    train = cmf.create_execution("Train", custom_properties={"lr": 0.1, "type": "rf"}, cmd="train")
    cmf.log_dataset("data/prepared.csv", "input")
    Path("model.pkl").write_text("weights")
    cmf.log_model("model.pkl", "output", model_framework="sklearn", model_name="forest")
    cmf.log_execution_metrics("training_metrics", {"accuracy": 0.9, "f1": 0.8})
    cmf.log_metric("loss_curve", {"loss": 0.5})
    cmf.log_metric("loss_curve", {"loss": 0.25})
    cmf.commit_metrics("loss_curve")
    cmf.create_context("evaluate")
    evaluate = cmf.create_execution("Evaluate")
    cmf.log_model("model.pkl", "input")
    Path("data/report.json").write_text("{}")
    cmf.log_dataset("data/report.json", "output")
    cmf.finalize()
    hashes = {
        name: hash_path(path).digest
        for name, path in (
            ("raw", "data/raw.csv"),
            ("prepared", "data/prepared.csv"),
            ("model", "model.pkl"),
            ("report", "data/report.json"),
        )
    }
    return {"prepare": prepare.id, "train": train.id, "evaluate": evaluate.id, **hashes}


@pytest.fixture
def recorded(bare_project: Path, store_url: str) -> Iterator[tuple[CmfQuery, dict[str, str]]]:
    with Cmf(
        pipeline_name="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        found = record(cmf)
    with CmfQuery(store=store_url) as query:
        yield query, found


def name(digest: str, path: str) -> str:
    return f"{path}:{digest.removeprefix('md5:')}"


def test_pipelines_stages_and_executions_have_cmflibs_names_and_columns(
    recorded: tuple[CmfQuery, dict[str, str]],
) -> None:
    query, ids = recorded
    assert query.get_pipeline_names() == ["fraud"]
    assert query.get_pipeline_stages("fraud") == ["fraud/prepare", "fraud/train", "fraud/evaluate"]
    assert query.get_pipeline_id("nope") == -1
    df = query.get_all_executions_in_stage("fraud/train")
    assert list(df.columns) == [
        *EXECUTION_COLUMNS,
        "custom_properties_Python_Env",
        "custom_properties_lr",
        "custom_properties_type",
        "id",
        "name",
    ]
    row = df.iloc[0]
    assert (row.id, row.Execution_uuid, row["name"], row.Execution) == (
        ids["train"],
        ids["train"],
        "Train",
        "train",
    )
    assert (row.Context_Type, row.Execution_type_name, row.Pipeline_Type) == (
        "fraud/train",
        "fraud/train",
        "fraud",
    )
    assert (row.Git_Repo, row.Git_Start_Commit, row.Git_End_Commit) == ("", "", "")
    assert (row.custom_properties_lr, row.custom_properties_type) == (0.1, "rf")
    assert row.Pipeline_id == query.get_pipeline_id("fraud")
    # A script selecting cmflib's columns keeps working; a bare stage name works too.
    bare = query.get_all_executions_in_stage("prepare")
    assert bare[["Execution_uuid", "custom_properties_seed"]].values.tolist() == [
        [ids["prepare"], 1]
    ]
    assert bare.custom_properties_split[0] == "[0.8, 0.2]"  # as ML Metadata keeps a list
    assert [e.id for e in query.get_all_exe_in_stage("fraud/evaluate")] == [ids["evaluate"]]
    assert query.get_all_executions_in_stage("nope").empty


def test_artifacts_by_pipeline_and_by_execution(recorded: tuple[CmfQuery, dict[str, str]]) -> None:
    query, ids = recorded
    by_pipeline = query.get_all_artifacts_by_context("fraud")
    assert by_pipeline[["id", "type"]].values.tolist() == [
        [ids["raw"], "Dataset"],
        [ids["prepared"], "Dataset"],
        [ids["model"], "Model"],
        [by_pipeline.id[3], "Metrics"],
        [by_pipeline.id[4], "Step_Metrics"],
        [ids["report"], "Dataset"],
    ]
    assert by_pipeline.url[0] == "fraud:data/raw.csv"
    assert by_pipeline.metrics_name[3] == "training_metrics"
    assert by_pipeline.name[0] == name(ids["raw"], "data/raw.csv")
    assert by_pipeline.name[2] == name(ids["model"], "model.pkl") + ":" + ids["train"]
    assert by_pipeline.uri[0] == ids["raw"].removeprefix("md5:") == by_pipeline.Commit[0]
    assert by_pipeline.custom_properties_rows[1] == 2
    assert (by_pipeline.model_framework[2], by_pipeline.model_name[2]) == ("sklearn", "forest")

    for_train = query.get_all_artifacts_for_execution(ids["train"])
    assert for_train[["event", "type"]].values.tolist() == [
        ["INPUT", "Dataset"],
        ["OUTPUT", "Model"],
        ["OUTPUT", "Metrics"],
        ["OUTPUT", "Step_Metrics"],
    ]
    metrics = for_train.iloc[2]
    assert (metrics.custom_properties_accuracy, metrics.custom_properties_f1) == (0.9, 0.8)
    uri = for_train.uri[2]
    assert metrics["name"] == f"training_metrics:{uri}:{ids['train']}"
    assert query.get_all_artifacts_for_execution("ffffffff").empty

    linked = query.get_all_executions_for_artifact(name(ids["prepared"], "data/prepared.csv"))
    assert linked[["Type", "execution_id", "stage", "pipeline"]].values.tolist() == [
        ["OUTPUT", ids["prepare"], "fraud/prepare", "fraud"],
        ["INPUT", ids["train"], "fraud/train", "fraud"],
    ]


def test_parents_and_children_follow_the_lineage(recorded: tuple[CmfQuery, dict[str, str]]) -> None:
    query, ids = recorded
    raw = name(ids["raw"], "data/raw.csv")
    assert query.get_one_hop_child_artifacts(raw).id.tolist() == [ids["prepared"]]
    children = query.get_all_child_artifacts(ids["raw"]).id.tolist()
    assert children[:2] == [ids["prepared"], ids["model"]]
    produced = query.get_all_artifacts_by_context("fraud").id[3:5]
    assert set(children[2:]) == {ids["report"], *produced}
    pipeline = query.get_pipeline_id("fraud")
    assert query.get_one_hop_child_artifacts(raw, pipeline + 1).empty  # another pipeline's id
    assert query.get_one_hop_child_artifacts(raw, "fraud").id.tolist() == [ids["prepared"]]
    assert query.get_one_hop_parent_artifacts("data/report.json").id.tolist() == [ids["model"]]
    assert query.get_all_parent_artifacts("data/report.json").id.tolist() == [
        ids["model"],
        ids["prepared"],
        ids["raw"],
    ]
    parents = query.get_all_parent_executions("data/report.json")
    assert parents.Execution_uuid.tolist() == [ids["prepare"], ids["train"]]
    producer = query.find_producer_execution(name(ids["model"], "model.pkl"))
    assert producer is not None and producer.id == ids["train"]
    assert query.find_producer_execution("data/raw.csv") is None
    assert query.get_all_parent_artifacts("no/such/file.csv").empty


def test_step_metrics_and_the_json_dump(recorded: tuple[CmfQuery, dict[str, str]]) -> None:
    query, ids = recorded
    loss = query.get_metrics("loss_curve")
    assert loss is not None and loss.index.name == "SequenceNumber"
    assert loss.to_dict() == {"loss": {1: 0.5, 2: 0.25}}
    assert query.get_metrics("nope") is None

    dump = json.loads(query.dumptojson("fraud"))
    (pipeline,) = dump["Pipeline"]
    assert (pipeline["name"], pipeline["type"], pipeline["properties"]) == (
        "fraud",
        "Parent_Context",
        {"Pipeline": "fraud"},
    )
    assert [s["name"] for s in pipeline["stages"]] == [
        "fraud/prepare",
        "fraud/train",
        "fraud/evaluate",
    ]
    (train,) = pipeline["stages"][1]["executions"]
    assert (train["type"], train["id"], train["custom_properties"]) == (
        "Train",
        ids["train"],
        {"lr": 0.1, "user_type": "rf"},
    )
    assert train["properties"]["Execution_uuid"] == ids["train"]
    assert [(e["type"], e["artifact"]["type"]) for e in train["events"]] == [
        (3, "Dataset"),
        (4, "Model"),
        (4, "Metrics"),
        (4, "Step_Metrics"),
    ]
    only = json.loads(query.dumptojson("fraud", ids["evaluate"][:20]))["Pipeline"][0]
    assert [len(s["executions"]) for s in only["stages"]] == [0, 0, 1]
    assert json.loads(query.dumptojson("nope")) == {"Pipeline": []}


def test_cmflibs_filepath_means_the_projects_store_unless_it_names_a_db_file(
    bare_project: Path,
) -> None:
    options = {"capture_git": False, "capture_environment": False}
    with Cmf(filepath="mlmd", pipeline_name="p", **options) as cmf:
        cmf.create_context("prepare")
        cmf.create_execution("Prepare")
    assert not (bare_project / "mlmd").exists()
    assert (bare_project / ".cmf" / "metadata.db").is_file()
    with CmfQuery("mlmd") as query:
        assert query.get_pipeline_names() == ["p"]
    with Cmf(filepath="runs.db", pipeline_name="q", **options) as cmf:
        cmf.create_context("train")
    with CmfQuery("runs.db") as query:
        assert query.get_pipeline_names() == ["q"]
    with CmfQuery(filepath=f"sqlite:///{bare_project / 'runs.db'}") as query:
        assert query.get_pipeline_stages("q") == ["q/train"]
    with pytest.raises(NotFoundError, match="No cmf store here"):
        CmfQuery("missing.db")
    assert not (bare_project / "missing.db").exists()


def test_without_pandas_the_error_says_what_to_install(
    recorded: tuple[CmfQuery, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    query, _ = recorded
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"pip install 'cmf\[query\]'"):
        query.get_all_executions_in_stage("fraud/train")


def test_the_other_cmflib_reads_and_ways_to_open_a_store(
    recorded: tuple[CmfQuery, dict[str, str]], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    query, ids = recorded
    everything = query.get_all_executions_in_pipeline("fraud")
    assert everything.id.tolist() == [ids["prepare"], ids["train"], ids["evaluate"]]
    chosen = query.get_all_executions_by_ids_list([ids["evaluate"]])
    assert chosen.Context_Type.tolist() == ["fraud/evaluate"]
    both = query.get_all_artifacts_for_executions([ids["prepare"], ids["evaluate"]])
    assert sorted(both.id) == sorted([ids["raw"], ids["prepared"], ids["model"], ids["report"]])
    one = query.get_artifact("data/raw.csv")
    assert one is not None and one.name.tolist() == [name(ids["raw"], "data/raw.csv")]
    assert query.get_artifact("md5:" + "0" * 32) is None
    assert query.get_all_artifacts()[:2] == [
        name(ids["raw"], "data/raw.csv"),
        name(ids["prepared"], "data/prepared.csv"),
    ]
    with CmfQuery(store=query.store) as shared:  # an open Store is used, not closed
        assert shared.get_pipeline_names() == ["fraud"]
    assert query.get_pipeline_names() == ["fraud"]
    monkeypatch.setenv("CMF_STORE_URL", store_url)
    with CmfQuery(is_server=True) as configured:
        assert configured.get_pipeline_stages("fraud")[0] == "fraud/prepare"
