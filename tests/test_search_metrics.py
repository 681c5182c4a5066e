"""Final metrics on listed runs (search_executions, `cmf ls executions`), and the sort named."""

import json
from pathlib import Path

from click.testing import CliRunner
from mcp_support import connect, make_server, text
from test_metric_table import record

from cmf_core.search.shown_metrics import metrics_named
from cmf_core.store import Store


def test_metrics_named_by_sort_then_filter() -> None:
    assert metrics_named(
        "metrics.acc > 0.5 and not (metrics.f1 < 1 or params.lr = 2)", "-metrics.loss"
    ) == [
        "loss",
        "acc",
        "f1",
    ]
    assert metrics_named(None, "-started_at") == []
    assert metrics_named("metrics.acc >", "-metrics.acc") == ["acc"]  # bad filter: the search says


def test_search_executions_shows_the_sort_key_metric_and_names_the_sort(
    bare_project: Path, store_url: str
) -> None:
    with Store(store_url) as store:
        made = record(store)
    server = make_server(store_url)
    try:
        with connect(server) as client:
            best = client.ok("search_executions", {"sort": "-metrics.acc", "limit": 2})
            assert best["sort"] == "-metrics.acc"
            assert [e["id"] for e in best["items"]] == [made[5], made[4]]
            assert best["items"][0]["metrics"] == {"acc": 0.55}
            shown = text(client.call("search_executions", {"sort": "-metrics.acc", "limit": 2}))
            assert "sorted by -metrics.acc" in shown and '{"acc": 0.55}' in shown
            plain = client.ok("search_executions", {"stage": "train", "limit": 1})
            assert plain["sort"] == "-started_at" and plain["items"][0]["metrics"] is None
            filtered = client.ok("search_executions", {"where": "metrics.acc >= 0.54"})
            assert [e["metrics"] for e in filtered["items"]] == [{"acc": 0.55}, {"acc": 0.54}]
            full = client.ok("search_executions", {"stage": "train", "detail": "full"})
            assert full["items"][0]["metrics"] == {"acc": 0.55}
            assert full["items"][2]["id"] == made[3] and full["items"][2]["metrics"] is None
    finally:
        server.close()


def test_cmf_ls_executions_prints_final_metrics(bare_project: Path, sqlite_url: str) -> None:
    from cmf_mcp.cli.main import cli

    with Store(sqlite_url) as store:
        made = record(store)
    env = {"CMF_STORE_URL": sqlite_url, "COLUMNS": "250"}
    runner = CliRunner()
    listed = runner.invoke(cli, ["ls", "executions", "--sort", "-metrics.acc", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows[0]["id"] == made[5] and rows[0]["metrics"] == {"acc": 0.55}
    table = runner.invoke(cli, ["ls", "executions", "--sort", "-metrics.acc"], env=env)
    assert table.exit_code == 0, table.output
    assert "metrics" in table.output and "acc=0.55" in table.output
