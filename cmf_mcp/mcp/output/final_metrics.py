"""``metrics`` on the rows of search_executions: each run's final metrics, read for the whole
page in one query (:func:`cmf_core.search.shown_metrics.page_metrics`).

Concise rows carry the metrics the search is about (the sort key, then those named in the
filter); full rows carry every final metric, at most :data:`ROW_METRICS`. NaN is null.
"""

from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

from pydantic import Field

from cmf_core.search.shown_metrics import metrics_named, page_metrics

if TYPE_CHECKING:
    from cmf_core.store import Store

ROW_METRICS = 30

FinalMetrics = Annotated[
    dict[str, float | None] | None,
    Field(
        description="Final metrics (logged without a step): in concise detail the sort key's "
        "and those named in `where`, in full detail all of them (at most "
        f"{ROW_METRICS}); NaN as null; None when none is shown."
    ),
]


class WithMetrics(Protocol):
    id: str
    metrics: dict[str, float | None] | None


R = TypeVar("R", bound=WithMetrics)


def metrics_rows(
    store: "Store", rows: list[R], *, where: str | None, sort: str | None, full: bool
) -> list[R]:
    """``rows`` with their final metrics set (one query for the page)."""
    names = None if full else metrics_named(where, sort)
    if not rows or names == []:
        return rows
    found = page_metrics(store, [r.id for r in rows], names)
    shown = []
    for row in rows:
        got = found.get(row.id) or {}
        values = {k: (None if v != v else v) for k, v in list(got.items())[:ROW_METRICS]}
        shown.append(row.model_copy(update={"metrics": values or None}))  # type: ignore[attr-defined]
    return shown


__all__ = ["ROW_METRICS", "FinalMetrics", "metrics_rows"]
