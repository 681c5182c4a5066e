"""The MCP tools in memory (both protocol eras): recording runs, reading them back, errors."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_support import MODES, connect, make_server, text, write

from cmf_core.store import Store
from cmf_mcp.mcp.server import CmfServer

RECORDING = {"start_execution", "log_artifact", "log_metrics", "end_execution", "annotate"}
READING = {
    "metric_table",
    "list_pipelines",
    "search_executions",
    "search_artifacts",
    "get_execution",
    "get_artifact",
    "query_lineage",
    "compare_runs",
    "metric_history",
    "reproduce",
    "model_card",
}


@pytest.fixture
def server(bare_project: Path, sqlite_url: str) -> Iterator[CmfServer]:
    made = make_server(sqlite_url)
    yield made
    made.close()


def record_run(client: object, *, lr: float, data: str, accuracy: float) -> dict[str, str]:
    """Play an assistant recording one training run; returns its ids and digests."""
    call = client.ok  # type: ignore[attr-defined]
    started = call(
        "start_execution",
        {"pipeline": "fraud", "stage": "train", "params": {"lr": lr}, "command": "python train.py"},
    )
    run = started["execution_id"]
    write(Path("data/train.csv"), data)
    write(Path("models/model.pkl"), f"model trained on {data} with {lr}")
    dataset = call(
        "log_artifact", {"execution_id": run, "path": "data/train.csv", "event": "input"}
    )
    model = call(
        "log_artifact",
        {"execution_id": run[:23], "path": "models/model.pkl", "event": "output", "type": "model"},
    )
    call("log_metrics", {"execution_id": run, "metrics": {"accuracy": accuracy}})
    for step, loss in enumerate([0.9, 0.5, 0.3]):
        call("log_metrics", {"execution_id": run, "metrics": {"loss": loss}, "step": step})
    ended = call("end_execution", {"execution_id": run})
    assert ended["execution"]["status"] == "completed"
    return {"run": run, "dataset": dataset["digest"], "model": model["digest"]}


@pytest.mark.parametrize("mode", MODES)
def test_an_assistant_records_runs_then_answers_what_produced_the_model_and_what_changed(
    bare_project: Path, store_url: str, mode: str
) -> None:
    server = make_server(store_url)
    try:
        with connect(server, mode) as client:
            first = record_run(client, lr=0.1, data="a,b\n1,2\n", accuracy=0.81)
            second = record_run(client, lr=0.01, data="a,b\n1,2\n3,4\n", accuracy=0.93)

            answer = client.ok("get_artifact", {"reference": "models/model.pkl"})
            assert answer["digest"] == second["model"]
            (producer,) = answer["produced_by"]
            assert (producer["execution_id"], producer["pipeline"], producer["stage"]) == (
                second["run"],
                "fraud",
                "train",
            )
            assert producer["status"] == "completed"
            assert "fraud/train" in text(
                client.call("get_artifact", {"reference": second["model"]})
            )

            changed = client.ok("compare_runs", {"ids": [first["run"], second["run"][:23]]})
            summary = changed["comparison"]["summary"]
            assert summary[0] == "accuracy rose 0.81 → 0.93 (+14.8 %)"
            assert "lr changed 0.1 → 0.01" in summary
            assert any(s.startswith("train inputs differ: data/train.csv") for s in summary)
            params = {p["name"]: p["values"] for p in changed["comparison"]["params"]}
            assert params == {"lr": [0.1, 0.01]}
            shown = text(client.call("compare_runs", {"ids": [first["run"], second["run"]]}))
            assert "- lr changed 0.1 → 0.01" in shown

            b = client.ok("get_execution", {"execution_id": second["run"], "detail": "full"})
            assert [i["digest"] for i in b["inputs"]] == [second["dataset"]]
            assert b["metrics"] == {"accuracy": 0.93} and b["step_metrics"] == {"loss": 3}
            assert b["execution"]["command"] == "python train.py"
            loss = client.ok("metric_history", {"execution_id": second["run"], "name": "loss"})
            assert [p["value"] for p in loss["points"]] == [0.9, 0.5, 0.3]
            upstream = client.ok("query_lineage", {"node": "models/model.pkl", "depth": 2})
            assert {n["id"] for n in upstream["nodes"]} == {
                second["model"],
                second["run"],
                second["dataset"],
            }
    finally:
        server.close()


def test_every_tool_has_an_output_schema_instructions_and_accurate_annotations(
    server: CmfServer,
) -> None:
    with connect(server) as client:
        tools = client.run("list_tools").tools
    names = {t.name for t in tools}
    assert names == READING | RECORDING
    for tool in tools:
        hints = tool.annotations
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert hints is not None and hints.open_world_hint is False, tool.name
        assert hints.read_only_hint is (tool.name not in RECORDING), tool.name
        if tool.name in RECORDING:  # the other hints mean something only for these
            assert hints.destructive_hint is False, tool.name
        assert len(tool.description or "") > 150, tool.name
        for prop, schema in tool.input_schema["properties"].items():
            described = "description" in schema or "$ref" in schema or prop == "detail"
            assert described, (tool.name, prop)
    idempotent = {t.name: t.annotations.idempotent_hint for t in tools if t.annotations}
    assert idempotent["start_execution"] is False and idempotent["end_execution"] is False
    assert idempotent["log_artifact"] is True and idempotent["log_metrics"] is True


def test_a_read_only_server_offers_no_recording_tool(bare_project: Path, sqlite_url: str) -> None:
    server = make_server(sqlite_url, read_only=True)
    try:
        with connect(server, "legacy") as client:
            names = {t.name for t in client.run("list_tools").tools}
            assert names == READING
            assert "Unknown tool" in client.error(
                "start_execution", {"pipeline": "p", "stage": "s"}
            )
    finally:
        server.close()


def test_recording_errors_say_what_to_do_next(server: CmfServer) -> None:
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        client.ok("log_metrics", {"execution_id": run, "metrics": {"acc": 0.5}})
        changed = client.error("log_metrics", {"execution_id": run, "metrics": {"acc": 0.7}})
        assert "never overwritten" in changed
        write(Path("data.csv"), "1")
        client.ok("log_artifact", {"execution_id": run, "path": "data.csv", "event": "input"})
        retyped = client.error(
            "log_artifact",
            {"execution_id": run, "path": "data.csv", "event": "output", "type": "model"},
        )
        assert "type='dataset'" in retyped
        client.ok("end_execution", {"execution_id": run, "status": "failed", "error": "OOM"})
        again = client.error("end_execution", {"execution_id": run})
        assert "already ended" in again and "start a new execution" in again
        unknown = client.error("log_metrics", {"execution_id": "ffffffff", "metrics": {"a": 1}})
        assert "No execution matches 'ffffffff'" in unknown and "search_executions" in unknown
        missing = client.error("get_artifact", {"reference": "md5:0123456789ab"})
        assert "search_artifacts" in missing
        assert "call get_execution with it" in client.error("get_artifact", {"reference": run})


def test_argument_errors_name_each_bad_argument_plainly(server: CmfServer) -> None:
    with connect(server) as client:
        message = client.error("get_execution", {"execution_id": "not an id!", "limit": 0})
    assert message.startswith("Invalid arguments for get_execution: execution_id: ")
    assert "limit: Input should be greater than or equal to 1 (got 0)" in message
    assert "pydantic" not in message and "\n" not in message


def test_errors_show_no_store_url_and_no_path_outside_the_project(
    bare_project: Path, tmp_path: Path, sqlite_url: str
) -> None:
    outside = write(tmp_path / "secret" / "key.txt", "secret")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            messages = [
                client.error(
                    "log_artifact", {"execution_id": run, "path": str(outside), "event": "input"}
                ),
                client.error(
                    "log_artifact",
                    {"execution_id": run, "path": "../secret/key.txt", "event": "input"},
                ),
                client.error(
                    "log_artifact", {"execution_id": run, "path": "nothing.csv", "event": "input"}
                ),
                client.error("get_execution", {"execution_id": "abcd"}),
            ]
    finally:
        server.close()
    for message in messages:
        assert str(tmp_path) not in message and "sqlite" not in message, message
    assert "'nothing.csv' does not exist" in messages[2]


def test_log_artifact_refuses_links_and_paths_that_leave_the_project(
    bare_project: Path, tmp_path: Path, sqlite_url: str
) -> None:
    target = write(tmp_path / "elsewhere" / "data.csv", "outside")
    (bare_project / "link.csv").symlink_to(target)
    write(bare_project / "folder" / "ok.csv", "inside")
    (bare_project / "folder" / "sneaky.csv").symlink_to(target)
    write(bare_project / "inner" / "real.csv", "inside too")
    (bare_project / "inner-link.csv").symlink_to(bare_project / "inner" / "real.csv")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            for path, why in [
                ("link.csv", "symbolic link"),
                ("folder", "holds a symbolic link ('sneaky.csv')"),
                ("data/../../elsewhere/data.csv", "outside the project"),
                (str(target), "The path given is outside the project"),
            ]:
                message = client.error(
                    "log_artifact", {"execution_id": run, "path": path, "event": "input"}
                )
                assert why in message, message
            logged = client.ok(
                "log_artifact", {"execution_id": run, "path": "inner-link.csv", "event": "input"}
            )
            assert logged["path"] == "inner-link.csv"
    finally:
        server.close()
    with Store(sqlite_url) as store:
        assert store.count("artifacts") == 1


def test_log_artifact_reads_inside_the_roots_a_local_client_declares(
    bare_project: Path, tmp_path: Path, sqlite_url: str
) -> None:
    from mcp_types import ListRootsResult, Root

    shared = write(tmp_path / "shared" / "features.csv", "f1,f2\n")

    async def roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=f"file://{tmp_path / 'shared'}", name="shared")])

    for trusted in (True, False):
        server = make_server(sqlite_url, trust_client_roots=trusted)
        try:
            for mode in MODES:
                with connect(server, mode, list_roots_callback=roots) as client:
                    run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})
                    arguments = {
                        "execution_id": run["execution_id"],
                        "path": str(shared),
                        "event": "input",
                    }
                    if trusted:
                        assert client.ok("log_artifact", arguments)["digest"].startswith("md5:")
                    else:
                        assert "outside the project" in client.error("log_artifact", arguments)
        finally:
            server.close()


def test_start_execution_notes_that_code_is_not_versioned_outside_git(
    bare_project: Path, sqlite_url: str
) -> None:
    server = make_server(sqlite_url, capture_git=True)
    try:
        with connect(server) as client:
            started = client.call("start_execution", {"pipeline": "p", "stage": "s"})
    finally:
        server.close()
    assert started.structured_content is not None
    assert started.structured_content["git_commit"] is None
    assert "not in a Git repository" in started.structured_content["notes"][0]
    assert "note: The project is not in a Git repository" in text(started)


def test_start_execution_records_the_git_commit_in_a_repository(
    project: Path, sqlite_url: str
) -> None:
    from conftest import git

    server = make_server(sqlite_url, capture_git=True)
    try:
        with connect(server) as client:
            started = client.ok("start_execution", {"pipeline": "p", "stage": "s"})
    finally:
        server.close()
    assert started["git_commit"] == git(project, "rev-parse", "HEAD")
    assert started["notes"] == []


def test_log_artifact_reports_progress_while_it_hashes(
    server: CmfServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmf_mcp.mcp import state

    monkeypatch.setattr(state, "HEARTBEAT_S", 0.001)
    seen: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, message))

    # Real bytes to hash: 96 MiB take well over the heartbeat interval to read.
    for part in range(3):
        write(Path(f"big/part-{part}.bin"), bytes(range(256)) * (128 << 10))
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        result = client.call(
            "log_artifact",
            {"execution_id": run, "path": "big", "event": "input"},
            progress_callback=progress,
        )
    assert not result.is_error
    assert len(seen) >= 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert all(message and message.startswith("hashing big:") for _, message in seen)


def test_list_pipelines_pages_through_every_pipeline_once(server: CmfServer) -> None:
    with connect(server) as client:
        for number in range(7):
            client.ok("start_execution", {"pipeline": f"p{number}", "stage": "s"})
        names: list[str] = []
        cursor = None
        while True:
            page = client.ok("list_pipelines", {"limit": 3, "cursor": cursor})
            names += [item["name"] for item in page["items"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        assert names == [f"p{n}" for n in range(7)] and page["total"] == 7
        assert "cursor" in client.error("list_pipelines", {"cursor": "bm9wZQ"})
