"""Lineage, trace and impact on hand-built graphs whose answers are known, on both backends."""

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.graph.lineage import ArtifactNode, ExecutionNode, LineageGraph, lineage
from cmf_core.graph.lookup import resolve_reference
from cmf_core.graph.trace import impact, trace
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def digest(name: str) -> str:
    return "md5:" + hashlib.md5(name.encode()).hexdigest()


class Graph:
    """Records executions with named artifacts straight through Store methods.

    Execution ids are ``e<n>`` padded to a UUID's shape and start one minute
    apart, so start order is creation order. An artifact named ``model…`` is a
    model, ``env…`` an environment, anything else a dataset; its path is its name.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ids: dict[str, str] = {}

    def artifact(self, name: str) -> ArtifactRow:
        kind = "model" if name.startswith("model") else "dataset"
        kind = "environment" if name.startswith("env") else kind
        return ArtifactRow(
            digest=digest(name), type=kind, size=len(name), nfiles=None, properties={}
        )

    def start(self, name: str, stage: str, *, pipeline: str = "p", **columns: object) -> str:
        number = len(self.ids) + 1
        execution_id = f"01900000-0000-7000-8000-{number:012d}"
        self.ids[name] = execution_id
        stage_id = self.store.ensure_stage(pipeline, stage)
        self.store.start_execution(
            id=execution_id,
            stage_id=stage_id,
            started_at=T0 + timedelta(minutes=number),
            **columns,
        )
        return execution_id

    def log(self, name: str, artifact: str, direction: EventDirection, path: str = "") -> None:
        self.store.record_artifact(
            self.artifact(artifact),
            execution_id=self.ids[name],
            direction=direction,
            path=path or artifact,
        )

    def run(
        self,
        name: str,
        stage: str,
        inputs: tuple[str, ...] = (),
        outputs: tuple[str, ...] = (),
        *,
        pipeline: str = "p",
        status: ExecutionStatus = ExecutionStatus.COMPLETED,
        **columns: object,
    ) -> str:
        commit_end = columns.pop("git_commit_end", None)
        execution_id = self.start(name, stage, pipeline=pipeline, **columns)
        for artifact in inputs:
            self.log(name, artifact, EventDirection.INPUT)
        for artifact in outputs:
            self.log(name, artifact, EventDirection.OUTPUT)
        error = "RuntimeError: boom" if status is ExecutionStatus.FAILED else None
        self.store.end_execution(
            execution_id,
            status=status,
            error=error,
            git_commit_end=None if commit_end is None else str(commit_end),
        )
        return execution_id


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def graph(store: Store) -> Graph:
    return Graph(store)


def hops(result: LineageGraph, g: Graph) -> dict[str, int | None]:
    """Node name → hop, naming executions by their Graph name and artifacts by digest name."""
    names = {v: k for k, v in g.ids.items()}
    found: dict[str, int | None] = {}
    for node in result.nodes:
        if isinstance(node, ArtifactNode):
            found[node.paths[0] if node.paths else node.digest] = node.hop
        else:
            found[names[node.id]] = node.hop
    return found


def named_edges(result: LineageGraph, g: Graph) -> set[tuple[str, str, str]]:
    names = {v: k for k, v in g.ids.items()} | {
        digest(n): n
        for n in (node.paths[0] for node in result.nodes if isinstance(node, ArtifactNode))
    }
    return {
        (names[e.source], names[e.target], e.kind if e.via is None else names[e.via])
        for e in result.edges
    }


def diamond(g: Graph) -> None:
    """raw → split → (a, b); a → fa → c; b → fb → d; (c, d) → join → model."""
    g.run("split", "split", ("raw",), ("a", "b"))
    g.run("fa", "featurize", ("a",), ("c",))
    g.run("fb", "featurize", ("b",), ("d",))
    g.run("join", "train", ("c", "d"), ("model",))


def test_upstream_lineage_of_a_diamond_reaches_each_node_once_at_its_hop(graph: Graph) -> None:
    diamond(graph)
    result = lineage(graph.store, digest("model"))
    assert hops(result, graph) == {
        "model": 0,
        "join": 1,
        "c": 2,
        "d": 2,
        "fa": 3,
        "fb": 3,
        "a": 4,
        "b": 4,
        "split": 5,
        "raw": 6,
    }
    assert named_edges(result, graph) == {
        ("raw", "split", "input"),
        ("split", "a", "output"),
        ("split", "b", "output"),
        ("a", "fa", "input"),
        ("fa", "c", "output"),
        ("b", "fb", "input"),
        ("fb", "d", "output"),
        ("c", "join", "input"),
        ("d", "join", "input"),
        ("join", "model", "output"),
    }
    assert (result.truncated, result.truncated_reason, result.depth_reached) == (False, None, 6)
    assert [n.hop for n in result.nodes] == sorted(n.hop or 0 for n in result.nodes)


def test_collapsed_views_label_edges_with_what_they_stand_for(graph: Graph) -> None:
    diamond(graph)
    artifacts = lineage(graph.store, digest("model"), view="artifacts")
    assert {type(n) for n in artifacts.nodes} == {ArtifactNode}
    assert named_edges(artifacts, graph) == {
        ("raw", "a", "split"),
        ("raw", "b", "split"),
        ("a", "c", "fa"),
        ("b", "d", "fb"),
        ("c", "model", "join"),
        ("d", "model", "join"),
    }
    assert {e.kind for e in artifacts.edges} == {"derived"}
    executions = lineage(graph.store, digest("model"), view="executions")
    assert {type(n) for n in executions.nodes} == {ExecutionNode}
    by_id = {v: k for k, v in graph.ids.items()}
    assert {(by_id[e.source], by_id[e.target], e.via) for e in executions.edges} == {
        ("split", "fa", digest("a")),
        ("split", "fb", digest("b")),
        ("fa", "join", digest("c")),
        ("fb", "join", digest("d")),
    }


def test_fan_out_downstream_and_fan_in_upstream(graph: Graph) -> None:
    for n in range(3):
        graph.run(f"use{n}", "train", ("shared",), (f"out{n}",))
    graph.run("merge", "merge", ("out0", "out1", "out2"), ("merged",))
    down = lineage(graph.store, digest("shared"), direction="downstream", depth=2)
    assert hops(down, graph) == {
        "shared": 0,
        "use0": 1,
        "use1": 1,
        "use2": 1,
        "out0": 2,
        "out1": 2,
        "out2": 2,
    }
    assert down.truncated_reason == "depth"  # merge lies one hop further
    up = lineage(graph.store, digest("merged"), depth=2)
    assert hops(up, graph) == {"merged": 0, "merge": 1, "out0": 2, "out1": 2, "out2": 2}
    assert len(up.edges) == 4


def test_both_directions_from_an_execution_prefix(graph: Graph) -> None:
    diamond(graph)
    fa = graph.ids["fa"]
    result = lineage(graph.store, fa[:-2] + fa[-2:], direction="both", depth=2)
    assert result.start == fa and result.start_kind == "execution"
    assert hops(result, graph) == {"fa": 0, "a": 1, "c": 1, "split": 2, "join": 2}
    assert result.truncated_reason == "depth"


def test_depth_cut_is_flagged_only_when_something_lies_beyond(graph: Graph) -> None:
    graph.run("e1", "s1", ("raw",), ("a1",))
    graph.run("e2", "s2", ("a1",), ("a2",))
    graph.run("e3", "s3", ("a2",), ("a3",))
    cut = lineage(graph.store, digest("a3"), depth=3)
    assert hops(cut, graph) == {"a3": 0, "e3": 1, "a2": 2, "e2": 3}
    assert (cut.truncated, cut.truncated_reason, cut.depth_reached) == (True, "depth", 3)
    exact = lineage(graph.store, digest("a3"), depth=6)
    assert (exact.truncated, exact.depth_reached, len(exact.nodes)) == (False, 6, 7)


def test_limit_keeps_the_earliest_executions_and_flags_the_cut(graph: Graph) -> None:
    for n in range(5):
        graph.run(f"use{n}", "train", ("shared",), (f"out{n}",))
    result = lineage(graph.store, digest("shared"), direction="downstream", limit=4)
    assert hops(result, graph) == {"shared": 0, "use0": 1, "use1": 1, "use2": 1}
    assert (result.truncated, result.truncated_reason) == (True, "limit")
    assert len(result.edges) == 3
    whole = lineage(graph.store, digest("shared"), direction="downstream", limit=11)
    assert (len(whole.nodes), whole.truncated) == (11, False)


def test_an_execution_that_reads_its_own_output_ends_the_walk(graph: Graph) -> None:
    graph.start("loop", "loop")
    graph.log("loop", "state", EventDirection.OUTPUT)
    graph.log("loop", "state", EventDirection.INPUT)
    for direction in ("upstream", "downstream", "both"):
        result = lineage(graph.store, digest("state"), direction=direction, depth=1000)
        assert hops(result, graph) == {"state": 0, "loop": 1}
        assert named_edges(result, graph) == {
            ("loop", "state", "output"),
            ("state", "loop", "input"),
        }
        assert result.truncated is False
    assert trace(graph.store, digest("state"), depth=1000).producers == [graph.ids["loop"]]
    assert impact(graph.store, digest("state"), depth=1000).execution_count == 1


def test_a_two_execution_cycle_in_corrupt_data_terminates(graph: Graph) -> None:
    graph.start("x", "x")
    graph.start("y", "y")
    graph.log("x", "p", EventDirection.OUTPUT)
    graph.log("y", "p", EventDirection.INPUT)
    graph.log("y", "q", EventDirection.OUTPUT)
    graph.log("x", "q", EventDirection.INPUT)
    result = lineage(graph.store, digest("p"), direction="both", depth=1000)
    assert hops(result, graph) == {"p": 0, "x": 1, "y": 1, "q": 2}
    assert len(result.edges) == 4 and not result.truncated
    assert trace(graph.store, digest("p"), depth=1000).sources == []


def test_trace_lists_producers_with_code_params_and_environment(graph: Graph) -> None:
    graph.run(
        "prep",
        "prepare",
        ("raw",),
        ("clean",),
        params={"seed": 1},
        git_commit_start="a" * 40,
        git_commit_end="b" * 40,
        git_is_dirty=True,
        environment_digest=digest("env1"),
    )
    graph.run("train", "train", ("clean", "labels"), ("model",), params={"lr": 0.1})
    found = trace(graph.store, "model")
    assert found.artifact.digest == digest("model") and found.artifact.is_source is False
    assert found.producers == [graph.ids["train"]]
    assert [(s.execution.stage, s.hop) for s in found.executions] == [("train", 1), ("prepare", 3)]
    prep = found.executions[1]
    assert prep.execution.params == {"seed": 1}
    assert (prep.execution.git_commit_start, prep.execution.git_commit_end) == ("a" * 40, "b" * 40)
    assert prep.execution.git_is_dirty is True
    assert prep.execution.environment_digest == digest("env1")
    assert (prep.inputs, prep.outputs) == ([digest("raw")], [digest("clean")])
    assert sorted(found.sources) == sorted([digest("raw"), digest("labels")])
    by_digest = {a.digest: a for a in found.artifacts}
    assert by_digest[digest("clean")].produced_by == [graph.ids["prep"]]
    assert by_digest[digest("labels")].paths == ["labels"]
    assert not found.truncated


def test_an_artifact_produced_twice_lists_both_producers(graph: Graph) -> None:
    graph.run("first", "train", ("raw1",), ("model",), pipeline="p1")
    graph.run("second", "train", ("raw2",), ("model",), pipeline="p2")
    found = trace(graph.store, digest("model"))
    assert found.producers == sorted([graph.ids["first"], graph.ids["second"]])
    assert sorted(found.sources) == sorted([digest("raw1"), digest("raw2")])
    assert {(s.execution.pipeline, s.hop) for s in found.executions} == {("p1", 1), ("p2", 1)}


def test_trace_of_a_raw_source_is_just_the_source(graph: Graph) -> None:
    graph.run("use", "train", ("raw",), ("model",))
    found = trace(graph.store, digest("raw"))
    assert (found.artifact.is_source, found.producers, found.executions) == (True, [], [])
    assert found.sources == [digest("raw")]


def test_trace_cut_short_says_which_artifacts_it_did_not_look_behind(graph: Graph) -> None:
    graph.run("e1", "s1", ("raw",), ("a1",))
    graph.run("e2", "s2", ("a1", "b1"), ("a2",))
    found = trace(graph.store, digest("a2"), depth=1)
    assert found.truncated_reason == "depth"
    assert [s.execution.stage for s in found.executions] == ["s2"]
    assert found.artifacts == [] and found.sources == []
    deeper = trace(graph.store, digest("a2"), depth=2)  # looks one hop past a1 and b1
    assert {(a.digest, a.is_source) for a in deeper.artifacts} == {
        (digest("a1"), False),
        (digest("b1"), True),
    }
    assert deeper.sources == [digest("b1")] and deeper.truncated_reason == "depth"
    cut = trace(graph.store, digest("a2"), limit=3)
    assert cut.truncated_reason == "limit"
    assert [(a.digest, a.is_source) for a in cut.artifacts] == [
        (min(digest("a1"), digest("b1")), None)
    ]


def test_impact_groups_a_reused_dataset_by_pipeline_and_stage(graph: Graph) -> None:
    graph.run("prep1", "prepare", ("shared",), ("clean1",), pipeline="fraud")
    graph.run("train1", "train", ("clean1",), ("model1",), pipeline="fraud")
    graph.run("train2", "train", ("shared",), ("model2",), pipeline="churn")
    graph.run("bad", "train", ("shared",), (), pipeline="churn", status=ExecutionStatus.FAILED)
    found = impact(graph.store, digest("shared"))
    assert [(g.pipeline, g.stage, [e.id for e in g.executions]) for g in found.groups] == [
        ("churn", "train", [graph.ids["train2"], graph.ids["bad"]]),
        ("fraud", "prepare", [graph.ids["prep1"]]),
        ("fraud", "train", [graph.ids["train1"]]),
    ]
    assert found.groups[0].executions[1].status is ExecutionStatus.FAILED
    assert found.groups[0].outputs == [digest("model2")]
    assert found.execution_count == 4
    assert {a.digest for a in found.artifacts} == {
        digest(n) for n in ("clean1", "model1", "model2")
    }
    assert sorted(m.digest for m in found.end_models) == sorted(
        [digest("model1"), digest("model2")]
    )


def test_a_model_fine_tuned_into_another_is_not_an_end_model(graph: Graph) -> None:
    graph.run("train", "train", ("raw",), ("model_base",))
    graph.run("tune", "tune", ("model_base", "extra"), ("model_tuned",))
    graph.run("eval", "evaluate", ("model_tuned",), ("scores",))
    found = impact(graph.store, digest("raw"))
    assert [m.digest for m in found.end_models] == [digest("model_tuned")]
    from_model = impact(graph.store, digest("model_base"))
    assert [m.digest for m in from_model.end_models] == [digest("model_tuned")]


def test_an_environment_is_never_a_lineage_node(graph: Graph) -> None:
    graph.run("use", "train", ("raw", "env_py311"), ("model",))  # cmflib-style env input
    result = lineage(graph.store, digest("model"))
    assert hops(result, graph) == {"model": 0, "use": 1, "raw": 2}
    with pytest.raises(InvalidInputError, match="environment"):
        lineage(graph.store, digest("env_py311"))


def test_a_recorded_path_names_its_newest_artifact(graph: Graph, tmp_path: Path) -> None:
    graph.run("v1", "train", ("raw",), ("model",))
    graph.start("v2", "train")
    graph.store.record_artifact(
        graph.artifact("model_v2"),
        execution_id=graph.ids["v2"],
        direction=EventDirection.OUTPUT,
        path="model",
    )
    assert resolve_reference(graph.store, "model") == ("artifact", digest("model_v2"))
    root = tmp_path / "proj"
    assert resolve_reference(graph.store, str(root / "model"), project_root=root) == (
        "artifact",
        digest("model_v2"),
    )
    start = lineage(graph.store, "model").nodes[0]
    assert isinstance(start, ArtifactNode) and start.paths == ["model"]


def test_a_hex_name_is_tried_as_id_digest_then_path(graph: Graph) -> None:
    graph.start("e", "train")
    graph.log("e", "beef", EventDirection.OUTPUT, path="cafe")  # a file named like hex
    graph.store.record_artifact(
        ArtifactRow(
            digest="md5:0190" + "0" * 28, type="dataset", size=1, nfiles=None, properties={}
        ),
        execution_id=graph.ids["e"],
        direction=EventDirection.INPUT,
        path="in",
    )
    assert resolve_reference(graph.store, "cafe") == ("artifact", digest("beef"))
    with pytest.raises(InvalidInputError, match="starts both an execution id and an artifact"):
        resolve_reference(graph.store, "0190")


def test_one_hop_reads_a_bounded_number_of_events(graph: Graph) -> None:
    graph.start("e", "train")
    for n in range(10):  # one artifact under ten paths: ten events, one neighbour
        graph.log("e", "shared", EventDirection.INPUT, path=f"copy{n}")
    result = lineage(graph.store, digest("shared"), direction="downstream", limit=2)
    assert hops(result, graph) == {"copy0": 0, "e": 1}
    assert (result.truncated_reason, len(result.edges)) == ("limit", 8)


def test_unknown_digest_suggests_the_nearest_recorded_ones(graph: Graph) -> None:
    graph.run("use", "train", ("raw",), ())
    known = digest("raw")
    typo = known[:-1] + ("0" if known[-1] != "0" else "1")
    with pytest.raises(NotFoundError, match=known):
        lineage(graph.store, typo)
    with pytest.raises(NotFoundError, match=known):
        trace(graph.store, known[4:-1] + typo[-1])  # without md5:, resolved as a prefix
    with pytest.raises(NotFoundError, match=graph.ids["use"]):
        lineage(graph.store, graph.ids["use"][:-1] + "9")
    with pytest.raises(NotFoundError, match="under the path 'data/nowhere.csv'") as missing:
        lineage(graph.store, "data/nowhere.csv")
    assert missing.value.kind is Kind.ARTIFACT


def test_ambiguous_prefixes_list_the_candidates(graph: Graph) -> None:
    graph.run("one", "train", ("raw",), ())
    graph.run("two", "train", ("raw",), ())
    with pytest.raises(InvalidInputError, match=graph.ids["one"]) as info:
        lineage(graph.store, "01900000")
    assert graph.ids["two"] in str(info.value)


@pytest.mark.parametrize(
    ("depth", "limit", "named"),
    [
        (0, 10, "depth"),
        (1001, 10, "depth"),
        (True, 10, "depth"),
        (5, 0, "limit"),
        (5, 100_001, "limit"),
    ],
)
def test_depth_and_limit_outside_their_ranges_are_refused(
    graph: Graph, depth: int, limit: int, named: str
) -> None:
    graph.run("use", "train", ("raw",), ())
    with pytest.raises(InvalidInputError, match=f"{named} must be a whole number from 1 to"):
        lineage(graph.store, digest("raw"), depth=depth, limit=limit)
    with pytest.raises(InvalidInputError, match=named):
        trace(graph.store, digest("raw"), depth=depth, limit=limit)


def test_bad_direction_view_or_execution_for_trace_are_refused(graph: Graph) -> None:
    use = graph.run("use", "train", ("raw",), ())
    with pytest.raises(InvalidInputError, match="direction"):
        lineage(graph.store, digest("raw"), direction="sideways")
    with pytest.raises(InvalidInputError, match="view"):
        lineage(graph.store, digest("raw"), view="tables")
    with pytest.raises(InvalidInputError, match="starts from an artifact"):
        trace(graph.store, use)
    with pytest.raises(InvalidInputError, match="Name an artifact"):
        lineage(graph.store, "  ")


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from cmf_mcp.cli.main import cli

    result = CliRunner().invoke(cli, ["--store", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def recorded(store_url: str, bare_project: Path) -> dict[str, str]:
    """prepare: raw.csv → clean.csv; train (lr=0.1): clean.csv → model.pkl; evaluate fails."""
    from cmf_core.tracking import Cmf

    for name in ("raw.csv", "clean.csv", "model.pkl"):
        (bare_project / name).write_text(name)
    with Cmf(
        pipeline="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        with cmf.execution("prepare") as prep:
            prep.log_dataset("raw.csv")
            prep.log_dataset("clean.csv", event="output")
        with cmf.execution("train", params={"lr": 0.1}) as train:
            train.log_dataset("clean.csv")
            train.log_model("model.pkl")
        with pytest.raises(RuntimeError), cmf.execution("evaluate") as evaluate:
            evaluate.log_model("model.pkl", event="input")
            raise RuntimeError("no GPU")
    return {"prepare": prep.id, "train": train.id, "evaluate": evaluate.id}


def test_cmf_lineage_prints_a_tree_json_and_diagrams(
    recorded: dict[str, str], store_url: str
) -> None:
    code, out, _ = invoke(store_url, "lineage", "model.pkl")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("model md5:") and "model.pkl" in lines[0]
    assert re.search(r"fraud/train " + recorded["train"] + r"\s+completed", out)
    assert "raw.csv" in lines[-2] and lines[-1] == "5 nodes, 4 edges, 4 hops"
    code, out, _ = invoke(store_url, "lineage", "raw.csv", "--direction", "down", "--depth", "1")
    assert code == 0 and "more lies beyond depth 1 (raise --depth)" in out
    code, out, _ = invoke(
        store_url, "lineage", recorded["train"][:13], "--direction", "both", "--json"
    )
    found = json.loads(out)
    assert found["start"] == recorded["train"] and len(found["nodes"]) == 6
    code, out, _ = invoke(
        store_url, "lineage", "model.pkl", "--format", "mermaid", "--view", "artifacts"
    )
    assert out.splitlines()[0] == "flowchart LR" and out.count("[(") == 3
    code, out, _ = invoke(store_url, "lineage", "model.pkl", "--format", "dot")
    assert out.startswith("digraph lineage {") and out.count(" -> ") == 4


def test_cmf_trace_and_impact_print_sections_and_json(
    recorded: dict[str, str], store_url: str
) -> None:
    code, out, _ = invoke(store_url, "trace", "model.pkl")
    assert code == 0
    assert f"{recorded['train']} (made it)" in out and "lr=0.1" in out
    assert re.search(r"raw sources\n  dataset md5:\w+  raw\.csv", out)
    code, out, _ = invoke(store_url, "trace", "model.pkl", "--json")
    assert json.loads(out)["producers"] == [recorded["train"]]
    code, out, _ = invoke(store_url, "impact", "raw.csv")
    assert code == 0
    assert re.search(r"fraud\s+evaluate\s+1\s+1\s+0", out)
    assert re.search(r"models at the end\n  md5:\w+  model\.pkl", out)
    code, out, _ = invoke(store_url, "impact", "raw.csv", "--json")
    assert [g["stage"] for g in json.loads(out)["groups"]] == ["prepare", "train", "evaluate"]
    code, out, _ = invoke(store_url, "trace", "raw.csv")
    assert "it is a raw source" in out
    code, out, _ = invoke(store_url, "impact", "model.pkl", "--depth", "1")
    assert "cut by depth" not in out and "1 executions, 0 artifacts downstream" in out


def test_cmf_lineage_errors_are_one_line_with_exit_status_1(
    recorded: dict[str, str], store_url: str
) -> None:
    code, _, err = invoke(store_url, "lineage", "md5:0000")
    assert code == 1 and err.startswith("Error: No artifact matches 'md5:0000'")
    code, _, err = invoke(store_url, "trace", "model.pkl", "--depth", "0")
    assert code == 1 and "depth must be a whole number from 1 to 1,000" in err
    code, _, err = invoke(store_url, "impact", recorded["train"])
    assert code == 1 and "Impact starts from an artifact" in err


def test_a_hop_with_exactly_as_many_events_as_its_cap_is_not_cut(graph: Graph) -> None:
    # limit=2 gives a cap of 8 events per hop: one output logged under 8 paths fills it.
    graph.start("write", "prepare")
    for n in range(8):
        graph.log("write", "data", EventDirection.OUTPUT, path=f"data/{n}.csv")
    result = lineage(graph.store, graph.ids["write"], direction="downstream", limit=2)
    assert (len(result.nodes), len(result.edges)) == (2, 8)
    assert (result.truncated, result.truncated_reason) == (False, None)
    graph.log("write", "data", EventDirection.OUTPUT, path="data/8.csv")  # one past the cap
    cut = lineage(graph.store, graph.ids["write"], direction="downstream", limit=2)
    assert (cut.truncated, len(cut.edges)) == (True, 8)
    assert sorted(e.path for e in cut.edges) == [f"data/{n}.csv" for n in range(8)]
