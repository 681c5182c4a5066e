"""The synthetic store generator of bench/: a small store keeps the promises benches rely on."""

import importlib.util
import sys
import uuid
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store

ROOT = Path(__file__).resolve().parents[1]


def _load_synthetic() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_synthetic", ROOT / "bench" / "synthetic.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


synthetic = _load_synthetic()


def _upstream_depth(store: Store, digest: str) -> int:
    """How many hops a breadth-first upstream walk from ``digest`` goes before it runs out."""
    seen, frontier, depth = {digest}, [digest], 0
    while frontier:
        producers: list[str] = []
        for artifact in frontier:
            for event in store.get_artifact_detail(artifact).events:
                if event.direction is EventDirection.OUTPUT and event.execution_id not in seen:
                    seen.add(event.execution_id)
                    producers.append(event.execution_id)
        inputs: list[str] = []
        for execution_id in producers:
            for read in store.get_execution_detail(execution_id).inputs:
                if read.artifact.digest not in seen:
                    seen.add(read.artifact.digest)
                    inputs.append(read.artifact.digest)
        depth += bool(producers) + bool(inputs)
        frontier = inputs
    return depth


def test_a_generated_store_holds_the_rows_it_reports_and_every_event_joins(store_url: str) -> None:
    made = synthetic.generate(store_url, executions=200, pipelines=3, batch=64)
    with Store(store_url) as store:
        assert (store.count("executions"), store.count("pipelines")) == (200, 3)
        assert store.count("artifacts") == made.artifacts
        assert store.count("metrics") == made.metrics
        assert store.count("events") == made.events > 2 * 200
        executions = store.list_executions(limit=1000)
        joined, readers = 0, defaultdict(set)
        for execution in executions:
            detail = store.get_execution_detail(execution.id)
            joined += len(detail.inputs) + len(detail.outputs)
            for read in detail.inputs:
                readers[read.artifact.digest].add(execution.pipeline)
            for event in detail.inputs:  # nothing is read before it was written
                assert event.artifact.created_at <= execution.started_at
            for event in detail.outputs:
                assert event.artifact.created_at == execution.ended_at
            if execution.status is not ExecutionStatus.COMPLETED:
                assert detail.outputs == []
        assert joined == made.events  # so every event names an existing execution and artifact
        assert any(len(pipelines) > 1 for pipelines in readers.values())  # shared datasets
        assert {e.status for e in executions} == set(ExecutionStatus)
        assert len({e.environment_digest for e in executions}) > 1
        environment = store.get_artifact_detail(executions[0].environment_digest or "")
        assert environment.artifact.type is ArtifactType.ENVIRONMENT
        assert "numpy" in environment.artifact.properties["packages"]


def test_execution_ids_are_uuid7_of_their_start_time_in_time_order(store_url: str) -> None:
    synthetic.generate(store_url, executions=200, pipelines=3)
    with Store(store_url) as store:
        executions = store.list_executions(limit=1000)[::-1]  # oldest first
    ids = [uuid.UUID(e.id) for e in executions]
    assert {u.version for u in ids} == {7}
    assert ids == sorted(ids) and len(set(ids)) == 200
    for execution, id in zip(executions, ids, strict=True):
        assert execution.started_at.tzinfo is not None
        assert id.int >> 80 == round(execution.started_at.timestamp() * 1000)
    starts = [e.started_at for e in executions]
    assert starts == sorted(starts) and len(set(starts)) == 200


def test_the_anchors_are_a_deep_model_and_a_comparable_pair(store_url: str) -> None:
    made = synthetic.generate(store_url, executions=200, pipelines=3)
    with Store(store_url) as store:
        deep = store.get_artifact_detail(made.deep_artifact).artifact
        assert deep.type is ArtifactType.MODEL
        assert made.deep_chain_hops >= 100
        assert _upstream_depth(store, made.deep_artifact) >= made.deep_chain_hops
        first, second = (store.get_execution_detail(id) for id in made.pair)
        assert first.execution.id != second.execution.id
        assert (first.execution.pipeline, first.execution.stage) == ("synth-00", "train")
        assert (second.execution.pipeline, second.execution.stage) == ("synth-00", "train")
        assert first.execution.status is second.execution.status is ExecutionStatus.COMPLETED
        assert first.execution.params != second.execution.params
        assert first.metrics != second.metrics
        inputs = [{e.artifact.digest for e in d.inputs} for d in (first, second)]
        assert inputs[0] != inputs[1]
        assert made.model_digest in {e.artifact.digest for e in first.outputs}
        # The store takes ordinary writes afterwards (PostgreSQL's id sequences moved on).
        store.ensure_stage("after", "train")
        row = ArtifactRow(
            digest="md5:" + "0" * 32, type="dataset", size=1, nfiles=None, properties={}
        )
        assert store.record_artifact(row).digest == row.digest


def test_the_same_seed_makes_the_same_store_and_another_seed_another(tmp_path: Path) -> None:
    made = [
        synthetic.generate(f"sqlite:///{tmp_path / name}", executions=300, pipelines=3, seed=seed)
        for name, seed in (("a.db", 1), ("b.db", 1), ("c.db", 2))
    ]
    anchors = [{k: v for k, v in asdict(m).items() if k not in ("url", "seconds")} for m in made]
    assert anchors[0] == anchors[1] != anchors[2]


def test_ensure_reuses_a_store_made_with_the_same_parameters_and_remakes_it_otherwise(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    made = synthetic.ensure(url, executions=150, pipelines=3)
    again = synthetic.ensure(url, executions=150, pipelines=3)
    assert (made.reused, again.reused) == (False, True)
    assert again.pair == made.pair and again.deep_artifact == made.deep_artifact
    other = synthetic.ensure(url, executions=150, pipelines=3, seed=5)
    assert not other.reused and other.pair != made.pair
    with Store(url) as store:
        assert store.count("executions") == 150


def test_ensure_leaves_a_store_it_did_not_make_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    with Store(url) as store:
        store.ensure_stage("mine", "train")
    with pytest.raises(ValueError, match="not made by synthetic.py"):
        synthetic.ensure(url, executions=150, pipelines=3)
    with pytest.raises(ValueError, match="not empty"):
        synthetic.generate(url, executions=150, pipelines=3)


def test_uuid7_encodes_the_millisecond_and_the_version() -> None:
    at = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    ms = int(at.timestamp() * 1000)
    made = uuid.UUID(synthetic.uuid7(ms, 0xFFFF, 2**64 - 1))
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert made.int >> 80 == ms
    assert synthetic.uuid7(ms, 0, 0) < synthetic.uuid7(ms, 1, 0) < synthetic.uuid7(ms + 1, 0, 0)
