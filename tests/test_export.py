"""Exports: JSON, Mermaid and DOT of lineage graphs; OpenLineage events and PROV-JSON of runs.

The OpenLineage and PROV-JSON output is checked three ways: read back by the
reference library (openlineage-python's classes, prov's ProvDocument), validated
against the JSON schemas in tests/schemas/ (written from the published
specifications), and compared with the hand-built graph's known contents.
"""

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from test_lineage import Graph, digest

from cmf_core.errors import ConfigError, InvalidInputError, NotFoundError
from cmf_core.graph import export
from cmf_core.graph.export import runs as export_runs
from cmf_core.graph.lineage import ArtifactNode, LineageGraph, lineage
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

SCHEMAS = Path(__file__).parent / "schemas"


def parse_dot(text: str) -> Any:
    """The graph pydot reads from ``text`` (pydot still calls pyparsing's old names)."""
    import warnings

    import pydot

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1
    return graphs[0]


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def runs(store: Store) -> Graph:
    """prepare (completed, with Git and params) → train (completed), a failed train, one running."""
    g = Graph(store)
    g.run(
        "prep",
        "prepare",
        ("raw",),
        ("clean",),
        pipeline="fraud",
        params={"seed": 1, "split": [0.8, 0.2]},
        git_remote="https://example.com/team/fraud.git",
        git_branch="main",
        git_commit_start="c" * 40,
        site="dc-lyon",
    )
    g.run("train", "train", ("clean",), ("model",), pipeline="fraud", site="dc-lyon")
    g.run("bad", "train", ("clean",), (), pipeline="fraud", status=ExecutionStatus.FAILED)
    g.start("live", "evaluate", pipeline="fraud")
    g.log("live", "model", EventDirection.INPUT)
    g.run("other", "train", ("raw",), ("model_other",), pipeline="churn")
    return g


def test_json_export_is_the_graph_record_and_reads_back(runs: Graph) -> None:
    graph = lineage(runs.store, digest("model"), direction="both")
    text = export.to_json(graph)
    assert LineageGraph.model_validate_json(text) == graph
    assert json.loads(text)["start"] == digest("model")


def test_mermaid_is_a_flowchart_with_safe_ids_and_escaped_labels(store: Store) -> None:
    g = Graph(store)
    nasty = 'data/"quoted" [x] #1 <b>end</b>\nline2.csv'
    g.start("e", "train")
    g.log("e", "raw", EventDirection.INPUT, path=nasty)
    g.log("e", "model", EventDirection.OUTPUT)
    store.end_execution(g.ids["e"], status=ExecutionStatus.FAILED, error="x")
    text = export.to_mermaid(lineage(store, digest("model")))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    node = re.compile(r'^    n\d+(\[\("[^"\n]*"\)\]|\["[^"\n]*"\])$')
    edge = re.compile(r'^    n\d+ -->(\|"[^"\n]*"\|)? n\d+$')
    other = re.compile(r"^    (class n\d+ \w+|classDef \w+ fill:#[0-9a-f]{6})$")
    assert all(node.match(x) or edge.match(x) or other.match(x) for x in lines[1:]), text
    assert "#34;quoted#34; #91;x#93; #35;1 #60;b#62;end#60;/b#62;#10;line2.csv" in text
    assert re.search(r"^    class n1 failed$", text, flags=re.M)
    decoded = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)
    assert nasty in decoded


def test_dot_reads_back_with_the_same_nodes_edges_and_labels(runs: Graph) -> None:
    graph = lineage(runs.store, digest("clean"), direction="both")
    text = export.to_dot(graph)
    parsed = parse_dot(text)
    ids = {n.get_name().strip('"') for n in parsed.get_nodes()} - {"node", "edge"}
    keys = {n.digest if isinstance(n, ArtifactNode) else n.id for n in graph.nodes}
    assert ids == keys
    edges = {
        (e.get_source().strip('"'), e.get_destination().strip('"')) for e in parsed.get_edges()
    }
    assert edges == {(e.source, e.target) for e in graph.edges}
    bad = parsed.get_node(f'"{runs.ids["bad"]}"')[0]
    assert bad.get("fillcolor") == '"#f8d7da"'


def test_dot_escapes_quotes_backslashes_and_newlines(store: Store) -> None:
    g = Graph(store)
    g.start("e", "train")
    g.log("e", "raw", EventDirection.INPUT, path='a "b" \\c\nd')
    text = export.to_dot(lineage(store, digest("raw"), direction="downstream"))
    assert r'[label="a \"b\" \\c\nd"]' in text
    assert len(parse_dot(text).get_edges()) == 1


