"""Metric tables: metrics across the newest runs, on both backends, through the core call,
the MCP tool (in memory) and the CLI."""

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp_support import connect, make_server, text

from cmf_core.compare.metric_table import metric_table, sample_points
from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.ids import Uuid7Generator
from cmf_core.records import ExecutionStatus
from cmf_core.store import Store
from cmf_core.store.metric_samples import SeriesSpan, sample_stride

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(store: Store, runs: int = 6, steps: int = 300) -> list[str]:
    """``runs`` train runs (lr differs, bs does not), each with a val_loss series and a
    final acc; the fourth logs only another metric; the second has a NaN step."""
    ids = Uuid7Generator()
    train = store.ensure_stage("fraud", "train")
    made = []
    for i in range(runs):
        run = ids.new()
        store.start_execution(
            id=run, stage_id=train, started_at=T0 + timedelta(minutes=i), params={"lr": i, "bs": 8}
        )
        rows: list[tuple[str, int | None, float, float]] = [
            ("val_loss", s, 1 / (s + 1) + i, 0.0) for s in range(steps)
        ]
        rows.append(("acc", None, 0.5 + i / 100, 0.0))
        if i == 1:
            rows[10] = ("val_loss", 10, math.nan, 0.0)
        if i == 3:
            rows = [("other", 0, 1.0, 0.0)]
        store.add_metrics(run, rows)
        store.end_execution(run, status=ExecutionStatus.COMPLETED)
        made.append(run)
    prepare = store.ensure_stage("fraud", "prepare")
    run = ids.new()
    store.start_execution(id=run, stage_id=prepare, started_at=T0 + timedelta(hours=1))
    store.end_execution(run, status=ExecutionStatus.COMPLETED)
    return made


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def test_the_newest_runs_that_logged_a_metric_with_its_summary_and_samples(store: Store) -> None:
    made = record(store)
    table = metric_table(store, ["val_loss", "acc"], pipeline="fraud", limit=4, points=10)
    # Newest first; the run that logged neither (the 4th) and the prepare run are skipped.
    assert [r.execution_id for r in table.runs] == [made[5], made[4], made[2], made[1]]
    assert table.has_more and table.scanned >= 5
    newest = table.runs[0]
    assert newest.params == {"lr": 5}  # bs is the same everywhere
    loss = newest.metrics["val_loss"]
    assert (loss.steps, loss.first_step, loss.last_step) == (300, 0, 299)
    assert loss.last == pytest.approx(5 + 1 / 300)
    assert loss.min == pytest.approx(5 + 1 / 300) and loss.max == 6.0
    assert len(loss.points) <= 10
    steps = [s for s, _ in loss.points]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 299
    assert newest.metrics["acc"].final == pytest.approx(0.55) and newest.metrics["acc"].steps == 0
    with_nan = table.runs[3].metrics["val_loss"]
    assert with_nan.nan_count == 1 and with_nan.steps == 300


def test_a_filter_selects_the_runs_and_the_last_run_has_no_more(store: Store) -> None:
    made = record(store)
    table = metric_table(store, ["val_loss"], where="params.lr <= 1", stage="train")
    assert [r.execution_id for r in table.runs] == [made[1], made[0]]
    assert not table.has_more
    everything = metric_table(store, ["val_loss"], stage="train", limit=2, all_params=True)
    assert everything.runs[0].params == {"lr": 5, "bs": 8}


def test_unknown_stage_names_near_matches_and_bad_arguments_are_refused(store: Store) -> None:
    record(store, runs=1)
    with pytest.raises(NotFoundError, match="did you mean fraud/train"):
        metric_table(store, ["val_loss"], pipeline="fraud", stage="trian")
    with pytest.raises(NotFoundError, match="No pipeline 'nope'"):
        metric_table(store, ["val_loss"], pipeline="nope")
    for bad in ({"limit": 0}, {"limit": 101}, {"points": 3}, {"points": True}):
        with pytest.raises(InvalidInputError):
            metric_table(store, ["val_loss"], **bad)
    with pytest.raises(InvalidInputError, match="at least one metric"):
        metric_table(store, [])
    assert metric_table(store, ["never"], stage="train").runs == []


def test_sampling_keeps_first_last_min_max_and_stays_within_the_budget() -> None:
    series = [(s, float((s * 37) % 101)) for s in range(1000)]
    keep = [(0, 0.0), (999, series[-1][1]), (11, 4.0), (30, 100.0)]
    shown = sample_points(series, keep, 20)
    assert len(shown) <= 20 and {0, 999, 11, 30} <= {s for s, _ in shown}
    # Strides in step space: dense, every 10th, and irregular steps.
    assert sample_stride(SeriesSpan("e", "m", 0, 999, 1000), 50) == 21
    assert sample_stride(SeriesSpan("e", "m", 0, 9990, 1000), 50) == 210
    assert sample_stride(SeriesSpan("e", "m", 0, 10, 5), 50) == 1
    assert math.ceil(1000 / sample_stride(SeriesSpan("e", "m", 3, 5000, 1000), 50)) <= 50


def test_sparse_steps_are_sampled_evenly(store: Store) -> None:
    train = store.ensure_stage("p", "train")
    run = Uuid7Generator().new()
    store.start_execution(id=run, stage_id=train)
    store.add_metrics(run, [("loss", s * 10, float(s), 0.0) for s in range(1000)])
    cell = metric_table(store, ["loss"], points=50).runs[0].metrics["loss"]
    assert 40 <= len(cell.points) <= 50
    assert cell.points[0] == (0, 0.0) and cell.points[-1] == (9990, 999.0)


def test_the_mcp_tool_answers_the_trend_question_in_one_call(
    bare_project: Path, store_url: str
) -> None:
    with Store(store_url) as opened:
        made = record(opened, runs=30, steps=1000)
    server = make_server(store_url)
    try:
        with connect(server) as client:
            out = client.ok("metric_table", {"names": ["val_loss"], "stage": "train", "limit": 5})
            assert [r["id"] for r in out["runs"]] == made[29:24:-1]
            first = out["runs"][0]["metrics"]["val_loss"]
            assert first["steps"] == 1000 and len(first["points"]) <= 50
            assert first["points"][0] == [0, 30.0] and first["last"] == pytest.approx(29.001)
            shown = text(client.call("metric_table", {"names": ["val_loss"], "limit": 5}))
            assert "val_loss over 5 run(s), newest first" in shown and "trend" in shown
            # A table too big for the budget keeps fewer points, then fewer runs.
            big = client.ok("metric_table", {"names": ["val_loss", "acc"], "limit": 100})
            assert len(json.dumps(big)) <= 20_000
            assert big["points_per_series"] < 50
            message = client.error("metric_table", {"names": ["val_loss"], "stage": "trian"})
            assert "did you mean train" in message
            assert client.call("metric_table", {"names": []}).is_error
    finally:
        server.close()


def test_cli_metrics_table(bare_project: Path, sqlite_url: str) -> None:
    from cmf_mcp.cli.main import cli

    with Store(sqlite_url) as opened:
        made = record(opened)
    runner = CliRunner()
    env = {"CMF_STORE_URL": sqlite_url}
    shown = runner.invoke(cli, ["metrics", "--table", "val_loss", "--stage", "train"], env=env)
    assert shown.exit_code == 0, shown.output
    assert made[5] in shown.output and "val_loss" in shown.output
    as_json = runner.invoke(
        cli, ["metrics", "--table", "val_loss", "acc", "--limit", "2", "--json"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.output)["runs"]
    assert [r["execution_id"] for r in rows] == [made[5], made[4]]
