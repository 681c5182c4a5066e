"""Merging a batch of records by natural key: DESIGN.md's identity and merge rules."""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmf_core.records import (
    Artifact,
    ArtifactType,
    Event,
    EventDirection,
    Execution,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store import Store
from cmf_core.store.batch import RecordBatch
from cmf_core.store.merge import merge_records

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
RAW = "md5:" + "1" * 32
MODEL = "md5:" + "2" * 32
RUN = "0195a000-0000-7000-8000-000000000001"


def execution(**changes: Any) -> Execution:
    values: dict[str, Any] = {
        "id": RUN,
        "pipeline": "fraud",
        "stage": "train",
        "status": ExecutionStatus.COMPLETED,
        "started_at": T0,
        "ended_at": T0 + timedelta(seconds=5),
        "command": "python train.py",
        "params": {"lr": 0.01},
        "properties": {"execution_type": "train"},
        "error": None,
        "site": None,
        "git_remote": "https://example.com/team/fraud.git",
        "git_branch": None,
        "git_commit_start": "a" * 40,
        "git_commit_end": None,
        "git_is_dirty": None,
        "git_diff_digest": None,
        "environment_digest": None,
    }
    return Execution(**{**values, **changes})


def artifact(digest: str, type: ArtifactType, **properties: Any) -> Artifact:
    return Artifact(
        digest=digest, type=type, size=None, nfiles=None, properties=properties, created_at=T0
    )


def event(digest: str, direction: EventDirection, path: str, run: str = RUN) -> Event:
    return Event(execution_id=run, digest=digest, direction=direction, path=path, created_at=T0)


def metric(name: str, value: float, step: int | None = None, run: str = RUN) -> Metric:
    return Metric(execution_id=run, name=name, step=step, value=value, time=T0)


def batch(**changes: Any) -> RecordBatch:
    parts: dict[str, Any] = {
        "pipelines": [Pipeline(name="fraud", properties={"owner": "ana"}, created_at=T0)],
        "stages": [Stage(pipeline="fraud", name="train", properties={}, created_at=T0)],
        "executions": [execution()],
        "artifacts": [
            artifact(RAW, ArtifactType.DATASET, source="survey"),
            artifact(MODEL, ArtifactType.MODEL),
        ],
        "events": [
            event(RAW, EventDirection.INPUT, "data/raw.csv"),
            event(MODEL, EventDirection.OUTPUT, "models/model.pkl"),
        ],
        "metrics": [metric("accuracy", 0.9), metric("loss", 0.5, 1), metric("loss", math.nan, 2)],
    }
    return RecordBatch(**{**parts, **changes})


def test_a_new_batch_is_recorded_and_merging_it_again_changes_nothing(store_url: str) -> None:
    with Store(store_url) as store:
        first = merge_records(store, batch())
        again = merge_records(store, batch())
        detail = store.get_execution_detail(RUN)
        counts = {kind: store.count(kind) for kind in ("executions", "events", "metrics")}
    assert (first.executions.new, first.artifacts.new, first.events.new, first.metrics.new) == (
        1,
        2,
        2,
        3,
    )
    assert first.pipelines.new == first.stages.new == 1
    assert again.executions.unchanged == 1 and again.executions.new == 0
    assert again.artifacts.unchanged == 2 and again.events.unchanged == 2
    assert again.metrics.unchanged == 3 and not again.conflicts
    assert counts == {"executions": 1, "events": 2, "metrics": 3}
    assert detail.execution == execution()
    assert [e.path for e in detail.inputs] == ["data/raw.csv"]
    assert detail.step_metrics == {"loss": 2}


def test_an_ended_execution_replaces_the_running_one_never_the_reverse(store_url: str) -> None:
    running = execution(status=ExecutionStatus.RUNNING, ended_at=None)
    with Store(store_url) as store:
        merge_records(store, batch(executions=[running]))
        ended = merge_records(store, batch())
        assert store.get_execution(RUN).status is ExecutionStatus.COMPLETED
        late = merge_records(store, batch(executions=[running]))
        assert store.get_execution(RUN).status is ExecutionStatus.COMPLETED
    assert ended.executions.updated == 1
    assert late.executions.unchanged == 1 and not late.conflicts


def test_an_ended_execution_that_differs_is_a_conflict_and_keeps_the_stored_one(
    store_url: str,
) -> None:
    other = execution(params={"lr": 0.1})
    with Store(store_url) as store:
        merge_records(store, batch())
        summary = merge_records(
            store,
            batch(
                executions=[other],
                events=[event(RAW, EventDirection.INPUT, "data/other.csv")],
                metrics=[metric("recall", 0.7)],
            ),
        )
        detail = store.get_execution_detail(RUN)
    assert summary.executions.conflicts == 1
    (conflict,) = summary.conflicts
    assert conflict.key == RUN
    assert conflict.stored == {"params": {"lr": 0.01}}
    assert conflict.incoming == {"params": {"lr": 0.1}}
    assert detail.execution.params == {"lr": 0.01}
    assert [e.path for e in detail.inputs] == ["data/raw.csv"]
    assert "recall" not in {m.name for m in detail.metrics}
    reasons = {skip.kind: skip.reason for skip in summary.skipped}
    assert (
        reasons["events"]
        == reasons["metrics"]
        == ("its execution was not merged (in conflict or skipped)")
    )


def test_artifact_properties_merge_and_another_type_is_a_conflict(store_url: str) -> None:
    with Store(store_url) as store:
        merge_records(store, batch())
        more = artifact(RAW, ArtifactType.DATASET, source="survey", rows=3)
        merged = merge_records(store, batch(artifacts=[more, artifact(MODEL, ArtifactType.LABEL)]))
        raw = store.get_artifact_detail(RAW).artifact
        model = store.get_artifact_detail(MODEL).artifact
    assert merged.artifacts.updated == 1 and merged.artifacts.conflicts == 1
    assert raw.properties == {"source": "survey", "rows": 3}
    assert model.type is ArtifactType.MODEL
    assert {c.key: c.incoming for c in merged.conflicts} == {MODEL: {"type": "label"}}


def test_a_metric_with_another_value_is_a_conflict(store_url: str) -> None:
    with Store(store_url) as store:
        merge_records(store, batch())
        summary = merge_records(store, batch(metrics=[metric("accuracy", 0.8)]))
        (accuracy,) = store.get_metrics(RUN, name="accuracy")
    assert summary.metrics.conflicts == 1
    assert summary.conflicts[0].stored == {"value": 0.9}
    assert accuracy.value == 0.9


def test_links_to_unknown_executions_or_artifacts_are_skipped_with_a_reason(
    store_url: str,
) -> None:
    stranger = "0195a000-0000-7000-8000-00000000ffff"
    with Store(store_url) as store:
        summary = merge_records(
            store,
            batch(
                events=[
                    event("md5:" + "9" * 32, EventDirection.INPUT, "data/gone.csv"),
                    event(RAW, EventDirection.INPUT, "data/raw.csv", run=stranger),
                ],
                metrics=[metric("accuracy", 0.9, run=stranger)],
            ),
        )
        assert store.count("events") == 0
    reasons = {(skip.kind, skip.reason) for skip in summary.skipped}
    assert reasons == {
        ("events", "its artifact is neither in the batch nor in the store"),
        ("events", "its execution is neither in the batch nor in the store"),
        ("metrics", "its execution is neither in the batch nor in the store"),
    }


def test_a_stage_missing_from_the_batch_and_the_store_skips_its_executions(
    store_url: str,
) -> None:
    with Store(store_url) as store:
        summary = merge_records(store, batch(stages=[]))
        assert store.count("executions") == 0
    assert summary.executions.skipped == 1
    assert summary.events.skipped == 2 and summary.metrics.skipped == 3


def test_two_versions_of_one_record_in_a_batch_are_reported(store_url: str) -> None:
    with Store(store_url) as store:
        summary = merge_records(
            store,
            batch(
                executions=[execution(), execution(command="python other.py")],
                artifacts=[artifact(RAW, ArtifactType.DATASET), artifact(RAW, ArtifactType.MODEL)],
                metrics=[metric("accuracy", 0.9), metric("accuracy", 0.8)],
            ),
        )
        assert store.get_execution(RUN).command == "python train.py"
    assert {c.kind for c in summary.conflicts} == {"executions", "artifacts", "metrics"}


@pytest.mark.parametrize("size", [1_200])
def test_a_batch_larger_than_a_chunk_is_merged_whole(store_url: str, size: int) -> None:
    runs = [f"0195a000-0000-7000-8000-{i:012d}" for i in range(size)]
    big = batch(
        executions=[execution(id=run) for run in runs],
        events=[event(RAW, EventDirection.INPUT, "data/raw.csv", run=run) for run in runs],
        metrics=[metric("accuracy", i / size, run=run) for i, run in enumerate(runs)],
    )
    done: list[int] = []
    with Store(store_url) as store:
        summary = merge_records(store, big, progress=done.append)
        again = merge_records(store, big)
        assert store.count("executions") == size
    assert summary.executions.new == summary.events.new == summary.metrics.new == size
    assert again.executions.unchanged == again.metrics.unchanged == size
    assert sum(done) == len(big)
