"""Lineage: breadth-first walks over events, one batched query per hop.

The lineage graph joins artifacts and executions by events: an execution's
input is an edge artifact → execution, its output an edge execution → artifact.
Depth counts hops, and artifact → execution is one hop, so ``depth=2`` from a
model reaches the runs that made it and their inputs. The environment is not a
node (it is a digest on the execution).

Each walk keeps a visited set and asks the store once per hop for the whole
frontier (:class:`cmf_core.store.graph.GraphReader`), so diamonds cost linear
time and cycles in corrupt data end. ``limit`` caps the nodes (start included);
a hop that would pass it keeps the first nodes in a stable order (executions by
start time, artifacts by digest) and the graph says ``truncated_reason="limit"``.
After the last hop one more query looks past it: if anything is there, the
graph says ``truncated_reason="depth"``. One hop reads at most 4 × ``limit``
events, so a dataset read by a million runs costs a bounded query; a hop cut
that way also says ``"limit"``. ``direction="both"`` is the upstream walk and
the downstream walk from the same start, not every node connected to it (which,
through a shared dataset, would be most of the store).

Views: ``mixed`` (both kinds of node); ``artifacts`` (each execution collapsed
into ``derived`` edges from its inputs to its outputs, ``via`` the execution);
``executions`` (each artifact collapsed into ``feeds`` edges from its producers
to its consumers, ``via`` the artifact). ``depth`` and ``limit`` always count
the mixed graph.

Trace and impact, which walk one way from an artifact with this module's
:class:`Walk`, live in :mod:`cmf_core.graph.trace`.
"""

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, cast

from pydantic import Field

from cmf_core.errors import InvalidInputError
from cmf_core.graph.lookup import ReferenceKind, resolve_reference
from cmf_core.records import (
    ArtifactType,
    EventDirection,
    Execution,
    ExecutionStatus,
    Record,
)

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.graph import ArtifactSummary, ExecutionSummary, GraphReader

Direction = Literal["upstream", "downstream", "both"]
View = Literal["mixed", "artifacts", "executions"]
EdgeKind = Literal["input", "output", "derived", "feeds"]
TruncatedReason = Literal["depth", "limit"]
DEPTH_RANGE = (1, 1000)
LIMIT_RANGE = (1, 100_000)
ROWS_PER_NODE = 4  # one hop reads at most ROWS_PER_NODE × limit events


class ArtifactNode(Record):
    kind: Literal["artifact"] = "artifact"
    digest: str
    type: ArtifactType
    size: int | None
    paths: list[str]  # the paths it had on the events in this graph (all paths for the start)
    hop: int | None  # hops from the start; None in a whole-pipeline graph


class ExecutionNode(Record):
    kind: Literal["execution"] = "execution"
    id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    git_commit: str | None
    git_is_dirty: bool | None
    hop: int | None


LineageNode = Annotated[ArtifactNode | ExecutionNode, Field(discriminator="kind")]


class LineageEdge(Record):
    """source → target. input: artifact → execution; output: execution → artifact;
    derived (artifacts view): input → output of the execution ``via``;
    feeds (executions view): producer → consumer of the artifact ``via``."""

    source: str
    target: str
    kind: EdgeKind
    path: str | None = None
    via: str | None = None


class LineageGraph(Record):
    start: str | None  # a digest or an execution id; None for a whole-pipeline graph
    start_kind: ReferenceKind | Literal["pipeline"]
    direction: Direction
    view: View
    depth: int
    limit: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool
    truncated_reason: TruncatedReason | None
    depth_reached: int


