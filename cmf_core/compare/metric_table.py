"""Metric tables: one or more metrics across the newest runs of a stage, a pipeline or a
filter, with each step series summarised and sampled down to a few points.

::

    table = metric_table(store, ["val_loss"], pipeline="fraud", stage="train", limit=5)
    for run in table.runs:
        series = run.metrics["val_loss"]
        print(run.execution_id, series.last, series.min, series.points)

This answers "the trend of val_loss over the last 5 training runs" in one read. Runs
are those the filter language and the keyword filters select (as in
:func:`cmf_core.search.search.search_executions`), newest first, keeping only runs that
logged at least one of the metrics. A series is summarised in SQL (step count, min, max,
last) and sampled to at most ``points`` steps, always keeping its first, last, min and
max; values are None where NaN was logged.
"""

import difflib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.records import Execution, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.metric_reads import SeriesStats

MAX_RUNS = 100
MAX_NAMES = 10
MAX_POINTS = 200
MIN_POINTS = 4  # first, last, min and max
SCAN_LIMIT = 5_000  # runs looked at for the metrics before giving up

Point = tuple[int, float | None]


class MetricCell(Record):
    """One metric of one run: its execution-level value and its step series, summarised."""

    final: float | None
    """The value logged without a step (None if none was; NaN as logged)."""
    steps: int
    """The length of the step series (0 when only a final value was logged)."""
    first_step: int | None
    last_step: int | None
    last: float | None
    """The last step's value (None for NaN or no series)."""
    min: float | None
    max: float | None
    nan_count: int
    points: list[Point]
    """(step, value) samples of the series in step order, at most ``points`` of them."""


class MetricRun(Record):
    """One run's row of a metric table."""

    execution_id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    params: dict[str, Any]
    """The params whose values differ across the table's runs (all of them, if asked)."""
    metrics: dict[str, MetricCell]
    """Only the metrics this run logged."""


class MetricTable(Record):
    names: list[str]
    runs: list[MetricRun]
    """Newest first."""
    has_more: bool
    """True when older runs matching the selection may hold the metrics too."""
    scanned: int
    """Runs looked at; those that logged none of the metrics were skipped."""
    points: int


def metric_table(
    store: "Store",
    names: list[str],
    *,
    where: str | None = None,
    pipeline: str | None = None,
    stage: str | None = None,
    limit: int = 10,
    points: int = 50,
    all_params: bool = False,
) -> MetricTable:
    """Metrics ``names`` across the newest ``limit`` runs that logged any of them."""
    names = _names(names)
    _bounded("limit", limit, 1, MAX_RUNS)
    _bounded("points", points, MIN_POINTS, MAX_POINTS)
    _known(store, pipeline, stage)
    runs, more, scanned = _runs(store, names, where, pipeline, stage, limit)
    ids = [r.id for r in runs]
    finals = store.final_metrics(ids)
    stats: dict[tuple[str, str], SeriesStats] = {}
    for name in names:
        stats.update({(s.execution_id, name): s for s in store.series_stats(ids, name=name)})
    from cmf_core.store.metric_samples import SeriesSpan

    spans = [
        SeriesSpan(s.execution_id, s.name, s.first_step, s.last_step, s.count)
        for s in stats.values()
    ]
    samples = store.sample_series(spans, points=points)
    differ = _differing_params(runs)
    rows = []
    for run in runs:
        cells = {}
        for name in names:
            final = finals[run.id].get(name)
            s = stats.get((run.id, name))
            if final is None and s is None:
                continue
            cells[name] = _cell(final, s, samples.get((run.id, name), []), points)
        params = run.params if all_params else {k: run.params.get(k) for k in differ}
        rows.append(
            MetricRun(
                execution_id=run.id,
                pipeline=run.pipeline,
                stage=run.stage,
                status=run.status,
                started_at=run.started_at,
                params=params,
                metrics=cells,
            )
        )
    return MetricTable(names=names, runs=rows, has_more=more, scanned=scanned, points=points)


