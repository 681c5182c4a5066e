"""An artifact read by many runs, a page of events at a time: order, totals, paths, cmf show."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core import Cmf
from cmf_core.errors import InvalidInputError
from cmf_core.records import EVENT_COUNT_CAP, EventDirection
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

READERS = 60


@pytest.fixture
def hub(store_url: str, bare_project: Path) -> dict[str, object]:
    """A raw file made by one run, copied under a second path, and read by 60 runs."""
    (bare_project / "raw.csv").write_text("a,b\n1,2\n")
    with Cmf(pipeline="hub", store=store_url, capture_git=False, capture_environment=False) as cmf:
        with cmf.execution("ingest") as made:
            made.log_dataset("raw.csv", event="output")
        (bare_project / "copy.csv").write_text("a,b\n1,2\n")
        readers = []
        for n in range(READERS):
            with cmf.execution("train", params={"n": n}) as run:
                run.log_dataset("copy.csv" if n % 10 == 0 else "raw.csv")
            readers.append(run.id)
    with Store(store_url) as store:
        digest = store.find_artifacts_by_path("raw.csv")[0]
    return {"digest": digest, "producer": made.id, "readers": readers}


def test_a_page_lists_producers_then_readers_oldest_first_with_totals_and_paths(
    store_url: str, hub: dict[str, object]
) -> None:
    with Store(store_url) as store:
        whole = store.get_artifact_detail(str(hub["digest"]))
        first = store.get_artifact_detail(str(hub["digest"]), events_limit=20)
        later = store.get_artifact_detail(str(hub["digest"]), events_limit=20, events_offset=50)
    assert len(whole.events) == READERS + 1 and whole.producers_total is None
    assert whole.paths == first.paths == ["copy.csv", "raw.csv"]
    assert (first.producers_total, first.consumers_total) == (1, READERS)
    assert [e.execution_id for e in first.events] == [hub["producer"], *hub["readers"][:19]]  # type: ignore[index]
    assert first.events[0].direction is EventDirection.OUTPUT
    assert all(e.direction is EventDirection.INPUT for e in first.events[1:])
    assert later.events_offset == 50
    assert [e.execution_id for e in later.events] == hub["readers"][49:]  # type: ignore[index]
    with Store(store_url) as store:
        pages = [
            e.execution_id
            for offset in range(0, READERS + 1, 7)
            for e in store.get_artifact_detail(
                str(hub["digest"]), events_limit=7, events_offset=offset
            ).events
        ]
    assert pages == [hub["producer"], *hub["readers"]]  # type: ignore[list-item]


def test_paging_takes_only_counts(store_url: str, hub: dict[str, object]) -> None:
    with Store(store_url) as store, pytest.raises(InvalidInputError, match="counts"):
        store.get_artifact_detail(str(hub["digest"]), events_limit=-1)
    assert EVENT_COUNT_CAP == 100_000  # the CLI's "N+" reads this cap


def test_cmf_show_prints_a_page_of_a_hub_and_says_how_to_see_more(
    store_url: str, hub: dict[str, object]
) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["--store", store_url, "show", "raw.csv", "--limit", "10"])
    assert shown.exit_code == 0, shown.output
    lines = [
        line for line in shown.stdout.splitlines() if line.strip().startswith(("input", "output"))
    ]
    assert len(lines) == 10
    assert "events 1-10 of 1 produced and 60 read; more: --offset 10" in shown.stdout
    assert "paths" in shown.stdout and "copy.csv, raw.csv" in shown.stdout
    last = runner.invoke(cli, ["--store", store_url, "show", "raw.csv", "--offset", "55"])
    assert last.exit_code == 0
    assert str(hub["readers"][-1]) in last.stdout  # type: ignore[index]
    data = json.loads(
        runner.invoke(cli, ["--store", store_url, "show", "raw.csv", "--json"]).stdout
    )
    assert (data["producers_total"], data["consumers_total"], len(data["events"])) == (1, 60, 50)


def test_cmf_show_of_a_small_artifact_says_nothing_more(store_url: str, bare_project: Path) -> None:
    (bare_project / "x.csv").write_text("x\n")
    cmf = Cmf(pipeline="p", store=store_url, capture_git=False, capture_environment=False)
    with cmf, cmf.execution("s") as run:
        run.log_dataset("x.csv")
    shown = CliRunner().invoke(cli, ["--store", store_url, "show", "x.csv"])
    assert shown.exit_code == 0 and "more:" not in shown.stdout and "paths" not in shown.stdout


def test_the_ui_and_the_rest_api_show_a_hub_a_page_at_a_time(
    sqlite_url: str, bare_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from cmf_core.auth import create_token
    from cmf_mcp.http.app import create_app
    from cmf_mcp.http.ui.local import create_ui_app

    (bare_project / "raw.csv").write_text("a\n")
    cmf = Cmf(pipeline="hub", store=sqlite_url, capture_git=False, capture_environment=False)
    with cmf:
        ids = []
        for n in range(12):
            with cmf.execution("train", params={"n": n}) as run:
                run.log_dataset("raw.csv")
            ids.append(run.id)
    with TestClient(create_ui_app(sqlite_url, bare_project), base_url="http://127.0.0.1") as ui:
        whole = ui.get("/artifacts/raw.csv").text
        paged = ui.get("/artifacts/raw.csv?offset=10").text
    assert "Read by <small>12</small>" in whole and 'class="pages"' not in whole
    assert ids[9] not in paged and ids[10] in paged and ids[11] in paged
    assert "Events 11–12" in paged and 'href="?">first</a>' in paged
    with Store(sqlite_url) as store:
        secret = create_token(store, "reader", "read")[1]
    with TestClient(create_app(sqlite_url, project_root=bare_project, mcp=False)) as api:
        answer = api.get(
            "/api/v1/artifacts/raw.csv?limit=5&offset=5",
            headers={"Authorization": f"Bearer {secret}"},
        ).json()
    assert (answer["producers_total"], answer["consumers_total"]) == (0, 12)
    assert [e["execution_id"] for e in answer["events"]] == ids[5:10]
    assert answer["paths"] == ["raw.csv"] and answer["events_offset"] == 5


def test_get_artifact_pages_a_hub_through_its_cursor_producers_first(
    store_url: str, hub: dict[str, object]
) -> None:
    from mcp_support import connect, make_server

    seen: list[str] = []
    server = make_server(store_url)
    with connect(server) as client:
        answer = client.ok("get_artifact", {"reference": "raw.csv", "limit": 25})
        assert (answer["producers_total"], answer["consumers_total"]) == (1, READERS)
        while True:
            seen += [u["execution_id"] for u in answer["produced_by"] + answer["used_by"]]
            if not answer["has_more"]:
                break
            answer = client.ok(
                "get_artifact",
                {"reference": "raw.csv", "limit": 25, "cursor": answer["next_cursor"]},
            )
    server.close()
    assert seen == [hub["producer"], *hub["readers"]]  # type: ignore[list-item]
