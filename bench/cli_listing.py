"""The `cmf ls` figures of bench_startup.py: a listing as a new process, and a long table.

1. ``cmf ls executions --limit 20`` on the 10,000-execution synthetic SQLite store
   (``synthetic.py``) as a new process, interleaved run by run with the baseline
   ``python -c "import sqlalchemy"`` (SQLAlchemy Core reads the store; a listing cannot
   cost less) — **target ≤ baseline + 100 ms**. ``cmf ls executions --limit 1000`` (the
   longest page) is measured in the same rounds. Each figure has the wall time and the
   child's CPU time (user + system), steadier than the wall time on a shared machine.
2. Printing a table of 10,000 executions (with a metrics column) in this process,
   output to memory: what ``cmf ls``/``cmf metrics`` cost after the query —
   **target ≤ 500 ms**. Baseline: the rich table the CLI printed before (same columns,
   ``box=None``, a 240-column console), same rows, same run.
"""

import contextlib
import io
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import summary_ms

TARGET_LS_OVER_SQLALCHEMY_MS = 100.0
TARGET_TABLE_MS = 500.0
STORE_EXECUTIONS = 10_000
TABLE_ROWS = 10_000


def ls_against_sqlalchemy(
    python: str,
    cmf: str,
    env: dict[str, str],
    repeats: int,
    run: Callable[[Sequence[str], dict[str, str]], str],
) -> dict[str, Any]:
    """`cmf ls executions` as new processes against ``import sqlalchemy``, interleaved."""
    from bench.synthetic import ensure
    from cmf_core.store import Store

    made = ensure(None, executions=STORE_EXECUTIONS)
    with Store(made.url):  # a store made at an older schema is upgraded, before timing
        pass
    commands = {
        "baseline_import_sqlalchemy": [python, "-c", "import sqlalchemy"],
        "cmf_ls_executions_limit_20": [cmf, *ls_arguments(STORE_EXECUTIONS, 20)],
        "cmf_ls_executions_limit_1000": [cmf, *ls_arguments(STORE_EXECUTIONS, 1000)],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        run(command, env)  # warms the caches; not timed
    for _ in range(repeats):
        for name, command in commands.items():
            cpu, started = _children_cpu(), time.perf_counter()
            run(command, env)
            walls[name].append(time.perf_counter() - started)
            cpus[name].append(_children_cpu() - cpu)
    result: dict[str, Any] = {
        "store": f"SQLite, {STORE_EXECUTIONS:,} executions (bench/synthetic.py)",
    }
    for name, command in commands.items():
        figures = summary_ms(walls[name])
        figures["cpu_median_ms"] = round(statistics.median(cpus[name]) * 1000, 3)
        shown = ["python", *command[1:]] if command[0] == python else ["cmf", *command[3:]]
        figures["command"] = " ".join(shown)
        result[name] = figures
    base, ours = result["baseline_import_sqlalchemy"], result["cmf_ls_executions_limit_20"]
    over = round(ours["median_ms"] - base["median_ms"], 3)
    result.update(
        over_baseline_ms=over,
        over_baseline_cpu_ms=round(ours["cpu_median_ms"] - base["cpu_median_ms"], 3),
        ratio_to_baseline=round(ours["median_ms"] / base["median_ms"], 2),
        target_over_baseline_ms=TARGET_LS_OVER_SQLALCHEMY_MS,
        meets_target=over <= TARGET_LS_OVER_SQLALCHEMY_MS,
    )
    return result


def ls_arguments(executions: int, limit: int) -> list[str]:
    """`cmf` arguments listing the newest ``limit`` executions of the synthetic store."""
    from bench.synthetic import default_url

    url = default_url(executions, 0, 20)
    return ["--store", url, "ls", "executions", "--limit", str(limit)]


def table_render(repeats: int, rows: int = TABLE_ROWS) -> dict[str, Any]:
    """Printing ``rows`` executions: the CLI's table against the rich table it replaced."""
    from cmf_mcp.cli import render

    executions = [_execution(n) for n in range(rows)]
    metrics = {
        e.id: f"accuracy={n / rows:.4g} loss={1 - n / rows:.4g}" for n, e in enumerate(executions)
    }

    def ours() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            render.table("executions", executions, metrics=metrics)
        return out.getvalue()

    def rich_table() -> str:
        return _rich_table(executions, metrics)

    text = ours()
    assert text.count("\n") == rows + 1, "a row is missing from the table"
    cmf_times = [_timed(ours) for _ in range(repeats)]
    rich_times = [_timed(rich_table) for _ in range(max(2, repeats // 3))]  # ~5 s each
    cmf_figures, rich_figures = summary_ms(cmf_times), summary_ms(rich_times)
    return {
        "rows": rows,
        "what": "render.table('executions', …) with a metrics column, output to memory",
        "cmf": cmf_figures,
        "baseline_rich_table": rich_figures,
        "rich_over_cmf": round(rich_figures["median_ms"] / cmf_figures["median_ms"], 1),
        "target_ms": TARGET_TABLE_MS,
        "meets_target": cmf_figures["median_ms"] <= TARGET_TABLE_MS,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _execution(number: int) -> Any:
    from cmf_core.records import Execution, ExecutionStatus

    started = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=7 * number)
    status = ("completed", "completed", "failed", "running")[number % 4]
    return Execution(
        id=f"019b7a00-0000-7000-8000-{number:012d}",
        pipeline=f"pipeline-{number % 20}",
        stage=("prepare", "featurize", "train", "evaluate")[number % 4],
        status=ExecutionStatus(status),
        started_at=started,
        ended_at=None if status == "running" else started + timedelta(seconds=number % 90),
        command="python train.py",
        params={"lr": 0.01},
        properties={},
        error=None,
        site="edge-7",
        git_remote=None,
        git_branch="main",
        git_commit_start=f"{number:040x}",
        git_commit_end=None,
        git_is_dirty=number % 20 == 0,
        git_diff_digest=None,
        environment_digest=None,
    )


def _rich_table(executions: list[Any], metrics: dict[str, str]) -> str:
    """The table as the CLI printed it with rich, to memory."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from cmf_mcp.cli import render

    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=False, width=240)
    grid = Table(box=None, pad_edge=False, header_style="bold")
    grid.add_column("id", no_wrap=True, min_width=36)
    for column in ("pipeline", "stage", "status", "started", "took", "commit"):
        grid.add_column(column, no_wrap=column in ("started", "commit"))
    grid.add_column("metrics")
    for e in executions:
        grid.add_row(
            e.id,
            e.pipeline,
            e.stage,
            Text(e.status.value, style=render.STATUS_STYLE.get(e.status.value, "")),
            render.when(e.started_at),
            render.duration(e),
            (e.git_commit_start or "")[:10] + ("*" if e.git_is_dirty else ""),
            Text(metrics.get(e.id, "")),
        )
    console.print(grid)
    return out.getvalue()
