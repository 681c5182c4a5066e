"""Trace and impact: one-way lineage walks from an artifact, as records.

:func:`trace` walks upstream from an artifact to the executions that produced it
and on to raw sources, reading each execution's complete record (Git commits,
params, environment digest). :func:`impact` walks downstream to every execution
that consumed it, directly or transitively, grouped by pipeline and stage, and
names the end models. Both use the breadth-first walk of :mod:`cmf_core.graph.lineage`,
so ``depth``, ``limit`` and truncation mean what they mean there.
"""

from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import InvalidInputError, Kind
from cmf_core.graph.lineage import (
    ArtifactNode,
    ExecutionNode,
    TruncatedReason,
    Walk,
    check_range,
)
from cmf_core.graph.lookup import resolve_reference
from cmf_core.records import ArtifactType, EventDirection, Execution, Record

if TYPE_CHECKING:
    from cmf_core.store import Store


def _walk_from_artifact(
    store: "Store",
    artifact: str,
    *,
    upstream: bool,
    depth: int,
    limit: int,
    project_root: Path | None,
    what: str,
    full: bool = False,
) -> tuple[str, Walk]:
    """Resolve ``artifact`` (refusing an execution) and walk one way from it; with
    ``full``, also read the complete records of the executions reached."""
    check_range(depth, limit)
    kind, key = resolve_reference(store, artifact, project_root=project_root)
    if kind != "artifact":
        raise InvalidInputError(
            f"{what} starts from an artifact, and {artifact!r} is execution {key}.",
            kind=Kind.EXECUTION,
            reference=key,
        )
    with store.graph_reader() as reader:
        walk = Walk(reader, limit)
        walk.begin(kind, key)
        walk.walk(kind, key, upstream, depth)
        if full:
            walk.full = reader.full_executions(walk.executions)
    return key, walk


class TraceArtifact(Record):
    digest: str
    type: ArtifactType
    size: int | None
    paths: list[str]
    hop: int
    is_source: bool | None  # True: nothing recorded produced it; None: not looked at (cut)
    produced_by: list[str]  # ids of the executions in this trace that wrote it


class TraceExecution(Record):
    execution: Execution  # with Git commits (start, end, dirty), params, environment digest
    hop: int
    inputs: list[str]  # digests (in this trace)
    outputs: list[str]


class Trace(Record):
    """Where an artifact came from: its producers and everything upstream to raw sources."""

    artifact: TraceArtifact
    producers: list[str]  # ids of the executions that wrote it (more than one: made twice)
    executions: list[TraceExecution]  # every execution upstream, nearest first
    artifacts: list[TraceArtifact]  # every artifact upstream (the start left out)
    sources: list[str]  # digests of the raw sources reached (the start too, if it is one)
    depth: int
    limit: int
    truncated: bool
    truncated_reason: TruncatedReason | None
    depth_reached: int


def trace(
    store: "Store",
    artifact: str,
    *,
    depth: int = 10,
    limit: int = 500,
    project_root: Path | None = None,
) -> Trace:
    """The executions that produced ``artifact`` and everything upstream of them, down
    to raw sources, with each execution's Git commit, params and environment digest."""
    _, walk = _walk_from_artifact(
        store,
        artifact,
        upstream=True,
        depth=depth,
        limit=limit,
        project_root=project_root,
        what="A trace",
        full=True,
    )
    paths = walk.paths()
    ins: dict[str, list[str]] = defaultdict(list)
    outs: dict[str, list[str]] = defaultdict(list)
    for execution_id, digest, way, _ in sorted(walk.edges):
        side = ins if way == EventDirection.INPUT else outs
        if digest not in side[execution_id]:
            side[execution_id].append(digest)
    producers: dict[str, list[str]] = defaultdict(list)
    for execution_id, digests in outs.items():
        for digest in digests:
            producers[digest].append(execution_id)

    def traced(digest: str) -> TraceArtifact:
        node = walk.artifact_node(digest, paths)
        expanded = digest in walk.expanded
        return TraceArtifact(
            digest=digest,
            type=node.type,
            size=node.size,
            paths=node.paths,
            hop=walk.hops[digest],
            is_source=(digest not in walk.linked) if expanded else None,
            produced_by=sorted(producers[digest]),
        )

    artifacts = sorted((traced(d) for d in walk.artifacts), key=lambda a: (a.hop, a.digest))
    executions = sorted(
        (
            TraceExecution(execution=e, hop=walk.hops[e.id], inputs=ins[e.id], outputs=outs[e.id])
            for e in walk.full.values()
        ),
        key=lambda t: (t.hop, t.execution.started_at, t.execution.id),
    )
    return Trace(
        artifact=artifacts[0],
        producers=artifacts[0].produced_by,
        executions=executions,
        artifacts=artifacts[1:],
        sources=[a.digest for a in artifacts if a.is_source],
        depth=depth,
        limit=limit,
        truncated=walk.reason is not None,
        truncated_reason=walk.reason,
        depth_reached=max(walk.hops.values()),
    )


