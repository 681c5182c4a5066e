"""The bounded output of the metric_table tool and its text.

A table that does not fit :data:`~cmf_mcp.mcp.output.schemas.STRUCTURED_BUDGET` first
loses points (each series halved, keeping its first, last, min and max) down to
:data:`MIN_POINTS`, then runs from its end (``truncated``). Sampled values are rounded to
6 significant digits; min, max, last and final are exact. NaN is shown as null.
"""

from datetime import datetime

from pydantic import Field

from cmf_core.compare.metric_table import MetricCell, MetricRun, MetricTable, sample_points
from cmf_mcp.mcp.output.budget import DATA, data, plain, when
from cmf_mcp.mcp.output.choices import StatusName
from cmf_mcp.mcp.output.schemas import (
    STRUCTURED_BUDGET,
    USER_DATA,
    DetailLevel,
    Output,
    clip_mapping,
    clip_text,
    short_id,
    size_of,
)

MIN_POINTS = 4
TEXT_POINTS = 8  # samples per series in the text rendering


class MetricCellOut(Output):
    final: float | None = Field(description="The value logged without a step, if any.")
    steps: int = Field(description="Steps in the whole series (0: only a final value).")
    first_step: int | None
    last_step: int | None
    last: float | None = Field(description="The last step's value.")
    min: float | None
    max: float | None
    nan_count: int = Field(description="Steps where NaN was logged (shown as null).")
    points: list[tuple[int, float | None]] = Field(
        description="[step, value] samples in step order, always with the first, last, min "
        "and max steps; values rounded to 6 significant digits."
    )


class MetricRunOut(Output):
    id: str = Field(description="The full execution id; pass it to get_execution.")
    short_id: str
    pipeline: str
    stage: str
    status: StatusName
    started_at: datetime
    params: dict[str, object] = Field(
        description=USER_DATA + " The params that differ across these runs ('full': all)."
    )
    metrics: dict[str, MetricCellOut] = Field(description="Only the metrics this run logged.")


class MetricTableOut(Output):
    metrics: list[str]
    order: str = Field(description="How runs are ordered: newest first by started_at.")
    runs: list[MetricRunOut]
    has_more: bool = Field(description="True when older runs may hold the metrics; raise limit.")
    scanned: int = Field(description="Runs looked at (those logging none of the metrics skipped).")
    points_per_series: int = Field(description="The most samples kept per series.")
    truncated: bool = Field(description="True when runs were left out to fit the output budget.")


def _number(value: float | None, digits: int | None = None) -> float | None:
    if value is None or value != value:
        return None
    return float(f"{value:.{digits}g}") if digits else value


def _cell(cell: MetricCell, points: int) -> MetricCellOut:
    keep = [p for p in cell.points if p[0] in (cell.first_step, cell.last_step)]
    keep += [p for p in cell.points if p[1] is not None and p[1] in (cell.min, cell.max)][:2]
    shown = sample_points(cell.points, keep, points) if len(cell.points) > points else cell.points
    return MetricCellOut(
        final=_number(cell.final),
        steps=cell.steps,
        first_step=cell.first_step,
        last_step=cell.last_step,
        last=_number(cell.last),
        min=_number(cell.min),
        max=_number(cell.max),
        nan_count=cell.nan_count,
        points=[(step, _number(value, 6)) for step, value in shown],
    )


def _run(run: MetricRun, points: int, detail: DetailLevel) -> MetricRunOut:
    return MetricRunOut(
        id=run.execution_id,
        short_id=short_id(run.execution_id),
        pipeline=clip_text(run.pipeline, detail)[0] or "",
        stage=clip_text(run.stage, detail)[0] or "",
        status=run.status.value,
        started_at=run.started_at,
        params=clip_mapping(run.params, detail)[0],
        metrics={name: _cell(cell, points) for name, cell in run.metrics.items()},
    )


def metric_table_out(table: MetricTable, detail: DetailLevel) -> MetricTableOut:
    def build(runs: list[MetricRun], points: int, truncated: bool) -> MetricTableOut:
        return MetricTableOut(
            metrics=table.names,
            order="newest first (started_at descending)",
            runs=[_run(r, points, detail) for r in runs],
            has_more=table.has_more or truncated,
            scanned=table.scanned,
            points_per_series=points,
            truncated=truncated,
        )

    points = table.points
    model = build(table.runs, points, False)
    while size_of(model) > STRUCTURED_BUDGET and points > MIN_POINTS:
        points = max(points // 2, MIN_POINTS)
        model = build(table.runs, points, False)
    runs = list(table.runs)
    while size_of(model) > STRUCTURED_BUDGET and len(runs) > 1:
        runs = runs[: max(len(runs) * 3 // 4, 1)]
        model = build(runs, points, True)
    return model


def metric_table_text(table: MetricTableOut) -> str:
    names = ", ".join(plain(n) for n in table.metrics)
    if not table.runs:
        return (
            f"No run logged {names} (looked at {table.scanned} run(s)); "
            "search_executions shows the runs, get_execution a run's metric names."
        )
    lines = [f"{names} over {len(table.runs)} run(s), {table.order}:"]
    for run in table.runs:
        lines.append(
            f"execution {run.short_id}  {plain(run.pipeline)}/{plain(run.stage)}  "
            f"{run.status}  started {when(run.started_at)}"
        )
        if run.params:
            lines.append(f"  params {DATA}: {data(run.params)}")
        for name, cell in run.metrics.items():
            lines.append(f"  {plain(name)}: {_cell_text(cell)}")
    if table.truncated:
        lines.append("some runs were left out to fit the output budget; lower limit or points")
    elif table.has_more:
        lines.append("older runs may hold these metrics too; raise limit to see them")
    lines.append("next: metric_history(id, name) for every step of one run; compare_runs([a, b])")
    return "\n".join(lines)


def _cell_text(cell: MetricCellOut) -> str:
    parts = []
    if cell.final is not None or (cell.steps == 0):
        parts.append(f"final {_shown(cell.final)}")
    if cell.steps:
        parts.append(
            f"last {_shown(cell.last)} (step {cell.last_step}), min {_shown(cell.min)}, "
            f"max {_shown(cell.max)}, {cell.steps} steps"
        )
        if cell.nan_count:
            parts.append(f"{cell.nan_count} NaN")
        every = max(len(cell.points) // TEXT_POINTS, 1)
        trend = cell.points[::every][: TEXT_POINTS - 1]
        if cell.points and trend[-1] != cell.points[-1]:
            trend.append(cell.points[-1])
        parts.append("trend " + " ".join(f"{_shown(v)}@{s}" for s, v in trend))
    return ", ".join(parts)


def _shown(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4g}"
