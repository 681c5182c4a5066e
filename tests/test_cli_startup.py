"""What `cmf ls` loads, and how listings print: only what reading and printing needs, and
plain tables that stay whole at any length."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmf_core.records import Execution, ExecutionStatus
from cmf_core.tracking import Cmf
from cmf_mcp.cli import render
from cmf_mcp.cli.grid import Grid

# Run `cmf ls` in a new process, then name which of the given modules it loaded.
LIST_AND_REPORT = """
import sys
from cmf_mcp.cli.main import cli

cli(["--store", sys.argv[1], "ls", *sys.argv[3:]], standalone_mode=False)
print("LOADED", *sorted(m for m in sys.argv[2].split(",") if m in sys.modules))
"""


def record_runs(store_url: str, project: Path) -> None:
    (project / "raw.csv").write_text("a\n")
    with Cmf(
        pipeline="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        for _ in range(3):
            with cmf.execution("train", params={"lr": 0.1}) as run:
                run.log_dataset("raw.csv")
                run.log_metrics({"accuracy": 0.9})


def loaded_by_ls(store_url: str, modules: list[str], *args: str) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", LIST_AND_REPORT, store_url, ",".join(modules), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    listing, _, report = done.stdout.rpartition("LOADED")
    return report.split(), listing


def test_listing_executions_loads_neither_orm_nor_rich(bare_project: Path, sqlite_url: str) -> None:
    record_runs(sqlite_url, bare_project)
    heavy = ["sqlalchemy", "sqlalchemy.orm", "alembic", "rich"]
    loaded, listing = loaded_by_ls(sqlite_url, heavy, "executions", "--limit", "20")
    assert loaded == ["sqlalchemy"]  # SQLAlchemy Core reads the store; the ORM is never needed
    assert listing.count("fraud") == 3 and "accuracy=0.9" in listing


def execution(number: int, status: str) -> Execution:
    started = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=number)
    return Execution(
        id=f"019b7a00-0000-7000-8000-{number:012d}",
        pipeline="fraud" if number % 2 else "churn-prediction",
        stage="train",
        status=ExecutionStatus(status),
        started_at=started,
        ended_at=None if status == "running" else started + timedelta(seconds=1.5),
        command=None,
        params={},
        properties={},
        error=None,
        site=None,
        git_remote=None,
        git_branch=None,
        git_commit_start="a" * 40,
        git_commit_end=None,
        git_is_dirty=number % 3 == 0,
        git_diff_digest=None,
        environment_digest=None,
    )


def test_a_table_of_ten_thousand_executions_prints_every_row_aligned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    statuses = ("completed", "failed", "running")
    rows = [execution(n, statuses[n % 3]) for n in range(10_000)]
    metrics = {e.id: f"accuracy={n / 10_000:.4g}" for n, e in enumerate(rows)}
    render.table("executions", rows, stale={rows[2].id}, metrics=metrics)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        *("id", "pipeline", "stage", "status", "started", "took", "commit", "metrics")
    ]
    assert len(lines) == 10_001
    assert [line.split()[0] for line in lines[1:]] == [e.id for e in rows]
    status_at = lines[0].index("status")
    assert {line[status_at:].split()[0] for line in lines[1:]} == {*statuses, "stale"}
    assert lines[3][status_at:].startswith("stale ")  # rows[2] is running, its process gone
    assert lines[1].endswith("1.50s  aaaaaaaaaa*  accuracy=0")
    assert lines[-1].endswith("accuracy=0.9999")
    assert "\x1b[" not in lines[1]  # no colour off a terminal


def test_a_cell_stays_on_its_line_and_wide_characters_keep_columns_aligned() -> None:
    grid = Grid("name", "status")
    grid.add_row("evil\nname\x1b[2J", ("failed", "red"))
    grid.add_row("训练", "completed")
    grid.add_row("plain", "")
    header, evil, wide, plain = grid.lines()
    assert evil == "evil\\nname\\x1b[2J  failed"
    assert wide == "训练" + " " * 13 + "  completed"  # 2 wide characters take 4 columns
    assert header.index("status") == plain.index("plain") + 19 == len("evil\\nname\\x1b[2J  ")
    coloured = grid.lines(colour=True)
    assert coloured[0].startswith("\x1b[1mname\x1b[0m")
    assert coloured[1].endswith("\x1b[31mfailed\x1b[0m")
