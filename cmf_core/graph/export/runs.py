"""The executions a run export covers, read in batches, and the graph of a pipeline.

:func:`iter_runs` selects the executions of a pipeline, of a list of ids, or
all, oldest first, with their events, ``BATCH`` executions per query; the
OpenLineage and PROV exports are built from it. :func:`pipeline_graph` turns
the same runs into a :class:`~cmf_core.graph.lineage.LineageGraph` for the
drawings. :func:`missing_extra` is the error those two exports raise when their
optional library is not installed.
"""

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Literal

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

BATCH = 500


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
