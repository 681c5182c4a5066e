"""Lineage in other formats, one module per format.

A :class:`~cmf_core.graph.lineage.LineageGraph` exports as JSON (its record,
:func:`to_json`), as a Mermaid ``flowchart`` (:mod:`.mermaid`) or as Graphviz
DOT (:mod:`.dot`), with the labels of :mod:`.labels`; these need nothing beyond
cmf. Whole pipelines (or the executions of a graph, selected by :mod:`.runs`)
export as OpenLineage run events and as one W3C PROV-JSON document, streamed:
read page by page and written as they are read, so memory stays flat however
large the store (:mod:`.openlineage_lines`, :mod:`.prov_stream`). They write
the JSON themselves, for speed; :mod:`.openlineage` and :mod:`.prov` build the
same output in memory with the reference libraries (optional extras imported
only there: ``pip install 'cmf[openlineage]'``, ``pip install 'cmf[prov]'``),
and the tests hold the two to the same events and records. The OpenLineage
stream still takes the spec's schema URLs from openlineage-python.

:func:`export_lineage` is the one entry point the surfaces call: it checks the
arguments, reads the graph and returns the export as text chunks.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import InvalidInputError
from cmf_core.graph.export.dot import to_dot
from cmf_core.graph.export.mermaid import to_mermaid
from cmf_core.graph.export.openlineage import PRODUCER, to_openlineage
from cmf_core.graph.export.openlineage_lines import stream_openlineage
from cmf_core.graph.export.prov import PROV_BASE, to_prov
from cmf_core.graph.export.prov_stream import stream_prov
from cmf_core.graph.export.runs import iter_runs, pipeline_graph
from cmf_core.graph.lineage import Direction, ExecutionNode, LineageGraph, View, lineage

if TYPE_CHECKING:
    from cmf_core.store import Store

GRAPH_FORMATS = ("json", "mermaid", "dot")
FORMATS = (*GRAPH_FORMATS, "openlineage", "prov")


def export_lineage(
    store: "Store",
    format: str,
    *,
    node: str | None = None,
    pipeline: str | None = None,
    direction: Direction = "both",
    depth: int = 10,
    limit: int = 500,
    view: View = "mixed",
    namespace: str = "cmf",
    project_root: Path | None = None,
) -> Iterator[str]:
    """One export as text chunks. OpenLineage (JSON Lines, one event a line) and PROV
    (one PROV-JSON document) are streamed: each chunk is one page of executions read.

    ``json``, ``mermaid`` and ``dot`` export ``node``'s lineage graph (``direction``,
    ``depth``, ``limit``, ``view`` as for :func:`~cmf_core.graph.lineage.lineage`) or, with
    only ``pipeline``, :func:`pipeline_graph`. ``openlineage`` and ``prov`` export the
    executions of ``node``'s lineage graph, else of ``pipeline``, else of every
    pipeline. Arguments are checked, and the graph read, before this returns.
    """
    if format not in FORMATS:
        raise InvalidInputError(
            f"Unknown export format {format!r}; use one of {', '.join(FORMATS)}."
        )
    graph: LineageGraph | None = None
    if node is not None:
        graph = lineage(
            store,
            node,
            direction=direction,
            depth=depth,
            limit=limit,
            view=view if format in GRAPH_FORMATS else "mixed",
            project_root=project_root,
        )
    elif format in GRAPH_FORMATS:
        if pipeline is None:
            raise InvalidInputError(
                f"A {format} export is of one graph: name a node (artifact or execution) "
                "or a pipeline."
            )
        graph = pipeline_graph(store, pipeline, limit=limit, view=view)
    if format in GRAPH_FORMATS:
        assert graph is not None
        render = {"json": to_json, "mermaid": to_mermaid, "dot": to_dot}[format]
        return iter([render(graph).rstrip("\n") + "\n"])
    ids = None if graph is None else [n.id for n in graph.nodes if isinstance(n, ExecutionNode)]
    if format == "prov":
        return stream_prov(store, pipeline=pipeline, execution_ids=ids)
    return stream_openlineage(store, pipeline=pipeline, execution_ids=ids, namespace=namespace)


def to_json(graph: LineageGraph) -> str:
    return graph.model_dump_json(indent=2)


__all__ = [
    "FORMATS",
    "PRODUCER",
    "PROV_BASE",
    "export_lineage",
    "iter_runs",
    "pipeline_graph",
    "stream_openlineage",
    "stream_prov",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_openlineage",
    "to_prov",
]