def sample_points(series: Sequence[Point], keep: Sequence[Point], points: int) -> list[Point]:
    """At most ``points`` of ``series`` (in step order), evenly spread, with ``keep`` kept."""
    merged = sorted({step: value for step, value in [*series, *keep]}.items())
    if len(merged) <= points:
        return merged
    kept = {step for step, _ in keep}
    room = max(points - len(kept), 0)
    others = [p for p in merged if p[0] not in kept]
    if room and others:
        every = len(others) / room
        chosen = {others[int(i * every)][0] for i in range(room)}
    else:
        chosen = set()
    return [p for p in merged if p[0] in kept or p[0] in chosen]


def _cell(
    final: float | None, s: "SeriesStats | None", sampled: list[Point], points: int
) -> MetricCell:
    if s is None:
        return MetricCell(
            final=final,
            steps=0,
            first_step=None,
            last_step=None,
            last=None,
            min=None,
            max=None,
            nan_count=0,
            points=[],
        )
    keep: list[Point] = [(s.first_step, s.first), (s.last_step, s.last)]
    if s.min_step is not None:
        keep.append((s.min_step, s.min))
    if s.max_step is not None:
        keep.append((s.max_step, s.max))
    return MetricCell(
        final=final,
        steps=s.count,
        first_step=s.first_step,
        last_step=s.last_step,
        last=s.last,
        min=s.min,
        max=s.max,
        nan_count=s.nan_count,
        points=sample_points(sampled, keep, points),
    )


def _runs(
    store: "Store",
    names: list[str],
    where: str | None,
    pipeline: str | None,
    stage: str | None,
    limit: int,
) -> tuple[list[Execution], bool, int]:
    """The newest ``limit`` selected runs that logged any of ``names``, whether more may
    follow, and how many runs were looked at."""
    from cmf_core.search.search import search_executions

    chosen: list[Execution] = []
    cursor: str | None = None
    scanned, page_size = 0, limit
    while True:
        page = search_executions(
            store,
            where,
            pipeline=pipeline,
            stage=stage,
            sort="-started_at",
            limit=page_size,
            cursor=cursor,
        )
        scanned += len(page.items)
        logging = store.executions_logging([e.id for e in page.items], names)
        for run in page.items:
            if run.id in logging and len(chosen) < limit:
                chosen.append(run)
        if len(chosen) >= limit:
            rest = page.items[page.items.index(chosen[-1]) + 1 :]
            return chosen, page.has_more or bool(rest), scanned
        if not page.has_more or scanned >= SCAN_LIMIT:
            return chosen, page.has_more, scanned
        cursor, page_size = page.next_cursor, min(page_size * 4, 1_000)


def _known(store: "Store", pipeline: str | None, stage: str | None) -> None:
    """A NotFoundError with near matches for a pipeline or stage that was never recorded."""
    if pipeline is None and stage is None:
        return
    stages = store.stage_ids()
    if pipeline is not None and stage is not None:
        wanted, known = f"{pipeline}/{stage}", sorted(f"{p}/{s}" for p, s in stages)
        kind = Kind.STAGE
    elif pipeline is not None:
        wanted, known, kind = pipeline, sorted({p for p, _ in stages}), Kind.PIPELINE
    else:
        wanted, known, kind = str(stage), sorted({s for _, s in stages}), Kind.STAGE
    if wanted in known:
        return
    close = difflib.get_close_matches(wanted, known, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else "."
    raise NotFoundError(
        f"No {kind.value} {wanted!r} in this store{hint}",
        kind=kind,
        reference=wanted,
        matches=close,
    )


def _differing_params(runs: list[Execution]) -> list[str]:
    keys = sorted({k for r in runs for k in r.params})
    missing = object()
    return [k for k in keys if len({repr(r.params.get(k, missing)) for r in runs}) > 1]


def _names(names: Any) -> list[str]:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not names:
        raise InvalidInputError("Name at least one metric, e.g. ['val_loss'].")
    if len(names) > MAX_NAMES:
        raise InvalidInputError(f"At most {MAX_NAMES} metrics per table, not {len(names)}.")
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInputError(f"A metric name is non-empty text, not {name!r}.")
    return list(dict.fromkeys(names))


def _bounded(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"{name} must be a whole number from {low} to {high}, not {value!r}."
        )


__all__ = ["MetricCell", "MetricRun", "MetricTable", "metric_table", "sample_points"]
