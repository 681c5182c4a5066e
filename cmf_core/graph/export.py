"""Lineage in other formats.

A :class:`~cmf_core.graph.lineage.LineageGraph` exports as JSON (its record), as a
Mermaid ``flowchart`` or as Graphviz DOT; these need nothing beyond cmf. Whole
pipelines (or the executions of a graph) export as OpenLineage run events and
as W3C PROV-JSON, built with the reference libraries, which are optional
extras imported only here: ``pip install 'cmf[openlineage]'`` (openlineage-python)
and ``pip install 'cmf[prov]'`` (prov).

OpenLineage mapping: stage → job ``<pipeline>.<stage>`` in ``namespace``;
execution → run (its id is the runId) with a START event at its start and a
COMPLETE or FAIL event at its end (a running execution has only START);
artifact → dataset named by the path the run saw, with the digest as its
``version`` facet. PROV mapping: artifact → entity ``artifact:<digest>``,
execution → activity ``execution:<id>``, input → ``used``, output →
``wasGeneratedBy``, the site an execution ran on → agent (``wasAssociatedWith``).
"""

import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from cmf_core.errors import ConfigError, InvalidInputError
from cmf_core.graph.lineage import (
    ArtifactNode,
    Direction,
    ExecutionNode,
    LineageGraph,
    View,
    build_graph,
    check_range,
    execution_node,
    lineage,
)
from cmf_core.records import EventDetail, EventDirection, Execution, ExecutionStatus

if TYPE_CHECKING:
    from cmf_core.store import Store