def test_pipeline_graph_holds_the_pipeline_and_stops_at_the_limit(
    runs: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_runs, "BATCH", 2)  # several pages
    graph = export.pipeline_graph(runs.store, "fraud")
    executions = {n.id for n in graph.nodes if not isinstance(n, ArtifactNode)}
    assert executions == {runs.ids[n] for n in ("prep", "train", "bad", "live")}
    assert {n.digest for n in graph.nodes if isinstance(n, ArtifactNode)} == {
        digest(n) for n in ("raw", "clean", "model")
    }
    assert (graph.start, graph.start_kind, graph.truncated, len(graph.edges)) == (
        None,
        "pipeline",
        False,
        6,
    )
    cut = export.pipeline_graph(runs.store, "fraud", limit=4)
    assert (len(cut.nodes), cut.truncated_reason) == (3, "limit")  # prep, raw, clean
    with pytest.raises(NotFoundError, match="churn, fraud"):
        export.pipeline_graph(runs.store, "nope")


def test_openlineage_events_follow_each_run_and_meet_the_schema(runs: Graph) -> None:
    from openlineage.client import event_v2 as ol

    events = list(export.to_openlineage(runs.store, pipeline="fraud", namespace="team"))
    check = validator("openlineage-run-event.json")
    for event in events:
        check.validate(event)
        rebuilt = ol.RunEvent(  # the library's own validators: uuid runId, ISO time, URIs
            eventType=ol.RunState(event["eventType"]),
            eventTime=event["eventTime"],
            run=ol.Run(runId=event["run"]["runId"]),
            job=ol.Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
            inputs=[
                ol.InputDataset(namespace=d["namespace"], name=d["name"]) for d in event["inputs"]
            ],
            producer=event["producer"],
        )
        assert rebuilt.run.runId == event["run"]["runId"]
    names = {v: k for k, v in runs.ids.items()}
    assert [(names[e["run"]["runId"]], e["eventType"]) for e in events] == [
        ("prep", "START"),
        ("prep", "COMPLETE"),
        ("train", "START"),
        ("train", "COMPLETE"),
        ("bad", "START"),
        ("bad", "FAIL"),
        ("live", "START"),
    ]
    prep_done = events[1]
    assert prep_done["job"] | {"facets": None} == {
        "namespace": "team",
        "name": "fraud.prepare",
        "facets": None,
    }
    assert prep_done["job"]["facets"]["sourceCodeLocation"]["version"] == "c" * 40
    assert [
        (d["name"], d["facets"]["version"]["datasetVersion"]) for d in prep_done["outputs"]
    ] == [("clean", digest("clean"))]
    parameters = prep_done["run"]["facets"]["executionParameters"]["parameters"]
    assert parameters == [{"key": "seed", "value": "1"}, {"key": "split", "value": "[0.8, 0.2]"}]
    assert events[0]["outputs"] == [] and events[0]["inputs"][0]["name"] == "raw"
    assert events[5]["run"]["facets"]["errorMessage"]["message"] == "RuntimeError: boom"
    assert events[6]["inputs"][0]["facets"]["datasetType"]["datasetType"] == "MODEL"


def test_openlineage_schema_rejects_what_the_spec_forbids() -> None:
    check = validator("openlineage-run-event.json")
    good = {
        "eventType": "START",
        "eventTime": "2025-01-01T00:00:00+00:00",
        "producer": "urn:cmf:exporter",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "01900000-0000-7000-8000-000000000001"},
        "job": {"namespace": "cmf", "name": "p.s"},
    }
    check.validate(good)
    for broken in (
        {**good, "run": {"runId": "not-a-uuid"}},
        {**good, "eventTime": "yesterday"},
        {**good, "job": {"namespace": "cmf"}},
        {**good, "eventType": "PAUSED"},
        {**good, "inputs": [{"namespace": "cmf", "name": "x", "facets": {"version": {}}}]},
    ):
        assert not check.is_valid(broken), broken


def test_openlineage_and_prov_of_a_node_cover_its_lineage_executions(runs: Graph) -> None:
    graph = lineage(runs.store, digest("clean"), direction="downstream", depth=1)
    ids = [n.id for n in graph.nodes if not isinstance(n, ArtifactNode)]
    events = list(export.to_openlineage(runs.store, execution_ids=ids))
    assert {e["run"]["runId"] for e in events} == {runs.ids["train"], runs.ids["bad"]}
    document = json.loads(export.to_prov(runs.store, execution_ids=ids))
    assert len(document["activity"]) == 2


