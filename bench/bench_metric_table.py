"""How long a metric table takes: metrics across the newest runs of a stage.

What it measures, on a store of ``--runs`` completed runs (1,000 by default) of one
stage, each with 3 step series (``m0``, ``m1``, ``m2``) of ``--steps`` steps (1,000) and
a final ``acc``, generated into a temporary SQLite file and, when
``CMF_TEST_POSTGRES_URL`` names a server, into a throwaway database ``cmf_bench_<random>``
there (dropped at the end); nothing is written under the repository:

1. ``metric_table(store, ["m0", "m1", "m2"], pipeline=…, stage=…)`` with the tool's
   defaults (the newest 10 runs, 50 points per series). **Target: p50 ≤ 50 ms** on
   SQLite and on PostgreSQL.
2. The same plus the MCP tool's bounded output (``metric_table_out``: sampling down to
   the output budget, JSON size): what the tool spends besides the protocol.
3. The largest table the tool allows (100 runs), reported, no target.
4. Baseline: ``metric_history`` of the 3 series of the newest run — every step, what
   three metric_history calls read for one run.

Each figure is the median (p50), p90 and min of ``--repeats`` calls after 3 warm-up calls,
on a store opened once. Prints one JSON object; ``--quick`` uses 100 runs × 200 steps.

    .venv/bin/python bench/bench_metric_table.py [--quick] [--runs N] [--steps N] [--repeats N]
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine

TARGET_MS = 50.0
POSTGRES_ENV = "CMF_TEST_POSTGRES_URL"
NAMES = ["m0", "m1", "m2"]


def timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[max(int(len(times) * 0.9) - 1, 0)], 3),
        "min_ms": round(times[0], 3),
    }


def generate(url: str, runs: int, steps: int) -> list[str]:
    """``runs`` ended runs of bench/train, each with 3 series of ``steps`` steps."""
    from cmf_core.ids import Uuid7Generator
    from cmf_core.records import ExecutionStatus
    from cmf_core.store import Store

    ids, made = Uuid7Generator(), []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(url) as store:
        stage = store.ensure_stage("bench", "train")
        for i in range(runs):
            run = ids.new()
            store.start_execution(
                id=run,
                stage_id=stage,
                started_at=start + timedelta(minutes=i),
                params={"lr": 10 ** -(i % 5), "seed": i},
            )
            rows: list[tuple[str, int | None, float, float]] = [
                (name, s, (k + 1) / (s + 1) + i / runs, float(s))
                for k, name in enumerate(NAMES)
                for s in range(steps)
            ]
            rows.append(("acc", None, 0.5 + i / (2 * runs), 0.0))
            store.add_metrics(run, rows)
            store.end_execution(run, status=ExecutionStatus.COMPLETED)
            made.append(run)
    return made


def measure(url: str, runs: int, steps: int, repeats: int) -> dict[str, Any]:
    from cmf_core.compare.metric_table import metric_table
    from cmf_core.compare.metrics import metric_history
    from cmf_core.store import Store
    from cmf_mcp.mcp.output.metric_table import metric_table_out
    from cmf_mcp.mcp.output.schemas import size_of

    started = time.perf_counter()
    made = generate(url, runs, steps)
    generated_s = time.perf_counter() - started
    with Store(url) as store:

        def table(limit: int = 10) -> Any:
            return metric_table(store, NAMES, pipeline="bench", stage="train", limit=limit)

        def tool() -> Any:
            return size_of(metric_table_out(table(), "concise"))

        shown = table()
        assert [r.execution_id for r in shown.runs] == made[::-1][:10], "wrong runs"
        assert all(len(c.points) <= 50 for r in shown.runs for c in r.metrics.values())
        figures: dict[str, Any] = {
            "generated_s": round(generated_s, 1),
            "metric_rows": runs * (len(NAMES) * steps + 1),
            "table_10_runs": timed(table, repeats),
            "table_10_runs_with_tool_output": timed(tool, repeats),
            "table_100_runs": timed(lambda: table(100), max(repeats // 4, 5)),
            "baseline_metric_history_3_series": timed(
                lambda: [metric_history(store, made[-1], n) for n in NAMES], repeats
            ),
            "tool_output_chars": tool(),
            "points_per_series": len(shown.runs[0].metrics["m0"].points),
        }
    figures["met"] = figures["table_10_runs"]["p50_ms"] <= TARGET_MS
    return figures


def postgres_database(base: str) -> tuple[str, Callable[[], None]]:
    """A throwaway database on the server ``base`` names, and how to drop it."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cmf_bench_{secrets.token_hex(4)}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(base).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--runs", type=int, help="runs in the store (default 1,000)")
    parser.add_argument("--steps", type=int, help="steps per series (default 1,000)")
    parser.add_argument("--repeats", type=int, help="timed calls per figure")
    args = parser.parse_args()
    runs = args.runs or (100 if args.quick else 1_000)
    steps = args.steps or (200 if args.quick else 1_000)
    repeats = args.repeats or (10 if args.quick else 50)
    report: dict[str, Any] = {
        "machine": machine(),
        "runs": runs,
        "series_per_run": len(NAMES),
        "steps": steps,
        "repeats": repeats,
        "target_p50_ms": TARGET_MS,
    }
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'metric_table.db'}"
        report["sqlite"] = measure(url, runs, steps, repeats)
    base = os.environ.get(POSTGRES_ENV)
    if base:
        pg, drop = postgres_database(base)
        try:
            report["postgresql"] = measure(pg, runs, steps, repeats)
        finally:
            drop()
    else:
        report["postgresql"] = f"skipped: {POSTGRES_ENV} is not set"
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
