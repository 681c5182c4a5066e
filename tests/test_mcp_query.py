"""The query tools on stores with known answers: search, lineage, compare, metrics, reproduce."""

import json
from pathlib import Path
from typing import Any

from mcp_support import connect, make_server, text, write

from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store
from cmf_core.tracking import Cmf
from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET


def walk(client: Any, tool: str, arguments: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every page of a listing; asserts each fits the budget."""
    pages, cursor = [], None
    while True:
        result = client.call(tool, {**arguments, "cursor": cursor})
        assert not result.is_error, text(result)
        assert len(json.dumps(result.structured_content)) <= STRUCTURED_BUDGET
        pages.append(result.structured_content)
        if not result.structured_content["has_more"]:
            return pages
        cursor = result.structured_content["next_cursor"]
        assert len(pages) < 50, key


def test_search_pages_cut_to_the_budget_resume_exactly_where_they_stopped(
    bare_project: Path, store_url: str
) -> None:
    params = {f"p{n:02}": "x" * 100 for n in range(12)}
    with Cmf(pipeline="wide", store=store_url, capture_git=False, capture_environment=False) as cmf:
        ids = []
        for number in range(60):
            with cmf.execution("train", params={**params, "n": number}) as run:
                write(bare_project / f"out-{number:02}.bin", f"{number}")
                run.log_artifact(f"out-{number:02}.bin", type="model", properties=params)
            ids.append(run.id)
    server = make_server(store_url)
    try:
        with connect(server) as client:
            found = walk(client, "search_executions", {"pipeline": "wide", "limit": 100}, "items")
            models = walk(
                client,
                "search_artifacts",
                {"type": "model", "limit": 100, "detail": "full"},
                "items",
            )
            best = client.ok(
                "search_executions",
                {"where": "params.n >= 58", "sort": "-params.n", "limit": 5, "detail": "full"},
            )
    finally:
        server.close()
    assert found[0]["truncated"] is True and len(found) > 1
    assert [e["id"] for page in found for e in page["items"]] == ids[::-1]
    assert len([m for page in models for m in page["items"]]) == 60 and models[0]["truncated"]
    assert [e["params"]["n"] for e in best["items"]] == [59, 58]


def test_lineage_cut_to_the_budget_says_so_and_keeps_only_edges_between_kept_nodes(
    bare_project: Path, sqlite_url: str
) -> None:
    with Store(sqlite_url) as store:
        stage = store.ensure_stage("fan", "merge")
        run = "01900000-0000-7000-8000-000000000001"
        store.start_execution(id=run, stage_id=stage)
        for n in range(150):
            row = ArtifactRow(f"md5:{n:032x}", "dataset", n, None, {})
            path = f"inputs/{'long-folder-name/' * 50}part-{n:03}.csv"
            store.record_artifact(row, execution_id=run, direction=EventDirection.INPUT, path=path)
        out = ArtifactRow("md5:" + "f" * 32, "model", 1, None, {})
        store.record_artifact(out, execution_id=run, direction=EventDirection.OUTPUT, path="m.bin")
        store.end_execution(run, status=ExecutionStatus.COMPLETED)
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            cut = client.ok(
                "query_lineage", {"node": "m.bin", "depth": 2, "limit": 200, "detail": "full"}
            )
            small = client.ok("query_lineage", {"node": "m.bin", "depth": 2, "limit": 10})
            shown = text(client.call("query_lineage", {"node": "m.bin", "depth": 1}))
    finally:
        server.close()
    assert (cut["truncated"], cut["truncated_reason"]) == (True, "budget")
    assert 2 < len(cut["nodes"]) < cut["nodes_total"] == 152
    kept = {n["id"] for n in cut["nodes"]}
    assert all(e["source"] in kept and e["target"] in kept for e in cut["edges"])
    assert [n["hop"] for n in cut["nodes"]] == sorted(n["hop"] for n in cut["nodes"])
    assert (small["truncated_reason"], len(small["nodes"])) == ("limit", 10)
    assert "hop 1: execution 01900000-0000-7000-8000 fan/merge completed" in shown
    assert "(cut: depth)" in shown


def test_metric_history_pages_through_a_long_series(bare_project: Path, sqlite_url: str) -> None:
    with (
        Cmf(pipeline="p", store=sqlite_url, capture_git=False, capture_environment=False) as cmf,
        cmf.execution("train") as run,
    ):
        for step in range(2_500):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metric("loss", float("nan"), step=2_500)
        run.log_metrics({"loss": 0.01})
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            pages = walk(
                client,
                "metric_history",
                {"execution_id": run.id, "name": "loss", "limit": 1_000},
                "",
            )
            shown = text(client.call("metric_history", {"execution_id": run.id, "name": "loss"}))
    finally:
        server.close()
    steps = [p["step"] for page in pages for p in page["points"]]
    assert steps == list(range(2_501)) and any(page["truncated"] for page in pages)
    first = pages[0]
    assert (first["count"], first["final"], first["min"], first["max"]) == (
        2_501,
        0.01,
        1 / 2_500,
        1,
    )
    assert pages[-1]["points"][-1] == {"step": 2_500, "value": None}
    assert shown.startswith(f"loss of execution {run.id[:23]}: final 0.01; 2501 step(s) (0..2500)")


def test_compare_runs_clips_long_values_and_lists_only_changes_in_concise_detail(
    bare_project: Path, sqlite_url: str
) -> None:
    shared = {f"same{n}": n for n in range(30)}
    with Cmf(pipeline="p", store=sqlite_url, capture_git=False, capture_environment=False) as cmf:
        runs = []
        for version in ("a", "b"):
            changed = {f"k{n:03}": version * 2_000 for n in range(10)}
            with cmf.execution("train", params={**shared, **changed}) as run:
                run.log_metrics({"acc": 0.5 if version == "a" else 0.6})
            runs.append(run.id)
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            concise = client.ok("compare_runs", {"ids": runs})
            full = client.ok("compare_runs", {"ids": runs, "detail": "full"})
            missing = client.error("compare_runs", {"ids": [runs[0], "ffffffff"]})
    finally:
        server.close()
    names = [p["name"] for p in concise["comparison"]["params"]]
    assert concise["clipped"] and names and all(n.startswith("k") for n in names)
    assert all(len(json.dumps(p["values"])) < 400 for p in concise["comparison"]["params"])
    assert any(p["change"] == "same" for p in full["comparison"]["params"])
    assert concise["comparison"]["summary"][0].startswith("acc rose 0.5 → 0.6")
    assert "ffffffff" in missing and "search_executions" in missing


def test_reproduce_gives_the_commit_and_lists_packages_only_in_full_detail(
    project: Path, sqlite_url: str
) -> None:
    from conftest import git

    write(project / "data.csv", "a\n")
    with (
        Cmf(pipeline="p", store=sqlite_url, git_refresh_s=0) as cmf,
        cmf.execution("train", params={"lr": 0.1}, command="python train.py") as run,
    ):
        run.log_dataset("data.csv")
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            concise = client.ok("reproduce", {"execution_id": run.id[:23]})
            full = client.ok("reproduce", {"execution_id": run.id, "detail": "full"})
            shown = text(client.call("reproduce", {"execution_id": run.id}))
    finally:
        server.close()
    recipe = concise["recipe"]
    assert recipe["commit"] == git(project, "rev-parse", "HEAD")
    assert [(i["path"], i["producer"]) for i in recipe["inputs"]] == [("data.csv", None)]
    assert recipe["environment"]["requirements"] == [] < [concise["requirements_total"]]
    assert 0 < len(full["recipe"]["environment"]["requirements"]) <= full["requirements_total"]
    assert 'command [user data]: "python train.py"' in shown
    assert "data.csv  md5:" in shown and "(a source)" in shown and "packages" in shown
