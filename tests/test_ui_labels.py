"""Labels and annotations in the web UI: chips, the history, the table's cell, node tooltips."""

import html as markup
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from cmf_core.annotate import annotate
from cmf_core.store import Store
from cmf_mcp.http.ui.local import create_ui_app
from tests.test_ui_pages import well_formed
from tests.ui_support import HOSTILE, record_pipeline


@pytest.fixture
def ids(sqlite_url: str, root: Path) -> dict[str, str]:
    found = record_pipeline(sqlite_url, root)
    with Store(sqlite_url) as store:
        annotate(store, found["train1"], "verdict", "promising", author="ana")
        annotate(store, found["train1"], "verdict", "dead-end", note="overfits", author="ben")
        annotate(store, found["train1"], "owner", "ana", author="ana")
        annotate(store, found["train1"], "owner", note="left the team", author="ben")
        for n, key in enumerate(("a", "b", "c", "d", "e")):
            annotate(store, found["train2"], key, str(n), author="ana")
        annotate(store, "data/clean.csv", "quality", "bad", note="batch 3 is noisy", author="cy")
    return found


@pytest.fixture
def client(sqlite_url: str, root: Path, ids: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_ui_app(sqlite_url, root), base_url="http://127.0.0.1") as client:
        yield client


def chips(page: str) -> list[str]:
    return [
        markup.unescape(c) for c in re.findall(r'<span class="chip[^"]*"[^>]*>([^<]*)</span>', page)
    ]


def test_the_execution_page_shows_current_labels_and_the_history_newest_first(
    client: TestClient, ids: dict[str, str]
) -> None:
    page = client.get(f"/executions/{ids['train1']}").text
    assert well_formed(page)
    assert chips(page) == ["verdict = dead-end"]  # owner was cleared
    rows = re.findall(r"<tr><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td><td>(.*?)</td>", page)
    assert rows == [
        ("ben", "owner", "<em>cleared</em>"),
        ("ana", "owner", "ana"),
        ("ben", "verdict", "dead-end"),
        ("ana", "verdict", "promising"),
    ]
    assert "overfits" in page and "left the team" in page
    bare = client.get(f"/executions/{ids['prepare']}").text
    assert "No labels" in bare and 'class="chip' not in bare


def test_the_artifact_page_shows_its_labels_and_notes(client: TestClient) -> None:
    page = client.get("/artifacts/data/clean.csv").text
    assert well_formed(page)
    assert chips(page) == ["quality = bad"]
    assert "batch 3 is noisy" in page and "<td>cy</td>" in page


def test_the_executions_table_shows_a_bounded_labels_cell_read_in_one_query(
    client: TestClient, ids: dict[str, str]
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        page = client.get("/executions", params={"pipeline": "fraud"}).text
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert well_formed(page)
    assert len([s for s in statements if "FROM annotations" in s]) == 1
    cells = {
        run: chips(cell)
        for run, cell in re.findall(
            r'<a href="/executions/([^"]+)"><code>.*?<td><span class="status[^<]*</span></td>\s*'
            r"<td>(.*?)</td>",
            page,
            re.S,
        )
    }
    assert cells[ids["train2"]] == ["a = 0", "b = 1", "c = 2", "+2"]
    assert cells[ids["train1"]] == ["verdict = dead-end"]
    assert cells[ids["prepare"]] == []


def test_a_lineage_node_tooltip_lists_its_labels(client: TestClient, ids: dict[str, str]) -> None:
    page = client.get("/lineage", params={"pipeline": "fraud"}).text
    assert well_formed(page)
    titles = re.findall(r'data-key="([^"]+)">\s*<title>([^<]*)</title>', page)
    by_key = {key: markup.unescape(title) for key, title in titles}
    assert by_key[ids["train1"]].endswith("\nverdict = dead-end")
    assert "\nquality = bad" in next(t for t in by_key.values() if "data/clean.csv" in t)
    assert "=" not in by_key[ids["prepare"]]


def test_labels_and_notes_are_escaped(sqlite_url: str, root: Path, ids: dict[str, str]) -> None:
    with Store(sqlite_url) as store:
        annotate(store, ids["evaluate"], "xss", HOSTILE, note=HOSTILE, author=HOSTILE)
        annotate(store, "report.json", "xss", HOSTILE, author="ana")
    with TestClient(create_ui_app(sqlite_url, root), base_url="http://127.0.0.1") as client:
        for url in (
            f"/executions/{ids['evaluate']}",
            "/executions",
            "/artifacts/report.json",
            f"/lineage?node={ids['evaluate']}&direction=both",
        ):
            page = client.get(url).text
            assert "<script>" not in page, url
            assert "&lt;script&gt;" in page, url
