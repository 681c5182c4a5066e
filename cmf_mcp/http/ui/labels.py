"""Labels and annotations on the UI's pages: chips for tables, the history for one record.

A table reads the labels of its whole page in one call (:meth:`Store.labels_for`)
and shows the first :data:`ROW_CHIPS` of each row, counting the rest; a record's
page shows its current labels and its newest :data:`HISTORY_SHOWN` annotations.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from cmf_core.annotate import annotation_history
from cmf_core.graph.lineage import ArtifactNode, LineageGraph
from cmf_core.store import Store
from cmf_core.store.annotations import Annotation

ROW_CHIPS = 3  # labels shown in a table cell; the rest are counted (+N)
PAGE_CHIPS = 100  # labels shown on a record's page
HISTORY_SHOWN = 100  # annotations shown on a record's page, newest first
TITLE_LABELS = 10  # labels in a lineage node's tooltip


@dataclass(frozen=True)
class Chips:
    shown: list[tuple[str, str]]  # (key, value), by key
    more: int  # labels left out


@dataclass(frozen=True)
class Annotations:
    labels: Chips
    history: list[Annotation]  # newest first
    older: int  # annotations older than the shown ones


def chips(labels: dict[str, str], most: int) -> Chips:
    ordered = sorted(labels.items())
    return Chips(ordered[:most], max(0, len(ordered) - most))


def row_labels(store: Store, kind: str, keys: Sequence[str]) -> dict[str, Chips]:
    """The labels of a page of records (one read), bounded to :data:`ROW_CHIPS` a row."""
    if not keys:
        return {}
    found = store.labels_for("execution" if kind == "execution" else "artifact", keys)
    return {key: chips(labels, ROW_CHIPS) for key, labels in found.items()}


def annotations_of(store: Store, kind: str, key: str) -> Annotations:
    """One record's current labels and newest annotations."""
    history = annotation_history(store, "execution" if kind == "execution" else "artifact", key)
    current = {a.key: a.value for a in history}  # oldest first: the newest value wins
    labels = {k: v for k, v in current.items() if v is not None}
    newest = history[::-1][:HISTORY_SHOWN]
    return Annotations(chips(labels, PAGE_CHIPS), newest, len(history) - len(newest))


def graph_labels(store: Store, graph: LineageGraph) -> dict[str, dict[str, str]]:
    """Each labelled node's labels (by digest or id), in two reads for the whole graph."""
    digests = [n.digest for n in graph.nodes if isinstance(n, ArtifactNode)]
    ids = [n.id for n in graph.nodes if not isinstance(n, ArtifactNode)]
    found = store.labels_for("artifact", digests) if digests else {}
    return found | (store.labels_for("execution", ids) if ids else {})


def labels_title(labels: dict[str, str] | None) -> str:
    """Lines for a tooltip: ``key = value``, at most :data:`TITLE_LABELS`, then ``+N``."""
    if not labels:
        return ""
    shown = chips(labels, TITLE_LABELS)
    lines = [f"{k} = {v[:80]}" for k, v in shown.shown]
    return "\n".join(lines + ([f"+{shown.more} more"] if shown.more else []))


__all__ = ["Annotations", "Chips", "annotations_of", "graph_labels", "labels_title", "row_labels"]
