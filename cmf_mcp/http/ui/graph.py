"""The lineage page's drawing: a LineageGraph laid out and turned into SVG geometry.

Artifacts are rounded boxes, executions square ones (different colours); edges
are cubic curves from a node's right side to the next one's left side. With two
chosen nodes, the nodes and edges of a path between them are marked.
"""

from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import quote

import networkx as nx

from cmf_core.graph.lineage import ArtifactNode, ExecutionNode, LineageGraph
from cmf_mcp.http.ui.labels import labels_title
from cmf_mcp.http.ui.layout import curve, layered_layout


@dataclass(frozen=True)
class DrawnNode:
    key: str
    kind: str  # artifact | execution
    label: str
    sub: str
    title: str
    href: str
    x: float
    y: float
    is_start: bool
    on_path: bool


@dataclass(frozen=True)
class DrawnEdge:
    path: str  # SVG d=
    on_path: bool


@dataclass(frozen=True)
class Drawing:
    nodes: list[DrawnNode]
    edges: list[DrawnEdge]
    width: float
    height: float
    path_found: bool | None  # None: no path asked for


def draw(
    graph: LineageGraph,
    *,
    source: str | None = None,
    target: str | None = None,
    labels: dict[str, dict[str, str]] | None = None,
) -> Drawing:
    """``labels``: each node's current labels (by digest or id), shown in its tooltip."""
    keys = [_key(n) for n in graph.nodes]
    pairs = [(e.source, e.target) for e in graph.edges]
    layout = layered_layout(keys, pairs)
    on_path, found = _path(keys, pairs, source, target)
    path_edges = set(pairwise(on_path)) if on_path else set()
    path_edges |= {(b, a) for a, b in path_edges}
    nodes = []
    for node in graph.nodes:
        key = _key(node)
        place = layout.places[key]
        if isinstance(node, ArtifactNode):
            label = node.paths[0] if node.paths else node.digest
            sub = f"{node.type} · {node.digest.removeprefix('md5:')[:8]}"
            href = f"/artifacts/{quote(node.digest, safe=':')}"
            title = f"{node.digest}\n" + "\n".join(node.paths[:5])
        else:
            label = f"{node.stage}"
            sub = f"{node.status} · {node.id[:8]}"
            href = f"/executions/{quote(node.id, safe='')}"
            title = f"{node.pipeline}/{node.stage} {node.id}"
        if labels and key in labels:
            title += "\n" + labels_title(labels[key])
        nodes.append(
            DrawnNode(
                key=key,
                kind=node.kind,
                label=_clip(label),
                sub=sub,
                title=title,
                href=href,
                x=place.x,
                y=place.y,
                is_start=key == graph.start,
                on_path=key in set(on_path),
            )
        )
    edges = []
    for s, t in pairs:
        a, b = layout.places.get(s), layout.places.get(t)
        if a is None or b is None:
            continue
        via = layout.routes.get((s, t), [])
        edges.append(DrawnEdge(curve(a, b, via), (s, t) in path_edges))
    return Drawing(nodes, edges, layout.width, layout.height, found)


def _key(node: ArtifactNode | ExecutionNode) -> str:
    return node.digest if isinstance(node, ArtifactNode) else node.id


def _path(
    keys: list[str], pairs: list[tuple[str, str]], source: str | None, target: str | None
) -> tuple[list[str], bool | None]:
    """A directed path source → target (or target → source), else an undirected one."""
    if not source or not target:
        return [], None
    wanted = [_match(keys, source), _match(keys, target)]
    if None in wanted:
        return [], False
    a, b = wanted[0] or "", wanted[1] or ""
    graph: nx.DiGraph = nx.DiGraph(pairs)
    graph.add_nodes_from(keys)
    for s, t in ((a, b), (b, a)):
        if nx.has_path(graph, s, t):
            return list(nx.shortest_path(graph, s, t)), True
    undirected = graph.to_undirected()
    if nx.has_path(undirected, a, b):
        return list(nx.shortest_path(undirected, a, b)), True
    return [], False


def _match(keys: list[str], prefix: str) -> str | None:
    prefix = prefix.strip()
    found = [k for k in keys if k == prefix or k.removeprefix("md5:").startswith(prefix)]
    found = found or [k for k in keys if k.startswith(prefix)]
    return found[0] if len(found) == 1 else None


def _clip(text: str, size: int = 24) -> str:
    return text if len(text) <= size else "…" + text[-(size - 1) :]


__all__ = ["Drawing", "draw"]
