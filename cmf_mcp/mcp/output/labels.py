"""``labels`` on what the read tools answer: each record's current labels (key -> value), read
for a whole page in one query (:func:`cmf_core.annotate.labels_of`) and bounded per record.

Rows (search results, lineage nodes) carry at most :data:`ROW_LABELS` labels with values
clipped to :data:`ROW_VALUE` characters; one record's view (get_execution, get_artifact)
carries up to :data:`~cmf_core.annotate.LABELS_SHOWN`, clipped to :data:`VIEW_VALUE`; the
labels of one record are also kept within a size (:data:`ROW_BUDGET`, :data:`VIEW_BUDGET`),
counted as the output budget counts: JSON, ASCII-escaped.
"""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal, Protocol, TypeVar

from pydantic import Field

from cmf_core.annotate import LABELS_SHOWN, labels_of

if TYPE_CHECKING:
    from cmf_core.graph.lineage import LineageGraph
    from cmf_core.store import Store

ROW_LABELS = 10
ROW_VALUE = 100  # characters of JSON (ASCII-escaped, as the output budget counts)
ROW_BUDGET = 1_500  # all of one row's labels
VIEW_VALUE = 200
VIEW_BUDGET = 5_000
Kind = Literal["execution", "artifact"]

Labels = Annotated[
    dict[str, str] | None,
    Field(
        description="[user data] Current labels (key -> value) set with annotate: at most "
        f"{LABELS_SHOWN} for one record (values cut to {VIEW_VALUE} characters, all within "
        f"{VIEW_BUDGET:,}) and {ROW_LABELS} per row of a list ({ROW_VALUE} characters, all "
        f"within {ROW_BUDGET:,}), first by key; None when it has none. Filter on them with "
        "where='labels.KEY = \"value\"'."
    ),
]


class Labelled(Protocol):
    labels: dict[str, str] | None


L = TypeVar("L", bound=Labelled)


def read_labels(
    store: "Store", kind: Kind, keys: Sequence[str], *, rows: bool = True
) -> dict[str, dict[str, str]]:
    """The labels of ``keys`` (full ids or digests), bounded as rows or as one record."""
    found = labels_of(store, kind, keys, limit=ROW_LABELS if rows else LABELS_SHOWN)
    most, budget = (ROW_VALUE, ROW_BUDGET) if rows else (VIEW_VALUE, VIEW_BUDGET)
    bounded = {key: bound(got, most=most, budget=budget) for key, got in found.items()}
    return {key: got for key, got in bounded.items() if got}


def bound(labels: dict[str, str], *, most: int, budget: int) -> dict[str, str]:
    """``labels`` with each value cut to ``most`` characters of JSON and, in key order, as
    many as fit in ``budget`` characters of JSON (written ASCII-escaped, as the budget is)."""
    kept: dict[str, str] = {}
    used = 2  # {}
    for key, value in labels.items():
        value = _clip(value, most)
        cost = _escaped(key) + _escaped(value) + 8  # "k": "v",
        if used + cost > budget:
            break
        kept[key], used = value, used + cost
    return kept


def _escaped(text: str) -> int:
    return len(json.dumps(text)) - 2


def _clip(value: str, most: int) -> str:
    if _escaped(value) <= most:
        return value
    kept, used = [], _escaped("…")
    for char in value:
        used += _escaped(char)
        if used > most:
            break
        kept.append(char)
    return "".join(kept) + "…"


def lineage_labels(store: "Store", graph: "LineageGraph") -> dict[str, dict[str, str]]:
    """The labels of every node of a lineage graph (two queries)."""
    from cmf_core.graph.lineage import ArtifactNode

    digests = [n.digest for n in graph.nodes if isinstance(n, ArtifactNode)]
    ids = [n.id for n in graph.nodes if not isinstance(n, ArtifactNode)]
    return {**read_labels(store, "artifact", digests), **read_labels(store, "execution", ids)}


def attach(items: Sequence[L], labels: dict[str, dict[str, str]], keys: Sequence[str]) -> list[L]:
    """``items`` with ``labels`` set from ``labels`` by ``keys`` (the items' ids, in order)."""
    for item, key in zip(items, keys, strict=True):
        item.labels = labels.get(key)
    return list(items)


def label_rows(store: "Store", kind: Kind, items: Sequence[L], keys: Sequence[str]) -> list[L]:
    """``items`` (rows of a list) with their labels, read in one query."""
    return attach(items, read_labels(store, kind, keys), keys)


def labels_text(labels: dict[str, str] | None) -> str:
    """``labels [user data]: {"quality": "bad"}``, or "" for none."""
    if not labels:
        return ""
    return "labels [user data]: " + json.dumps(labels, ensure_ascii=False)


__all__ = [
    "ROW_BUDGET",
    "ROW_LABELS",
    "ROW_VALUE",
    "VIEW_BUDGET",
    "VIEW_VALUE",
    "Labels",
    "attach",
    "bound",
    "label_rows",
    "labels_text",
    "lineage_labels",
    "read_labels",
]
