"""Metric history: one metric of one execution step by step, and one metric across a stage.

::

    series = metric_history(store, "0193a1b2", "loss")      # steps, values, times; NaN kept
    names = list_metric_names(store, "0193a1b2")            # what the execution logged
    runs = metric_across_stage(store, "fraud", "train", "accuracy", limit=20)

An execution-level metric (logged without a step) is the ``final`` value of its
name; a series is the values logged with steps. Across a stage, each
execution contributes its final value, or its last step's value when it
logged only a series (``step`` says which).
"""

import difflib
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.records import ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store

MAX_LIMIT = 10_000


class MetricSeries(Record):
    """One metric of one execution: its steps in order (values NaN where NaN was logged)."""

    execution_id: str
    name: str
    final: float | None
    """The execution-level value, if one was logged without a step."""
    steps: list[int]
    values: list[float]
    times: list[datetime]


class MetricName(Record):
    """A metric an execution logged: its final value and a summary of its series."""

    name: str
    final: float | None
    steps: int
    last_step: int | None
    last: float | None
    min: float | None
    max: float | None


class StageMetric(Record):
    """A metric's value for one execution of a stage."""

    execution_id: str
    status: ExecutionStatus
    started_at: datetime
    value: float
    step: int | None
    """None when ``value`` is the execution-level value, else the step it was logged at."""
    steps: int
    """The length of the series ``value`` is the last step of (0 for an execution-level value)."""


def metric_history(store: "Store", execution: str, name: str) -> MetricSeries:
    """Every value of metric ``name`` of ``execution`` (id or unique prefix)."""
    run = store.get_executions([execution])[0]
    rows = store.metric_rows(run.id, name)
    if not rows:
        raise NotFoundError(_unknown_metric(store, run.id, name))
    final = rows[0][1] if rows[0][0] is None else None
    steps = [row for row in rows if row[0] is not None]
    return MetricSeries(
        execution_id=run.id,
        name=name,
        final=final,
        steps=[int(step) for step, _, _ in steps if step is not None],
        values=[value for _, value, _ in steps],
        times=[datetime.fromtimestamp(at, UTC) for _, _, at in steps],
    )


def list_metric_names(store: "Store", execution: str) -> list[MetricName]:
    """The metrics ``execution`` logged, by name, with final values and series summaries."""
    run = store.get_executions([execution])[0]
    finals = store.final_metrics([run.id])[run.id]
    series = {s.name: s for s in store.series_stats([run.id])}
    found = []
    for name in sorted({*finals, *series}):
        s = series.get(name)
        found.append(
            MetricName(
                name=name,
                final=finals.get(name),
                steps=s.count if s else 0,
                last_step=s.last_step if s else None,
                last=(math.nan if s.last is None else s.last) if s else None,
                min=s.min if s else None,
                max=s.max if s else None,
            )
        )
    return found


def metric_across_stage(
    store: "Store",
    pipeline: str,
    stage: str,
    name: str,
    *,
    limit: int = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> list[StageMetric]:
    """Metric ``name`` for the executions of ``stage`` that logged it, newest (or oldest) first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit!r}.")
    if order not in ("newest", "oldest"):
        raise InvalidInputError(f"order is 'newest' or 'oldest', not {order!r}.")
    if (pipeline, stage) not in store.stage_ids():
        known = sorted(f"{s.pipeline}/{s.name}" for s in store.list_stages())
        close = difflib.get_close_matches(f"{pipeline}/{stage}", known, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else "."
        raise NotFoundError(
            f"No stage {stage!r} in pipeline {pipeline!r}{hint}",
            kind=Kind.STAGE,
            reference=f"{pipeline}/{stage}",
            matches=close,
        )
    rows = store.stage_metric(pipeline, stage, name, limit=limit, newest_first=order == "newest")
    return [
        StageMetric(
            execution_id=row.execution.id,
            status=row.execution.status,
            started_at=row.execution.started_at,
            value=math.nan if row.value is None else row.value,
            step=row.step,
            steps=row.steps,
        )
        for row in rows
    ]


def _unknown_metric(store: "Store", execution_id: str, name: str) -> str:
    names = store.metric_names(execution_id)
    if not names:
        return f"Execution {execution_id} logged no metrics."
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return (
        f"Execution {execution_id} logged no metric {name!r}; {hint}"
        f"it logged: {', '.join(names[:20])}{', …' if len(names) > 20 else ''}."
    )


__all__ = [
    "MetricName",
    "MetricSeries",
    "StageMetric",
    "list_metric_names",
    "metric_across_stage",
    "metric_history",
]
