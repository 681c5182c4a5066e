"""Which final metrics a page of executions shows, read for the whole page in one query.

::

    names = metrics_named("metrics.acc > 0.9 and params.lr < 0.1", "-metrics.f1")  # ['f1', 'acc']
    values = page_metrics(store, [e.id for e in page.items])                      # {id: {name: v}}

A concise listing shows the metrics a search is about — the sort key when sorting by a
metric, then those named in the filter; a full one shows every final metric. Values
are the execution-level ones (logged without a step); NaN as logged.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cmf_core.errors import CmfError
from cmf_core.search.filters import And, Node, Not, Or, parse_filter, parse_sort

if TYPE_CHECKING:
    from cmf_core.store import Store


def metrics_named(where: str | None, sort: str | None) -> list[str]:
    """The metric names of a search: the sort key's first, then the filter's, in order.

    Text that does not parse names none (the search itself reports the error)."""
    names: list[str] = []
    try:
        if sort:
            order = parse_sort(sort, "executions")
            if order.field.name == "metrics" and order.field.key:
                names.append(order.field.key)
        if where and where.strip():
            _walk(parse_filter(where, "executions"), names)
    except CmfError:
        return names
    return list(dict.fromkeys(names))


def page_metrics(
    store: "Store", execution_ids: Sequence[str], names: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Final metrics of a page of executions in one query: all, or only ``names``."""
    if not execution_ids:
        return {}
    found = store.final_metrics(list(execution_ids))
    if names is None:
        return found
    return {e: {n: got[n] for n in names if n in got} for e, got in found.items()}


def _walk(node: Node, names: list[str]) -> None:
    if isinstance(node, And | Or):
        for item in node.items:
            _walk(item, names)
    elif isinstance(node, Not):
        _walk(node.item, names)
    elif node.field.name == "metrics" and node.field.key:
        names.append(node.field.key)


__all__ = ["metrics_named", "page_metrics"]
