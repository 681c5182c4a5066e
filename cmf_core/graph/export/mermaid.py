"""A lineage graph as a Mermaid ``flowchart``, with every label escaped."""

import re

from cmf_core.graph.export.labels import STATUS_COLOURS, edge_label, node_lines
from cmf_core.graph.lineage import ArtifactNode, LineageGraph

SAFE = re.compile(r"[A-Za-z0-9 _.,:/=+()@-]")


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: every unusual character as ``#<code>;``."""
    return "".join(c if SAFE.fullmatch(c) else f"#{ord(c)};" for c in text)


def to_mermaid(graph: LineageGraph) -> str:
    """A Mermaid ``flowchart LR``: artifacts as cylinders, executions as boxes (failed
    red, running yellow), edges labelled with the path (or, collapsed, the execution
    or artifact they stand for). Node ids are ``n0, n1, …``; labels are escaped."""
    ids: dict[str, str] = {}
    out = ["flowchart LR"]
    for number, node in enumerate(graph.nodes):
        key = node.digest if isinstance(node, ArtifactNode) else node.id
        ids[key] = f"n{number}"
        label = "<br/>".join(_mermaid_text(line) for line in node_lines(node) if line)
        if isinstance(node, ArtifactNode):
            out.append(f'    n{number}[("{label}")]')
        else:
            out.append(f'    n{number}["{label}"]')
            if node.status.value in STATUS_COLOURS:
                out.append(f"    class n{number} {node.status.value}")
    for edge in graph.edges:
        if edge.source in ids and edge.target in ids:
            label = _mermaid_text(edge_label(edge.path, edge.via))
            arrow = f'-->|"{label}"|' if label else "-->"
            out.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    for status, colour in STATUS_COLOURS.items():
        out.append(f"    classDef {status} fill:{colour}")
    return "\n".join(out) + "\n"
