"""Bounded outputs of the query tools (search, lineage) and their text.

The same rules as :mod:`cmf_mcp.mcp.output.schemas`: user-written values clipped, lists
capped and paged, and the whole kept under :data:`~cmf_mcp.mcp.output.schemas.STRUCTURED_BUDGET`.
The run tools (compare, metric history, reproduce) render in :mod:`cmf_mcp.mcp.output.compare`.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from pydantic import Field

from cmf_core.digest import DIGEST_PREFIX, short_digest
from cmf_core.graph.lineage import ArtifactNode, LineageGraph
from cmf_core.search.search import ArtifactHit
from cmf_mcp.mcp.output.budget import DATA, data, more_line, plain, size, summary_lines, when
from cmf_mcp.mcp.output.labels import Labels, attach, labels_text
from cmf_mcp.mcp.output.schemas import (
    STRUCTURED_BUDGET,
    USER_DATA,
    DetailLevel,
    ExecutionSummary,
    Output,
    PageInfo,
    clip_mapping,
    clip_paths,
    clip_text,
    fit,
    short_id,
    size_of,
)

M = TypeVar("M", bound=Output)
P = TypeVar("P", bound="SearchPage")


class SearchPage(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def next_cursor(self) -> str | None: ...
    @property
    def has_more(self) -> bool: ...


def fit_search(
    fetch: Callable[[int], P],
    limit: int,
    build: Callable[[P, bool], M],
    shorter: Callable[[P], M],
) -> M:
    """A search page that fits the budget; a page cut short is fetched again with fewer
    items, so its ``next_cursor`` resumes exactly after the last item shown. At least one
    item is kept: when even one does not fit, ``shorter`` shows it in concise detail."""
    page = fetch(limit)
    model = build(page, False)
    if size_of(model) <= STRUCTURED_BUDGET or not page.items:
        return model
    items = list(page.items)
    low, high = 0, len(items) - 1  # the most items that fit lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        smaller: Any = page.model_copy(update={"items": items[:middle]})  # type: ignore[attr-defined]
        if size_of(build(smaller, True)) <= STRUCTURED_BUDGET:
            low = middle
        else:
            high = middle - 1
    while low:  # the page fetched again has a real next_cursor, longer than the copy's
        model = build(fetch(low), True)
        if size_of(model) <= STRUCTURED_BUDGET:
            return model
        low -= 1
    return shorter(fetch(1))


# -- search --------------------------------------------------------------------------------


class Totals(Output):
    total: int | None = Field(
        default=None, description="How many match in all, when fewer than 1,000; else None."
    )
    total_at_least: int | None = Field(
        default=None, description="Set (to 1,000) instead of total when at least that many match."
    )


def totals(page: Any) -> dict[str, int | None]:
    """A core search page's totals, for an output page."""
    return {"total": page.total, "total_at_least": page.total_at_least}


def _of_total(page: Totals) -> str:
    if page.total is not None:
        return f" of {page.total:,}"
    return f" of {page.total_at_least:,}+" if page.total_at_least is not None else ""


class ExecutionPageOut(PageInfo, Totals):
    items: list[ExecutionSummary]
    sort: str = Field(description="The order of items: '-started_at' is newest first.")


class ArtifactHitItem(Output):
    digest: str
    short_digest: str
    type: str
    size: int | None
    nfiles: int | None
    created_at: datetime
    path: str | None = Field(description="The path it was last logged under.")
    produced_by: str | None = Field(description="The execution that last wrote it, if any.")
    pipeline: str | None
    stage: str | None
    properties: dict[str, Any] | None = Field(description=USER_DATA + " None in concise detail.")
    labels: Labels = None


class ArtifactPageOut(PageInfo, Totals):
    items: list[ArtifactHitItem]


def artifact_hit(hit: ArtifactHit, level: DetailLevel) -> ArtifactHitItem:
    a = hit.artifact
    return ArtifactHitItem(
        digest=a.digest,
        short_digest=short_digest(a.digest),
        type=a.type.value,
        size=a.size,
        nfiles=a.nfiles,
        created_at=a.created_at,
        path=clip_text(hit.path, level, path=True)[0],
        produced_by=hit.produced_by,
        pipeline=clip_text(hit.pipeline, level)[0],
        stage=clip_text(hit.stage, level)[0],
        properties=clip_mapping(a.properties, level)[0] if level == "full" else None,
    )


def executions_text(page: ExecutionPageOut) -> str:
    if not page.items:
        return "No execution matches; loosen the filters (list_pipelines shows what exists)."
    lines = [f"{len(page.items)}{_of_total(page)} execution(s), sorted by {page.sort}:"]
    for e in page.items:
        lines += summary_lines(e)
        if e.metrics:
            lines.append(f"  metrics {DATA}: {data(e.metrics)}")
    lines += more_line(page.has_more, page.next_cursor, page.truncated)
    lines.append("next: get_execution(id) for inputs and metrics; compare_runs([a, b]) to diff two")
    return "\n".join(lines)


