"""Listings say how many match in all: an exact total, or "at least" past the counting cap."""

from pathlib import Path

import pytest
from mcp_support import connect, make_server, text

from cmf_core import Cmf
from cmf_core.search.search import COUNT_CAP, search_executions


def record(store_url: str, runs: dict[str, int]) -> None:
    with Cmf(pipeline="fraud", store=store_url, capture_git=False) as cmf:
        for stage, count in runs.items():
            for i in range(count):
                with cmf.execution(stage, params={"i": i}):
                    pass


def test_search_and_pipelines_carry_totals(bare_project: Path, store_url: str) -> None:
    record(store_url, {"prep": 3, "train": 7})
    server = make_server(store_url)
    with connect(server) as client:
        first = client.ok("search_executions", {"stage": "train", "limit": 2})
        later = client.ok(
            "search_executions", {"stage": "train", "limit": 2, "cursor": first["next_cursor"]}
        )
        shown = text(client.call("search_executions", {"where": "params.i >= 5", "limit": 1}))
        artifacts = client.ok("search_artifacts", {})
        [pipeline] = client.ok("list_pipelines")["items"]
    server.close()
    assert (first["total"], first["total_at_least"], len(first["items"])) == (7, None, 2)
    assert later["total"] == 7
    assert "1 of 2 execution(s)" in shown  # train's i = 5 and 6 (prep's are 0 to 2)
    assert artifacts["total"] == len(artifacts["items"])
    assert pipeline["executions"] == 10
    assert pipeline["stage_executions"] == {"prep": 3, "train": 7}


def test_a_count_past_the_cap_says_at_least(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    record(url, {"train": 12})
    monkeypatch.setattr("cmf_core.search.search.COUNT_CAP", 5)
    with Cmf(pipeline="fraud", store=url, capture_git=False) as cmf:
        page = search_executions(cmf.store, limit=3)
        everything = search_executions(cmf.store, limit=50)
    assert (page.total, page.total_at_least) == (None, 5)
    assert (everything.total, everything.total_at_least) == (12, None)  # counted on the page
    assert COUNT_CAP == 1_000
