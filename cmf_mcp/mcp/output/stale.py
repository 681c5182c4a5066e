"""``stale`` on execution summaries: a running execution whose process is gone (computed by
:func:`cmf_core.stale.find_stale` when a read tool answers, never stored)."""

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from cmf_mcp.mcp.output.schemas import ExecutionSummary

if TYPE_CHECKING:
    from cmf_core.store import Store


def mark_stale(
    store: "Store", summaries: Sequence[ExecutionSummary], *, stale_after: timedelta
) -> list[ExecutionSummary]:
    """``summaries`` with ``stale`` set on the stale ones (one query for the running ones)."""
    from cmf_core.stale import find_stale

    running = [s.id for s in summaries if s.status == "running"]
    if running:
        stale = {s.execution_id for s in find_stale(store, running, stale_after=stale_after)}
        for summary in summaries:
            summary.stale = summary.id in stale
    return list(summaries)