def artifacts_text(page: ArtifactPageOut) -> str:
    if not page.items:
        return "No artifact matches; loosen the filters."
    lines = [f"{len(page.items)}{_of_total(page)} artifact(s):"]
    for a in page.items:
        made = (
            f"  made by {plain(a.pipeline)}/{plain(a.stage)} {short_id(a.produced_by)}"
            if a.produced_by
            else ""
        )
        where = plain(a.path) or "-"
        lines.append(f"  {a.type:<8} {a.short_digest}  {where}  {size(a.size)}{made}")
        if a.labels:
            lines.append(f"    {labels_text(a.labels)}")
    lines += more_line(page.has_more, page.next_cursor, page.truncated)
    lines.append("next: get_artifact(digest) for its producers and users; query_lineage(digest)")
    return "\n".join(lines)


# -- lineage -------------------------------------------------------------------------------


class LineageNodeItem(Output):
    kind: Literal["artifact", "execution"]
    id: str = Field(description="The digest of an artifact or the id of an execution.")
    short: str
    hop: int | None = Field(description="Hops from the start (artifact -> execution is one).")
    type: str | None = None
    size: int | None = None
    paths: list[str] | None = None
    pipeline: str | None = None
    stage: str | None = None
    status: str | None = None
    started_at: datetime | None = None
    git_commit: str | None = None
    labels: Labels = None


class LineageEdgeItem(Output):
    source: str
    target: str
    kind: Literal["input", "output", "derived", "feeds"]
    path: str | None
    via: str | None = Field(description="The execution or artifact a collapsed edge stands for.")


class LineageOut(Output):
    start: str | None
    start_kind: str
    direction: str
    view: str
    depth: int
    depth_reached: int
    nodes: list[LineageNodeItem]
    edges: list[LineageEdgeItem]
    nodes_total: int
    truncated: bool = Field(description="True when the graph was cut (see truncated_reason).")
    truncated_reason: str | None = Field(
        description="'depth': more lies beyond depth; 'limit': more nodes than limit; "
        "'budget': nodes left out to fit the output budget (raise detail or narrow the query)."
    )


def lineage_node(node: Any, level: DetailLevel) -> LineageNodeItem:
    if isinstance(node, ArtifactNode):
        return LineageNodeItem(
            kind="artifact",
            id=node.digest,
            short=short_digest(node.digest),
            hop=node.hop,
            type=node.type.value,
            size=node.size,
            paths=clip_paths(node.paths, level)[0],
        )
    return LineageNodeItem(
        kind="execution",
        id=node.id,
        short=short_id(node.id),
        hop=node.hop,
        pipeline=clip_text(node.pipeline, level)[0],
        stage=clip_text(node.stage, level)[0],
        status=node.status.value,
        started_at=node.started_at,
        git_commit=node.git_commit,
    )


def lineage_out(
    graph: LineageGraph, level: DetailLevel, labels: dict[str, dict[str, str]] | None = None
) -> LineageOut:
    def build(nodes: Sequence[Any], cut: bool, at: DetailLevel = level) -> LineageOut:
        kept = {_key(n) for n in nodes}
        edges = [e for e in graph.edges if e.source in kept and e.target in kept]
        return LineageOut(
            start=graph.start,
            start_kind=graph.start_kind,
            direction=graph.direction,
            view=graph.view,
            depth=graph.depth,
            depth_reached=graph.depth_reached,
            nodes=attach(
                [lineage_node(n, at) for n in nodes], labels or {}, [_key(n) for n in nodes]
            ),
            edges=[
                LineageEdgeItem(
                    source=e.source,
                    target=e.target,
                    kind=e.kind,
                    path=clip_text(e.path, at, path=True)[0],
                    via=e.via,
                )
                for e in edges
            ],
            nodes_total=len(graph.nodes),
            truncated=graph.truncated or cut,
            truncated_reason="budget" if cut else graph.truncated_reason,
        )

    ordered = sorted(graph.nodes, key=lambda n: (n.hop is None, n.hop or 0))
    return fit(ordered, build, lambda nodes: build(nodes, True, "concise"))


def _key(node: Any) -> str:
    return str(node.digest if isinstance(node, ArtifactNode) else node.id)


def _short(key: str | None) -> str:
    if key is None:
        return "-"
    return short_digest(key) if key.startswith(DIGEST_PREFIX) else short_id(key)


def lineage_text(out: LineageOut) -> str:
    lines = [
        f"{out.direction} lineage of {out.start_kind} {_short(out.start)}: "
        f"{len(out.nodes)} of {out.nodes_total} nodes, {len(out.edges)} edges, "
        f"{out.depth_reached} of {out.depth} hops"
        + (f" (cut: {out.truncated_reason})" if out.truncated else "")
    ]
    for n in out.nodes:
        if n.kind == "artifact":
            where = ", ".join(plain(p) for p in n.paths or []) or "-"
            lines.append(f"  hop {n.hop}: artifact {n.short} {n.type} {where}")
        else:
            git = f" git {n.git_commit[:10]}" if n.git_commit else ""
            lines.append(
                f"  hop {n.hop}: execution {n.short} {plain(n.pipeline)}/{plain(n.stage)} "
                f"{n.status} "
                f"{when(n.started_at)}{git}"
            )
        if n.labels:
            lines.append(f"    {labels_text(n.labels)}")
    lines.append("edges (source -> target):")
    for e in out.edges:
        label = f" [{plain(e.path)}]" if e.path else (f" via {_short(e.via)}" if e.via else "")
        lines.append(f"  {_short(e.source)} -{e.kind}-> {_short(e.target)}{label}")
    lines.append("next: get_execution / get_artifact on a node; raise depth to see further")
    return "\n".join(lines)