class ImpactGroup(Record):
    pipeline: str
    stage: str
    executions: list[ExecutionNode]  # oldest first
    outputs: list[str]  # digests these executions wrote (in this graph)


class Impact(Record):
    """What an artifact fed: downstream executions by pipeline and stage, and end models.

    An end model is a model downstream of the artifact from which no other model
    downstream is derived: evaluating it (writing metrics) leaves it an end model,
    fine-tuning it into another model does not. The start artifact is never one.
    """

    artifact: ArtifactNode
    groups: list[ImpactGroup]  # by pipeline, then nearest stage first
    artifacts: list[ArtifactNode]  # every artifact downstream (the start left out)
    end_models: list[ArtifactNode]
    execution_count: int
    depth: int
    limit: int
    truncated: bool
    truncated_reason: TruncatedReason | None
    depth_reached: int


def impact(
    store: "Store",
    artifact: str,
    *,
    depth: int = 100,
    limit: int = 1000,
    project_root: Path | None = None,
) -> Impact:
    """Everything downstream of ``artifact``: the executions that consumed it directly
    or transitively, grouped by pipeline and stage, the artifacts they wrote, and the
    models at the end."""
    start, walk = _walk_from_artifact(
        store,
        artifact,
        upstream=False,
        depth=depth,
        limit=limit,
        project_root=project_root,
        what="Impact",
    )
    paths = walk.paths()
    nodes = {d: walk.artifact_node(d, paths) for d in walk.artifacts}
    grouped: dict[tuple[str, str], list[ExecutionNode]] = defaultdict(list)
    for execution_id in walk.executions:
        node = walk.execution_node(execution_id)
        grouped[(node.pipeline, node.stage)].append(node)
    outputs: dict[str, set[str]] = defaultdict(set)
    before: dict[str, set[str]] = defaultdict(set)  # node -> the nodes with an edge into it
    for execution_id, digest, way, _ in walk.edges:
        if way == EventDirection.OUTPUT:
            outputs[execution_id].add(digest)
            before[digest].add(execution_id)
        else:
            before[execution_id].add(digest)
    models = [d for d, n in nodes.items() if n.type is ArtifactType.MODEL and d != start]
    feeds_a_model: set[str] = set()  # nodes upstream of some model (in this graph)
    queue = deque(p for m in models for p in before[m])
    while queue:
        node_key = queue.popleft()
        if node_key not in feeds_a_model:
            feeds_a_model.add(node_key)
            queue.extend(before[node_key])
    groups = [
        ImpactGroup(
            pipeline=pipeline,
            stage=stage,
            executions=sorted(members, key=lambda n: (n.started_at, n.id)),
            outputs=sorted({d for n in members for d in outputs[n.id]}),
        )
        for (pipeline, stage), members in grouped.items()
    ]
    groups.sort(key=lambda g: (g.pipeline, min(n.hop or 0 for n in g.executions), g.stage))
    downstream = sorted(
        (n for d, n in nodes.items() if d != start), key=lambda n: (n.hop, n.digest)
    )
    return Impact(
        artifact=nodes[start],
        groups=groups,
        artifacts=downstream,
        end_models=[n for n in downstream if n.digest in models and n.digest not in feeds_a_model],
        execution_count=len(walk.executions),
        depth=depth,
        limit=limit,
        truncated=walk.reason is not None,
        truncated_reason=walk.reason,
        depth_reached=max(walk.hops.values()),
    )


__all__ = [
    "Impact",
    "ImpactGroup",
    "Trace",
    "TraceArtifact",
    "TraceExecution",
    "impact",
    "trace",
]