def check_range(depth: int, limit: int) -> None:
    """InvalidInputError unless depth and limit are within the allowed ranges."""
    for name, value, (low, high) in (("depth", depth, DEPTH_RANGE), ("limit", limit, LIMIT_RANGE)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInputError(
                f"{name} must be a whole number from {low} to {high:,}, not {value!r}."
            )


EdgeKey = tuple[str, str, str, str]  # (execution id, digest, direction, path)
Summary: TypeAlias = "ArtifactSummary | ExecutionSummary"
Row: TypeAlias = tuple[str, str, Summary, EdgeKey]  # (from, to, to's summary, edge)


class Walk:
    """The nodes and edges reached so far by breadth-first walks from one start."""

    def __init__(self, reader: "GraphReader", limit: int) -> None:
        self.reader = reader
        self.limit = limit
        self.cap = ROWS_PER_NODE * limit
        self.artifacts: dict[str, ArtifactSummary] = {}
        self.executions: dict[str, ExecutionSummary] = {}
        self.full: dict[str, Execution] = {}  # complete records, when asked for (trace)
        self.hops: dict[str, int] = {}
        self.edges: dict[EdgeKey, None] = {}
        self.start_paths: list[str] = []
        self.expanded: set[str] = set()  # nodes whose every neighbour (walk direction) was read
        self.linked: set[str] = set()  # nodes that had at least one neighbour that way
        self.reason: TruncatedReason | None = None

    def begin(self, kind: ReferenceKind, key: str) -> None:
        if kind == "artifact":
            artifact = self.reader.artifact(key)
            if artifact.type is ArtifactType.ENVIRONMENT:
                raise InvalidInputError(
                    f"{key} is an environment: environments are not lineage nodes (each "
                    "execution names its environment's digest). Ask about an execution instead."
                )
            self.artifacts[key] = artifact
            self.start_paths = self.reader.artifact_paths(key)
        else:
            self.executions[key] = self.reader.execution(key)
        self.hops[key] = 0

    def walk(self, kind: ReferenceKind, key: str, upstream: bool, depth: int) -> None:
        frontier, visited, hop = [key], {key}, 0
        while frontier and self.reason != "limit":
            rows = self._neighbours(kind, frontier, upstream)
            capped = len(rows) > self.cap  # the reader reads one row past the cap
            rows = rows[: self.cap]
            self.linked.update(row[0] for row in rows)
            if not capped:
                self.expanded.update(frontier)
            if hop == depth:
                self._look_past(rows, capped)
                return
            hop += 1
            reached: dict[str, Summary] = {}
            for _, target, record, _ in rows:
                reached.setdefault(target, record)
            fresh = sorted(
                (t for t in reached if t not in self.hops), key=lambda t: _order(reached[t])
            )
            room = self.limit - len(self.hops)
            if len(fresh) > room:
                fresh, self.reason = fresh[:room], "limit"
            for target in reached.keys() & self.hops.keys():  # met before, maybe farther
                self.hops[target] = min(self.hops[target], hop)
            self.hops.update((target, hop) for target in fresh)
            if kind == "artifact":  # this hop went from artifacts to executions
                self.executions.update((t, cast("ExecutionSummary", reached[t])) for t in fresh)
            else:
                self.artifacts.update((t, cast("ArtifactSummary", reached[t])) for t in fresh)
            self._add_edges(rows)
            if capped:
                self.reason = "limit"
            frontier = [t for t in reached if t not in visited and t in self.hops]
            visited.update(frontier)
            kind = "execution" if kind == "artifact" else "artifact"

    def _neighbours(self, kind: ReferenceKind, frontier: list[str], upstream: bool) -> list[Row]:
        """(from, to, to's record, edge) for every event one hop from the frontier."""
        if kind == "artifact":
            way = EventDirection.OUTPUT if upstream else EventDirection.INPUT
            return [
                (
                    h.digest,
                    h.execution.id,
                    h.execution,
                    (h.execution.id, h.digest, way.value, h.path),
                )
                for h in self.reader.executions_of(frontier, way, cap=self.cap)
            ]
        way = EventDirection.INPUT if upstream else EventDirection.OUTPUT
        return [
            (
                h.execution_id,
                h.artifact.digest,
                h.artifact,
                (h.execution_id, h.artifact.digest, way.value, h.path),
            )
            for h in self.reader.artifacts_of(frontier, way, cap=self.cap)
        ]

    def _add_edges(self, rows: list[Row]) -> None:
        for source, target, _, edge in rows:
            if source in self.hops and target in self.hops:
                self.edges.setdefault(edge)

    def _look_past(self, rows: list[Row], capped: bool) -> None:
        self._add_edges(rows)
        beyond = capped or any(target not in self.hops for _, target, _, _ in rows)
        if beyond and self.reason is None:
            self.reason = "depth"

    # -- building records --------------------------------------------------------------------

    def artifact_node(self, digest: str, paths: dict[str, set[str]]) -> ArtifactNode:
        a = self.artifacts[digest]
        seen = paths.get(digest, set()) | (
            set(self.start_paths) if self.hops[digest] == 0 else set()
        )
        return ArtifactNode(
            digest=digest, type=a.type, size=a.size, paths=sorted(seen), hop=self.hops.get(digest)
        )

    def execution_node(self, execution_id: str) -> ExecutionNode:
        return execution_node(self.executions[execution_id], self.hops.get(execution_id))

    def paths(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for _, digest, _, path in self.edges:
            found[digest].add(path)
        return found

    def graph(
        self, start: str, kind: ReferenceKind, direction: Direction, view: View, depth: int
    ) -> LineageGraph:
        paths = self.paths()
        artifacts = [self.artifact_node(d, paths) for d in self.artifacts]
        executions = [self.execution_node(e) for e in self.executions]
        return build_graph(
            artifacts,
            executions,
            list(self.edges),
            start=start,
            start_kind=kind,
            direction=direction,
            view=view,
            depth=depth,
            limit=self.limit,
            reason=self.reason,
        )


def execution_node(e: "Execution | ExecutionSummary", hop: int | None) -> ExecutionNode:
    return ExecutionNode(
        id=e.id,
        pipeline=e.pipeline,
        stage=e.stage,
        status=e.status,
        started_at=e.started_at,
        ended_at=e.ended_at,
        git_commit=e.git_commit_start,
        git_is_dirty=e.git_is_dirty,
        hop=hop,
    )


def _order(record: "Summary") -> tuple[str, str]:
    """Executions by start time (then id), artifacts by digest."""
    started_at = getattr(record, "started_at", None)
    if started_at is not None:
        return (started_at.isoformat(), getattr(record, "id", ""))
    return ("", getattr(record, "digest", ""))


def build_graph(
    artifacts: list[ArtifactNode],
    executions: list[ExecutionNode],
    edges: list[EdgeKey],
    *,
    start: str | None,
    start_kind: ReferenceKind | Literal["pipeline"],
    direction: Direction,
    view: View,
    depth: int,
    limit: int,
    reason: TruncatedReason | None,
) -> LineageGraph:
    """A :class:`LineageGraph` in ``view`` from nodes and (execution, digest, way, path) edges."""
    artifacts.sort(key=lambda n: (n.hop or 0, n.digest))
    executions.sort(key=lambda n: (n.hop or 0, n.started_at, n.id))
    out: list[LineageEdge] = []
    kind: EdgeKind
    every: list[ArtifactNode | ExecutionNode] = [*artifacts, *executions]
    if view == "mixed":
        nodes = sorted(every, key=lambda n: n.hop or 0)
        for execution_id, digest, way, path in edges:
            pair = (digest, execution_id) if way == EventDirection.INPUT else (execution_id, digest)
            kind = "input" if way == EventDirection.INPUT else "output"
            out.append(LineageEdge(source=pair[0], target=pair[1], kind=kind, path=path))
    else:
        ins: dict[str, set[str]] = defaultdict(set)  # execution -> input digests (artifacts view)
        outs: dict[str, set[str]] = defaultdict(set)
        for execution_id, digest, way, _ in edges:
            (ins if way == EventDirection.INPUT else outs)[execution_id].add(digest)
        collapsed: set[tuple[str, str, str]] = set()
        if view == "artifacts":
            nodes = list(artifacts)
            for execution_id, sources in ins.items():
                collapsed.update((s, t, execution_id) for s in sources for t in outs[execution_id])
        else:
            nodes = list(executions)
            producers: dict[str, set[str]] = defaultdict(set)
            for execution_id, digests in outs.items():
                for digest in digests:
                    producers[digest].add(execution_id)
            for consumer, digests in ins.items():
                collapsed.update((p, consumer, d) for d in digests for p in producers[d])
        kind = "derived" if view == "artifacts" else "feeds"
        out = [LineageEdge(source=s, target=t, kind=kind, via=v) for s, t, v in collapsed]
    out.sort(key=lambda e: (e.source, e.target, e.path or "", e.via or ""))
    return LineageGraph(
        start=start,
        start_kind=start_kind,
        direction=direction,
        view=view,
        depth=depth,
        limit=limit,
        nodes=nodes,
        edges=out,
        truncated=reason is not None,
        truncated_reason=reason,
        depth_reached=max((n.hop or 0 for n in every), default=0),
    )


def lineage(
    store: "Store",
    node: str,
    *,
    direction: Direction = "upstream",
    depth: int = 10,
    limit: int = 500,
    view: View = "mixed",
    project_root: Path | None = None,
) -> LineageGraph:
    """The lineage graph around ``node`` (a digest, digest prefix, recorded path, or
    execution id or prefix): ``upstream`` (what it came from), ``downstream`` (what
    came of it) or ``both``, up to ``depth`` hops (1–1000) and ``limit`` nodes
    (1–100,000), as a mixed graph or collapsed to artifacts or executions only."""
    check_range(depth, limit)
    if direction not in ("upstream", "downstream", "both"):
        raise InvalidInputError(
            f"direction must be upstream, downstream or both, not {direction!r}."
        )
    if view not in ("mixed", "artifacts", "executions"):
        raise InvalidInputError(f"view must be mixed, artifacts or executions, not {view!r}.")
    kind, key = resolve_reference(store, node, project_root=project_root)
    with store.graph_reader() as reader:
        walk = Walk(reader, limit)
        walk.begin(kind, key)
        for upstream in {"upstream": (True,), "downstream": (False,), "both": (True, False)}[
            direction
        ]:
            walk.walk(kind, key, upstream, depth)
    return walk.graph(key, kind, direction, view, depth)


__all__ = [
    "ArtifactNode",
    "Direction",
    "ExecutionNode",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "TruncatedReason",
    "View",
    "Walk",
    "build_graph",
    "check_range",
    "execution_node",
    "lineage",
]
