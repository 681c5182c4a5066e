"""Store reads for metric tables: which runs logged some metrics, and step series sampled
down to a number of points in SQL.

A series of a thousand steps is never read whole: for each series the stride in step
space is chosen from its summary (first and last step, step count), and one indexed
query per (metric, first step, stride) reads every stride-th step. Regularly spaced
steps (0, 1, 2, … or 0, 10, 20, …) give evenly spaced points; irregular ones give at
most the budget. The caller adds the first, last, min and max points it already knows.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select

from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.schema import metrics


class SeriesSpan(NamedTuple):
    """What sampling needs to know of one series (from its summary)."""

    execution_id: str
    name: str
    first_step: int
    last_step: int
    steps: int


def sample_stride(span: SeriesSpan, points: int) -> int:
    """The step-space stride that reads at most ``points`` steps of ``span``, evenly spaced
    when the steps are."""
    width = span.last_step - span.first_step
    if span.steps <= points or width <= 0:
        return 1
    gap = width // (span.steps - 1) if width % (span.steps - 1) == 0 else 1
    per_point = math.ceil((span.steps - 1) / max(points - 1, 1))
    stride = max(gap * per_point, math.ceil(width / max(points - 1, 1)))
    return max(stride, 1)


class MetricSamples(StoreBase):
    """Metric-table reads, mixed into :class:`cmf_core.store.Store`."""

    def executions_logging(self, execution_ids: Sequence[str], names: Sequence[str]) -> set[str]:
        """Which of these executions logged any of ``names`` (a value or a step)."""
        found: set[str] = set()
        with self._read() as conn:
            for chunk in chunks(list(execution_ids)):
                query = select(metrics.c.execution_id).where(
                    metrics.c.execution_id.in_(chunk), metrics.c.name.in_(list(names))
                )
                # Each metrics index is partial (step NULL or not): ask each.
                for has_step in (metrics.c.step.is_(None), metrics.c.step.is_not(None)):
                    found.update(conn.execute(query.where(has_step).distinct()).scalars())
        return found

    def sample_series(
        self, spans: Sequence[SeriesSpan], *, points: int
    ) -> dict[tuple[str, str], list[tuple[int, float | None]]]:
        """Up to about ``points`` (step, value) pairs of each series, steps in order; a value
        is None where NaN was logged."""
        groups: dict[tuple[str, int, int], list[str]] = defaultdict(list)
        for span in spans:
            stride = sample_stride(span, points)
            groups[(span.name, span.first_step, stride)].append(span.execution_id)
        found: dict[tuple[str, str], list[tuple[int, float | None]]] = defaultdict(list)
        with self._read() as conn:
            for (name, first, stride), ids in groups.items():
                for chunk in chunks(ids):
                    query = select(metrics.c.execution_id, metrics.c.step, metrics.c.value).where(
                        metrics.c.execution_id.in_(chunk),
                        metrics.c.name == name,
                        metrics.c.step.is_not(None),
                    )
                    if stride > 1:
                        query = query.where((metrics.c.step - first) % stride == 0)
                    for execution_id, step, value in conn.execute(query):
                        found[(execution_id, name)].append((step, value))
        for series in found.values():
            series.sort()
        return dict(found)


__all__ = ["MetricSamples", "SeriesSpan", "sample_stride"]
