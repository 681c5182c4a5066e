"""The MCP `annotate` tool and the labels every read tool shows, through the real client."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_support import MODES, connect, drive, make_server, over_http, text, write
from test_mcp_transports import http_server

from cmf_mcp.mcp.server import CmfServer

__all__ = ["http_server"]  # the fixture, used by name


@pytest.fixture
def server(bare_project: Path, store_url: str) -> Iterator[CmfServer]:
    made = make_server(store_url)
    yield made
    made.close()


def run(client: Any, stage: str, inputs: list[str], outputs: list[tuple[str, str]]) -> str:
    """Record one run through the tools; outputs are (path, type)."""
    started = client.ok("start_execution", {"pipeline": "fraud", "stage": stage})
    execution = started["execution_id"]
    for path in inputs:
        client.ok("log_artifact", {"execution_id": execution, "path": path, "event": "input"})
    for path, kind in outputs:
        write(Path(path), f"{path} made by {stage}")
        arguments = {"execution_id": execution, "path": path, "event": "output", "type": kind}
        client.ok("log_artifact", arguments)
    client.ok("end_execution", {"execution_id": execution})
    return str(execution)


def pipeline(client: Any) -> dict[str, str]:
    """raw.csv -> prepare -> clean.csv -> train (twice) -> two models; and an unrelated run."""
    write(Path("data/raw.csv"), "a,b\n1,2\n")
    write(Path("data/other.csv"), "c\n3\n")
    ids = {"prepare": run(client, "prepare", ["data/raw.csv"], [("data/clean.csv", "dataset")])}
    ids["train1"] = run(client, "train", ["data/clean.csv"], [("models/m1.pkl", "model")])
    ids["train2"] = run(client, "train", ["data/clean.csv"], [("models/m2.pkl", "model")])
    ids["other"] = run(client, "train", ["data/other.csv"], [("models/m3.pkl", "model")])
    return ids


@pytest.mark.parametrize("mode", MODES)
def test_which_models_are_downstream_of_the_snapshot_marked_bad(
    server: CmfServer, mode: str
) -> None:
    with connect(server, mode) as client:
        pipeline(client)
        marked = client.ok(
            "annotate",
            {"reference": "data/raw.csv", "key": "quality", "value": "bad", "note": "label noise"},
        )
        client.ok("annotate", {"reference": "models/m1.pkl", "key": "stage", "value": "prod"})
        # the one call that answers the question
        answer = client.call(
            "query_lineage",
            {"node": "data/raw.csv", "direction": "downstream", "view": "artifacts", "depth": 10},
        )
    assert (marked["target_kind"], marked["labels"]) == ("artifact", {"quality": "bad"})
    assert marked["author"]  # no Git here: the OS user
    nodes = answer.structured_content["nodes"]
    by_path = {n["paths"][0]: n for n in nodes}
    assert set(by_path) == {"data/raw.csv", "data/clean.csv", "models/m1.pkl", "models/m2.pkl"}
    assert by_path["data/raw.csv"]["labels"] == {"quality": "bad"}
    assert by_path["models/m1.pkl"]["labels"] == {"stage": "prod"}
    assert by_path["models/m2.pkl"]["labels"] is None
    shown = text(answer)
    assert 'labels [user data]: {"quality": "bad"}' in shown
    assert 'labels [user data]: {"stage": "prod"}' in shown


def test_labels_show_in_get_and_search_tools_and_filter_them(server: CmfServer) -> None:
    with connect(server) as client:
        ids = pipeline(client)
        client.ok("annotate", {"reference": ids["train1"][:13], "key": "verdict", "value": "best"})
        client.ok("annotate", {"reference": ids["train2"], "key": "verdict", "value": "dead-end"})
        client.ok("annotate", {"reference": ids["train2"], "key": "verdict", "value": "meh"})
        client.ok("annotate", {"reference": "data/raw.csv", "key": "quality", "value": "bad"})
        execution = client.ok("get_execution", {"execution_id": ids["train2"]})
        artifact = client.ok("get_artifact", {"reference": "data/raw.csv"})
        found = client.ok("search_executions", {"where": 'labels.verdict = "best"'})
        meh = client.call("search_executions", {"where": 'labels.verdict != "best"'})
        bad = client.ok("search_artifacts", {"where": 'labels.quality = "bad"'})
        listed = client.ok("search_executions", {"stage": "train"})
    assert execution["execution"]["labels"] == {"verdict": "meh"}
    assert artifact["labels"] == {"quality": "bad"}
    assert [e["id"] for e in found["items"]] == [ids["train1"]]
    assert [e["id"] for e in meh.structured_content["items"]] == [ids["train2"]]
    assert 'labels [user data]: {"verdict": "meh"}' in text(meh)
    assert [(a["path"], a["labels"]) for a in bad["items"]] == [
        ("data/raw.csv", {"quality": "bad"})
    ]
    labels = {e["id"]: e["labels"] for e in listed["items"]}
    assert labels == {
        ids["train1"]: {"verdict": "best"},
        ids["train2"]: {"verdict": "meh"},
        ids["other"]: None,
    }


def test_labels_per_record_are_bounded(bare_project: Path, sqlite_url: str) -> None:
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            ids = pipeline(client)
            for i in range(25):
                value = f"{i}-" + "v" * 500
                client.ok(
                    "annotate", {"reference": ids["other"], "key": f"k{i:02}", "value": value}
                )
            view = client.ok("get_execution", {"execution_id": ids["other"]})["execution"]
            row = client.ok("search_executions", {"where": "labels.k00 is not null"})["items"][0]
    finally:
        server.close()
    assert len(view["labels"]) == 20
    assert 190 <= len(view["labels"]["k00"]) <= 200 and view["labels"]["k00"].endswith("…")
    assert len(row["labels"]) == 10
    assert 90 <= len(row["labels"]["k00"]) <= 100 and row["labels"]["k00"].endswith("…")


def test_bad_annotations_are_refused_with_what_to_do(server: CmfServer) -> None:
    with connect(server) as client:
        ids = pipeline(client)
        spaced = client.error("annotate", {"reference": ids["other"], "key": "a b", "value": "x"})
        lines = client.error(
            "annotate", {"reference": ids["other"], "key": "k", "value": "two\nlines"}
        )
        unknown = client.error(
            "annotate", {"reference": "data/nothing.csv", "key": "k", "value": "x"}
        )
        view = client.ok("get_execution", {"execution_id": ids["other"]})
    assert "key" in spaced
    assert "one line" in lines
    assert "No artifact was logged under the path" in unknown and "search_artifacts" in unknown
    assert view["execution"]["labels"] is None


def test_a_read_only_server_does_not_offer_annotate(bare_project: Path, sqlite_url: str) -> None:
    writer = make_server(sqlite_url)
    with connect(writer) as client:
        pipeline(client)
    writer.close()
    server = make_server(sqlite_url, read_only=True)
    try:
        with connect(server) as client:
            names = {t.name for t in client.run("list_tools").tools}
            refused = client.error("annotate", {"reference": "data/raw.csv", "key": "k"})
    finally:
        server.close()
    assert "annotate" not in names and "get_artifact" in names
    assert "Unknown tool" in refused


def test_over_http_the_author_is_the_token_and_a_read_token_cannot_annotate(
    http_server: tuple[str, dict[str, str]], bare_project: Path
) -> None:
    url, secrets = http_server
    write(Path("data/raw.csv"), "a\n")
    with drive(over_http(url, secrets["write"])) as client:
        started = client.ok("start_execution", {"pipeline": "p", "stage": "s"})
        arguments = {"execution_id": started["execution_id"], "path": "data/raw.csv"}
        client.ok("log_artifact", {**arguments, "event": "input"})
        said = client.ok("annotate", {"reference": "data/raw.csv", "key": "quality", "value": "ok"})
    with drive(over_http(url, secrets["read"])) as client:
        refused = client.call("annotate", {"reference": "data/raw.csv", "key": "q", "value": "x"})
        seen = client.ok("get_artifact", {"reference": "data/raw.csv"})
    assert said["author"] == "write"
    assert refused.is_error and text(refused) != "Error executing tool annotate"
    assert seen["labels"] == {"quality": "ok"}
