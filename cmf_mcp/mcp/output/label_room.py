"""Labels in a single-record view, fitted to the room the view leaves in the output budget.

Apart from :mod:`cmf_mcp.mcp.output.labels` because it measures the view with the schemas'
budget, and the schemas themselves use the labels' type.
"""

from typing import Any

from cmf_mcp.mcp.output.labels import VIEW_BUDGET, VIEW_VALUE, Labelled, bound
from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET, size_of


def fit_labels(view: Any, holder: Labelled, labels: dict[str, str] | None) -> None:
    """Set ``holder.labels`` (a part of ``view``) to what of ``labels`` fits the room
    ``view`` leaves in the output budget."""
    room = min(VIEW_BUDGET, STRUCTURED_BUDGET - size_of(view))
    holder.labels = bound(labels, most=VIEW_VALUE, budget=room) or None if labels else None
