"""A lineage graph as a Graphviz DOT ``digraph``, with every string quoted and escaped."""

from cmf_core.graph.export.labels import STATUS_COLOURS, edge_label, node_lines
from cmf_core.graph.lineage import ArtifactNode, LineageGraph


def _dot_text(text: str) -> str:
    """``text`` as a DOT double-quoted string (backslashes, quotes and newlines escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(graph: LineageGraph) -> str:
    """A Graphviz ``digraph`` (left to right); node ids are the digests and execution ids."""
    out = [
        "digraph lineage {",
        "    rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=10];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    known: set[str] = set()
    for node in graph.nodes:
        label = _dot_text("\n".join(line for line in node_lines(node) if line))
        if isinstance(node, ArtifactNode):
            known.add(node.digest)
            out.append(f"    {_dot_text(node.digest)} [shape=cylinder, label={label}];")
        else:
            known.add(node.id)
            fill = STATUS_COLOURS.get(node.status.value, "#ffffff")
            out.append(
                f'    {_dot_text(node.id)} [shape=box, style="rounded,filled", '
                f'fillcolor="{fill}", label={label}];'
            )
    for edge in graph.edges:
        if edge.source in known and edge.target in known:
            label = edge_label(edge.path, edge.via)
            attributes = f" [label={_dot_text(label)}]" if label else ""
            out.append(f"    {_dot_text(edge.source)} -> {_dot_text(edge.target)}{attributes};")
    out.append("}")
    return "\n".join(out) + "\n"
