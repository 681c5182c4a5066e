"""A layered left-to-right layout of a directed graph (Sugiyama style).

networkx does the graph work (strongly connected components, so a corrupt cycle
cannot hang it; topological order); layers are longest-path layers of the
condensation; an edge that spans several layers gets a waypoint in each layer
between (a dummy node with a cell of its own), so it runs around nodes, never
through one; crossings are reduced by barycenter sweeps (down and up, a few
rounds); each node gets its own (layer, row) cell, so no two nodes overlap.
"""

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170, 34, 70, 14, 20
SWEEPS = 4


@dataclass(frozen=True)
class Placed:
    x: float  # left edge
    y: float  # top edge
    layer: int
    row: int


@dataclass(frozen=True)
class Layout:
    places: dict[Hashable, Placed]
    width: float
    height: float
    routes: dict[tuple[Hashable, Hashable], list[Placed]]  # waypoints of long edges


def layered_layout(
    nodes: Sequence[Hashable], edges: Sequence[tuple[Hashable, Hashable]], *, sweeps: int = SWEEPS
) -> Layout:
    """Positions of ``nodes`` with edges pointing left to right."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((s, t) for s, t in edges if s != t)
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]  # node -> component
    depth: dict[int, int] = {}
    for component in nx.topological_sort(condensed):
        before = [depth[p] + 1 for p in condensed.predecessors(component)]
        depth[component] = max(before, default=0)
    layer_of = {node: depth[members[node]] for node in nodes}
    layers: dict[int, list[Hashable]] = defaultdict(list)
    for node in nodes:  # the given order is the first order of each layer
        layers[layer_of[node]].append(node)
    chains: dict[tuple[Hashable, Hashable], list[Hashable]] = {}
    for s, t in list(graph.edges):
        if layer_of[t] - layer_of[s] > 1:
            chain: list[Hashable] = [
                ("waypoint", s, t, i) for i in range(layer_of[s] + 1, layer_of[t])
            ]
            for i, waypoint in zip(range(layer_of[s] + 1, layer_of[t]), chain, strict=True):
                layers[i].append(waypoint)
            graph.remove_edge(s, t)
            nx.add_path(graph, [s, *chain, t])
            chains[(s, t)] = chain
    ordered = [layers[i] for i in range(len(layers))]
    _reduce_crossings(graph, ordered, sweeps)
    tallest = max((len(layer) for layer in ordered), default=0)
    places: dict[Hashable, Placed] = {}
    for index, layer in enumerate(ordered):
        offset = (tallest - len(layer)) * (NODE_H + GAP_Y) / 2
        for row, node in enumerate(layer):
            x = MARGIN + index * (NODE_W + GAP_X)
            y = MARGIN + offset + row * (NODE_H + GAP_Y)
            places[node] = Placed(x, y, index, row)
    width = 2 * MARGIN + len(ordered) * (NODE_W + GAP_X) - GAP_X
    height = 2 * MARGIN + tallest * (NODE_H + GAP_Y) - GAP_Y
    routes = {edge: [places.pop(w) for w in chain] for edge, chain in chains.items()}
    return Layout(places, max(width, 0), max(height, 0), routes)


def curve(a: Placed, b: Placed, via: Sequence[Placed] = ()) -> str:
    """The SVG path (``d=``) of an edge from ``a``'s right side to ``b``'s left side: curves
    between layers, straight through each waypoint's cell."""
    points = [(a.x + NODE_W, a.y + NODE_H / 2)]
    for w in via:
        points += [(w.x, w.y + NODE_H / 2), (w.x + NODE_W, w.y + NODE_H / 2)]
    points.append((b.x, b.y + NODE_H / 2))
    d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for i, ((x0, y0), (x1, y1)) in enumerate(pairwise(points)):
        if i % 2:  # through a waypoint's cell
            d.append(f"L{x1:.1f},{y1:.1f}")
            continue
        bend = max(abs(x1 - x0) / 2, 30)
        d.append(f"C{x0 + bend:.1f},{y0:.1f} {x1 - bend:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(d)


def _reduce_crossings(graph: "nx.DiGraph", layers: list[list[Hashable]], sweeps: int) -> None:
    """Reorder each layer by the mean position of its neighbours in the layer before
    (sweeping right) or after (sweeping left); nodes with none keep their place."""
    position: dict[Hashable, float] = {}

    def remember(layer: list[Hashable]) -> None:
        for row, node in enumerate(layer):
            position[node] = row / max(len(layer), 1)

    for layer in layers:
        remember(layer)
    for round_ in range(sweeps):
        forward = round_ % 2 == 0
        indexes = range(1, len(layers)) if forward else range(len(layers) - 2, -1, -1)
        for i in indexes:
            layer = layers[i]
            neighbours = graph.predecessors if forward else graph.successors
            keys = {}
            for node in layer:
                near = [position[n] for n in neighbours(node) if n in position]
                keys[node] = sum(near) / len(near) if near else position[node]
            layer.sort(key=lambda n: keys[n])
            remember(layer)


__all__ = ["NODE_H", "NODE_W", "Layout", "Placed", "curve", "layered_layout"]
