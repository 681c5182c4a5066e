"""`cmf metrics --table NAME…`: metrics across the newest runs, one row per run.

The same core call as the MCP tool ``metric_table``
(:func:`cmf_core.compare.metric_table.metric_table`); ``--json`` prints the whole table,
sampled points included.
"""

import math
from typing import TYPE_CHECKING

import click

from cmf_mcp.cli.support import open_store, print_json

if TYPE_CHECKING:
    from cmf_core.compare.metric_table import MetricCell, MetricTable


def print_metric_table(
    ctx: click.Context,
    names: list[str],
    *,
    pipeline: str | None,
    stage: str | None,
    where: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Read the table and print it (a grid, or JSON)."""
    from cmf_core.compare.metric_table import MAX_RUNS, metric_table

    if not names:
        raise click.UsageError("Name one or more metrics, e.g. `cmf metrics --table val_loss`.")
    if limit > MAX_RUNS:
        raise click.UsageError(f"--limit is at most {MAX_RUNS} with --table.")
    with open_store(ctx) as store:
        table = metric_table(store, names, where=where, pipeline=pipeline, stage=stage, limit=limit)
    if as_json:
        print_json(table)
    else:
        _print(table)


def _print(table: "MetricTable") -> None:
    from cmf_mcp.cli import render
    from cmf_mcp.cli.grid import Grid

    if not table.runs:
        click.echo(f"No run logged {', '.join(table.names)} (looked at {table.scanned}).")
        return
    params = sorted({k for r in table.runs for k in r.params})
    grid = Grid("execution", "started", "status", *params, *table.names)
    for r in table.runs:
        cells = [_cell(r.metrics.get(n)) for n in table.names]
        values = [str(r.params.get(k, "")) for k in params]
        grid.add_row(
            r.execution_id,
            render.when(r.started_at),
            render.status_cell(r.status.value),
            *values,
            *cells,
        )
    grid.print()
    click.echo("newest first; a series shows last (min…max, steps)")
    if table.has_more:
        click.echo("Older runs may hold these metrics too: raise --limit.")


def _cell(cell: "MetricCell | None") -> str:
    if cell is None:
        return ""
    if not cell.steps:
        return _number(cell.final)
    shown = f"{_number(cell.last)} ({_number(cell.min)}…{_number(cell.max)}, {cell.steps})"
    return shown if cell.final is None else f"{_number(cell.final)}; {shown}"


def _number(value: float | None) -> str:
    if value is None:
        return "NaN"
    return "NaN" if math.isnan(value) else f"{value:.4g}"
