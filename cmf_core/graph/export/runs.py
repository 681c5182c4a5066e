"""The executions a run export covers, read in batches, and the graph of a pipeline.

:func:`iter_runs` selects the executions of a pipeline, of a list of ids, or
all, oldest first, with their events, ``BATCH`` executions per query; the
OpenLineage and PROV reference builders (in memory) are built from it;
:func:`run_pages` and :func:`site_pages` page the same selection through the
store's lean export reads for the streamed exports. :func:`pipeline_graph` turns
the same runs into a :class:`~cmf_core.graph.lineage.LineageGraph` for the
drawings. :func:`missing_extra` is the error those two exports raise when their
optional library is not installed.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

from cmf_core.errors import ConfigError
from cmf_core.graph.lineage import (
    ArtifactNode,
    ExecutionNode,
    LineageGraph,
    View,
    build_graph,
    check_range,
    execution_node,
)
from cmf_core.records import EventDetail, Execution

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.export_reads import ExportRun

BATCH = 500
T = TypeVar("T")


def iter_runs(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
) -> Iterator[tuple[Execution, list[EventDetail]]]:
    """Each execution (of ``pipeline``, of ``execution_ids``, or all) with its events,
    oldest first, read ``BATCH`` executions at a time."""
    if execution_ids is not None:
        wanted = sorted(set(execution_ids))
        pages: Iterator[list[Execution]] = (
            store.page_executions(
                pipeline=pipeline, ids=wanted[i : i + BATCH], after=None, limit=BATCH
            )
            for i in range(0, len(wanted), BATCH)
        )
    else:
        pages = _pages(store, pipeline)
    for page in pages:
        found = store.events_of_executions([e.id for e in page])
        for execution in page:
            yield execution, found[execution.id]


def _pages(store: "Store", pipeline: str | None) -> Iterator[list[Execution]]:
    after: str | None = None
    while True:
        page = store.page_executions(pipeline=pipeline, ids=None, after=after, limit=BATCH)
        if page:
            yield page
        if len(page) < BATCH:
            return
        after = page[-1].id


def check_selection(store: "Store", pipeline: str | None) -> None:
    """NotFoundError (naming the recorded pipelines) unless ``pipeline`` is None or known."""
    if pipeline is not None:
        store.page_executions(pipeline=pipeline, ids=None, after=None, limit=1)


def run_pages(
    store: "Store", *, pipeline: str | None, execution_ids: Collection[str] | None
) -> Iterator[list["ExportRun"]]:
    """The executions :func:`iter_runs` selects, ``BATCH`` at a time, as lean records."""

    def fetch(ids: Sequence[str] | None, after: str | None) -> list["ExportRun"]:
        return store.export_runs(pipeline=pipeline, ids=ids, after=after, limit=BATCH)

    return _paged(fetch, lambda run: run.id, execution_ids)


def site_pages(
    store: "Store",
    *,
    pipeline: str | None,
    execution_ids: Collection[str] | None,
    upto: str | None,
) -> Iterator[list[tuple[str, str | None]]]:
    """(id, site) of the same executions, ``BATCH`` at a time, none past id ``upto``
    (the last one an earlier pass saw, so later passes cover the same executions)."""

    def fetch(ids: Sequence[str] | None, after: str | None) -> list[tuple[str, str | None]]:
        return store.export_run_sites(pipeline=pipeline, ids=ids, after=after, limit=BATCH)

    for page in _paged(fetch, lambda key: key[0], execution_ids):
        kept = [key for key in page if upto is not None and key[0] <= upto]
        if kept:
            yield kept
        if len(kept) < len(page):
            return


def _paged(
    fetch: Callable[[Sequence[str] | None, str | None], list[T]],
    key: Callable[[T], str],
    execution_ids: Collection[str] | None,
) -> Iterator[list[T]]:
    """Pages of ``fetch``: by id after the last page's last key, or over ``execution_ids``
    sorted, ``BATCH`` ids at a time."""
    if execution_ids is not None:
        wanted = sorted(set(execution_ids))
        for i in range(0, len(wanted), BATCH):
            if page := fetch(wanted[i : i + BATCH], None):
                yield page
        return
    after: str | None = None
    while True:
        page = fetch(None, after)
        if page:
            yield page
        if len(page) < BATCH:
            return
        after = key(page[-1])


def pipeline_graph(
    store: "Store", pipeline: str | None, *, limit: int = 500, view: View = "mixed"
) -> LineageGraph:
    """The lineage graph of ``pipeline``'s executions (None: every pipeline), oldest
    first, and the artifacts they read and wrote, up to ``limit`` nodes."""
    check_range(1, limit)
    artifacts: dict[str, ArtifactNode] = {}
    paths: dict[str, set[str]] = defaultdict(set)
    executions: list[ExecutionNode] = []
    edges: list[tuple[str, str, str, str]] = []
    reason: Literal["limit"] | None = None
    for execution, found in iter_runs(store, pipeline=pipeline):
        fresh = {e.artifact.digest: e.artifact for e in found if e.artifact.digest not in artifacts}
        if len(artifacts) + len(executions) + 1 + len(fresh) > limit:
            reason = "limit"
            break
        executions.append(execution_node(execution, None))
        for digest, a in fresh.items():
            artifacts[digest] = ArtifactNode(
                digest=digest, type=a.type, size=a.size, paths=[], hop=None
            )
        for e in found:
            paths[e.artifact.digest].add(e.path)
            edges.append((execution.id, e.artifact.digest, e.direction.value, e.path))
    nodes = [a.model_copy(update={"paths": sorted(paths[d])}) for d, a in artifacts.items()]
    return build_graph(
        nodes,
        executions,
        edges,
        start=None,
        start_kind="pipeline",
        direction="both",
        view=view,
        depth=0,
        limit=limit,
        reason=reason,
    )


def missing_extra(package: str, extra: str, what: str) -> ConfigError:
    return ConfigError(
        f"The {what} export needs the {package} package: pip install 'cmf[{extra}]'."
    )
