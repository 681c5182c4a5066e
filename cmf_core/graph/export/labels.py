"""What the Mermaid and DOT drawings of a lineage graph write on nodes and edges.

An artifact shows its type, the first 16 characters of its digest and its first
path (with how many more it was seen under); an execution its pipeline and
stage, the first 13 characters of its id, its status and its Git commit (``*``
when the work tree was dirty). An edge shows the path the run saw, or, in a
collapsed view, the artifact or execution it stands for. Failed and running
executions are coloured.
"""

from cmf_core.graph.lineage import ArtifactNode, ExecutionNode

STATUS_COLOURS = {"failed": "#f8d7da", "running": "#fff3cd"}


def node_lines(node: ArtifactNode | ExecutionNode) -> list[str]:
    if isinstance(node, ArtifactNode):
        first_path = node.paths[0] if node.paths else ""
        more = f" (+{len(node.paths) - 1})" if len(node.paths) > 1 else ""
        return [f"{node.type.value} {node.digest[:16]}", first_path + more]
    commit = (node.git_commit or "")[:10] + ("*" if node.git_is_dirty else "")
    return [f"{node.pipeline} / {node.stage}", f"{node.id[:13]} {node.status.value}", commit]


def edge_label(path: str | None, via: str | None) -> str:
    return path if path is not None else (via or "")[:16]
