"""What `cmf ls` loads: a listing imports only what reading and printing it needs."""

import subprocess
import sys
from pathlib import Path

from cmf_core.tracking import Cmf

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


def test_listing_executions_loads_no_orm(bare_project: Path, sqlite_url: str) -> None:
    record_runs(sqlite_url, bare_project)
    loaded, listing = loaded_by_ls(
        sqlite_url, ["sqlalchemy", "sqlalchemy.orm", "alembic"], "executions", "--limit", "20"
    )
    assert loaded == ["sqlalchemy"]  # SQLAlchemy Core reads the store; the ORM is never needed
    assert listing.count("fraud") == 3 and "accuracy=0.9" in listing