PRODUCER = "urn:cmf:exporter"  # the OpenLineage `producer` URI unless one is given
PROV_BASE = "urn:cmf:"
BATCH = 500
SAFE = re.compile(r"[A-Za-z0-9 _.,:/=+()@-]")
STATUS_COLOURS = {"failed": "#f8d7da", "running": "#fff3cd"}
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
    """One export as text chunks (OpenLineage: one JSON event per line, streamed).

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
        return iter([to_prov(store, pipeline=pipeline, execution_ids=ids) + "\n"])
    events = to_openlineage(store, pipeline=pipeline, execution_ids=ids, namespace=namespace)
    first = next(events, None)  # imports openlineage (or fails) now, not mid-stream
    return _event_lines(first, events)


def _event_lines(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[str]:
    if first is not None:
        yield json.dumps(first, ensure_ascii=False) + "\n"
    for event in rest:
        yield json.dumps(event, ensure_ascii=False) + "\n"


def to_json(graph: LineageGraph) -> str:
    return graph.model_dump_json(indent=2)


# -- Mermaid and DOT ---------------------------------------------------------------------------


def _lines(node: ArtifactNode | ExecutionNode) -> list[str]:
    if isinstance(node, ArtifactNode):
        first_path = node.paths[0] if node.paths else ""
        more = f" (+{len(node.paths) - 1})" if len(node.paths) > 1 else ""
        return [f"{node.type.value} {node.digest[:16]}", first_path + more]
    commit = (node.git_commit or "")[:10] + ("*" if node.git_is_dirty else "")
    return [f"{node.pipeline} / {node.stage}", f"{node.id[:13]} {node.status.value}", commit]


def _edge_label(path: str | None, via: str | None) -> str:
    return path if path is not None else (via or "")[:16]


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
        label = "<br/>".join(_mermaid_text(line) for line in _lines(node) if line)
        if isinstance(node, ArtifactNode):
            out.append(f'    n{number}[("{label}")]')
        else:
            out.append(f'    n{number}["{label}"]')
            if node.status.value in STATUS_COLOURS:
                out.append(f"    class n{number} {node.status.value}")
    for edge in graph.edges:
        if edge.source in ids and edge.target in ids:
            label = _mermaid_text(_edge_label(edge.path, edge.via))
            arrow = f'-->|"{label}"|' if label else "-->"
            out.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    for status, colour in STATUS_COLOURS.items():
        out.append(f"    classDef {status} fill:{colour}")
    return "\n".join(out) + "\n"


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
        label = _dot_text("\n".join(line for line in _lines(node) if line))
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
            label = _edge_label(edge.path, edge.via)
            attributes = f" [label={_dot_text(label)}]" if label else ""
            out.append(f"    {_dot_text(edge.source)} -> {_dot_text(edge.target)}{attributes};")
    out.append("}")
    return "\n".join(out) + "\n"


# -- runs of whole pipelines -------------------------------------------------------------------


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


def _missing(package: str, extra: str, what: str) -> ConfigError:
    return ConfigError(
        f"The {what} export needs the {package} package: pip install 'cmf[{extra}]'."
    )


def to_openlineage(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    namespace: str = "cmf",
    producer: str = PRODUCER,
) -> Iterator[dict[str, Any]]:
    """OpenLineage run events (JSON-ready dicts) for every execution selected as in
    :func:`iter_runs`: START, then COMPLETE or FAIL once it ended."""
    try:
        from openlineage.client import event_v2 as ol
        from openlineage.client.serde import Serde
    except ImportError as exc:
        raise _missing("openlineage-python", "openlineage", "OpenLineage") from exc
    for execution, found in iter_runs(store, pipeline=pipeline, execution_ids=execution_ids):
        for event in _run_events(ol, execution, found, namespace, producer):
            yield Serde.to_dict(event)


def _run_events(
    ol: Any, execution: Execution, found: list[EventDetail], namespace: str, producer: str
) -> list[Any]:
    from openlineage.client.generated import (
        dataset_type_dataset,
        dataset_version_dataset,
        error_message_run,
        execution_parameters_run,
        job_type_job,
        source_code_location_job,
    )

    def facets(event: EventDetail) -> dict[str, Any]:
        kind = "MODEL" if event.artifact.type.value == "model" else "FILE"
        return {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=event.artifact.digest, producer=producer
            ),
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType=kind, subType=event.artifact.type.value, producer=producer
            ),
        }

    inputs = [
        ol.InputDataset(namespace=namespace, name=e.path, facets=facets(e))
        for e in found
        if e.direction is EventDirection.INPUT
    ]
    outputs = [
        ol.OutputDataset(namespace=namespace, name=e.path, facets=facets(e))
        for e in found
        if e.direction is EventDirection.OUTPUT
    ]
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="CMF", jobType="STAGE", producer=producer
        )
    }
    if execution.git_remote and execution.git_commit_start:
        job_facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url=execution.git_remote,
            repoUrl=execution.git_remote,
            version=execution.git_commit_start,
            branch=execution.git_branch,
            producer=producer,
        )
    job = ol.Job(
        namespace=namespace, name=f"{execution.pipeline}.{execution.stage}", facets=job_facets
    )
    run_facets: dict[str, Any] = {}
    if execution.params:
        parameters = [
            execution_parameters_run.ExecutionParameter(
                key=key, value=value if isinstance(value, str) else json.dumps(value)
            )
            for key, value in execution.params.items()
        ]
        run_facets["executionParameters"] = execution_parameters_run.ExecutionParametersRunFacet(
            parameters=parameters, producer=producer
        )
    events = [
        ol.RunEvent(
            eventType=ol.RunState.START,
            eventTime=execution.started_at.isoformat(),
            run=ol.Run(runId=execution.id, facets=run_facets),
            job=job,
            inputs=inputs,
            outputs=outputs if execution.status is ExecutionStatus.RUNNING else [],
            producer=producer,
        )
    ]
    if execution.status is not ExecutionStatus.RUNNING and execution.ended_at is not None:
        failed = execution.status is ExecutionStatus.FAILED
        end_facets = dict(run_facets)
        if failed:
            end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=execution.error or "failed",
                programmingLanguage="python",
                producer=producer,
            )
        events.append(
            ol.RunEvent(
                eventType=ol.RunState.FAIL if failed else ol.RunState.COMPLETE,
                eventTime=execution.ended_at.isoformat(),
                run=ol.Run(runId=execution.id, facets=end_facets),
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=producer,
            )
        )
    return events


def to_prov(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    base_uri: str = PROV_BASE,
) -> str:
    """A W3C PROV-JSON document of the executions selected as in :func:`iter_runs`."""
    try:
        from prov.model import PROV, ProvDocument
    except ImportError as exc:
        raise _missing("prov", "prov", "PROV-JSON") from exc
    document = ProvDocument()
    cmf = document.add_namespace("cmf", base_uri + "vocab#")
    artifact = document.add_namespace("artifact", base_uri + "artifact:")
    execution_ns = document.add_namespace("execution", base_uri + "execution:")
    site = document.add_namespace("site", base_uri + "site:")
    entities: set[str] = set()
    agents: set[str] = set()
    for execution, found in iter_runs(store, pipeline=pipeline, execution_ids=execution_ids):
        attributes: dict[Any, Any] = {
            "prov:label": f"{execution.pipeline}/{execution.stage}",
            cmf["pipeline"]: execution.pipeline,
            cmf["stage"]: execution.stage,
            cmf["status"]: execution.status.value,
            cmf["gitCommit"]: execution.git_commit_start,
            cmf["gitCommitEnd"]: execution.git_commit_end,
            cmf["gitDirty"]: execution.git_is_dirty,
            cmf["environment"]: execution.environment_digest,
            cmf["params"]: json.dumps(execution.params, sort_keys=True)
            if execution.params
            else None,
        }
        activity = document.activity(
            execution_ns[execution.id],
            execution.started_at,
            execution.ended_at,
            {k: v for k, v in attributes.items() if v is not None},
        )
        if execution.site:
            # Quoted: a space or '#' in a site name would not make a valid qualified name.
            agent = site[quote(execution.site, safe="")]
            if execution.site not in agents:
                agents.add(execution.site)
                described: dict[Any, Any] = {
                    "prov:type": PROV["SoftwareAgent"],
                    "prov:label": execution.site,
                }
                document.agent(agent, described)
            document.wasAssociatedWith(activity, agent)
        for event in found:
            entity = artifact[event.artifact.digest]
            if event.artifact.digest not in entities:
                entities.add(event.artifact.digest)
                details = {cmf["type"]: event.artifact.type.value, cmf["size"]: event.artifact.size}
                document.entity(entity, {k: v for k, v in details.items() if v is not None})
            if event.direction is EventDirection.INPUT:
                document.used(activity, entity, other_attributes={cmf["path"]: event.path})
            else:
                document.wasGeneratedBy(
                    entity, activity, other_attributes={cmf["path"]: event.path}
                )
    text = document.serialize(format="json")
    assert isinstance(text, str)
    return text


__all__ = [
    "FORMATS",
    "PRODUCER",
    "export_lineage",
    "iter_runs",
    "pipeline_graph",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_openlineage",
    "to_prov",
]