def test_prov_json_reads_back_with_prov_and_meets_the_schema(runs: Graph) -> None:
    from prov.model import (
        ProvActivity,
        ProvAgent,
        ProvDocument,
        ProvEntity,
        ProvGeneration,
        ProvUsage,
    )

    text = export.to_prov(runs.store)
    validator("prov-json.json").validate(json.loads(text))
    document = ProvDocument.deserialize(content=text, format="json")
    counts = Counter(type(r).__name__ for r in document.get_records())
    assert counts == {
        ProvActivity.__name__: 5,
        ProvEntity.__name__: 4,  # raw, clean, model, model_other
        ProvUsage.__name__: 5,
        ProvGeneration.__name__: 3,
        ProvAgent.__name__: 1,
        "ProvAssociation": 2,
    }
    entities = {str(r.identifier) for r in document.get_records(ProvEntity)}
    assert f"artifact:{digest('model')}" in entities
    prep = document.get_record(f"execution:{runs.ids['prep']}")[0]
    attributes = {str(k): v for k, v in prep.attributes}
    assert attributes["cmf:gitCommit"] == "c" * 40
    assert json.loads(attributes["cmf:params"]) == {"seed": 1, "split": [0.8, 0.2]}
    generated = {
        (str(r.formal_attributes[0][1]), str(r.formal_attributes[1][1]))
        for r in document.get_records(ProvGeneration)
    }
    assert (f"artifact:{digest('clean')}", f"execution:{runs.ids['prep']}") in generated


@pytest.mark.parametrize(
    ("module", "call", "extra"),
    [
        ("openlineage", lambda s: list(export.to_openlineage(s)), "cmf[openlineage]"),
        ("prov", lambda s: export.to_prov(s), "cmf[prov]"),
        ("openlineage", lambda s: export.export_lineage(s, "openlineage"), "cmf[openlineage]"),
    ],
)
def test_a_missing_optional_package_names_the_extra_to_install(
    runs: Graph, monkeypatch: pytest.MonkeyPatch, module: str, call: Any, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    for name in [m for m in sys.modules if m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigError, match=re.escape(f"pip install '{extra}'")):
        call(runs.store)


def test_export_lineage_checks_its_arguments_before_it_streams(runs: Graph) -> None:
    with pytest.raises(InvalidInputError, match="use one of json, mermaid, dot, openlineage"):
        export.export_lineage(runs.store, "csv")
    with pytest.raises(InvalidInputError, match="name a node"):
        export.export_lineage(runs.store, "dot")
    lines = "".join(export.export_lineage(runs.store, "openlineage", pipeline="churn"))
    assert [json.loads(x)["eventType"] for x in lines.splitlines()] == ["START", "COMPLETE"]
    text = "".join(export.export_lineage(runs.store, "mermaid", node="model", view="artifacts"))
    assert text.startswith("flowchart LR\n") and text.count("[(") == 3


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cmf_export_writes_every_format(runs: Graph, store_url: str, bare_project: Path) -> None:
    code, out, _ = invoke(store_url, "export", digest("model"), "--format", "json")
    assert code == 0 and json.loads(out)["start"] == digest("model")
    code, out, _ = invoke(store_url, "export", "--pipeline", "fraud", "--format", "mermaid")
    assert (
        code == 0
        and out.startswith("flowchart LR\n")
        and out.count(" --> ") + out.count(" -->|") == 6
    )
    code, out, _ = invoke(
        store_url, "export", runs.ids["train"], "--format", "dot", "--view", "executions"
    )
    assert code == 0 and out.startswith("digraph lineage {")
    code, out, _ = invoke(store_url, "export", "--format", "openlineage", "--namespace", "x")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 9 and {e["job"]["namespace"] for e in lines} == {"x"}
    target = bare_project / "out" / "prov.json"
    target.parent.mkdir()
    code, _, err = invoke(
        store_url, "export", "--format", "prov", "--pipeline", "churn", "-o", str(target)
    )
    assert code == 0 and "Wrote" in err
    assert len(json.loads(target.read_text())["activity"]) == 1


def test_cmf_export_of_a_graph_needs_a_node_or_a_pipeline(
    runs: Graph, store_url: str, bare_project: Path
) -> None:
    code, _, err = invoke(store_url, "export", "--format", "mermaid")
    assert code == 2 and "Name a NODE or a --pipeline" in err
    code, _, err = invoke(store_url, "export", "--format", "prov", "--pipeline", "nope")
    assert code == 1 and "No pipeline 'nope'" in err


def test_prov_json_quotes_a_site_name_with_a_space_and_a_hash(store: Store) -> None:
    from prov.model import ProvAgent, ProvDocument

    g = Graph(store)
    g.run("edge", "train", ("raw",), ("model",), pipeline="fraud", site="edge lab #2/é")
    g.run("again", "train", ("raw",), ("model2",), pipeline="fraud", site="edge lab #2/é")
    text = export.to_prov(store)
    validator("prov-json.json").validate(json.loads(text))
    assert list(json.loads(text)["agent"]) == ["site:edge%20lab%20%232%2F%C3%A9"]
    document = ProvDocument.deserialize(content=text, format="json")
    (agent,) = document.get_records(ProvAgent)
    assert agent.identifier.uri == f"{export.PROV_BASE}site:edge%20lab%20%232%2F%C3%A9"
    assert {str(k): v for k, v in agent.attributes}["prov:label"] == "edge lab #2/é"
    assert len(json.loads(text)["wasAssociatedWith"]) == 2
