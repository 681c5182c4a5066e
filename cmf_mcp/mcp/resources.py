"""MCP resources under ``cmf://``: pipelines, executions and artifacts as bounded JSON.

=============================  =====================================================
``cmf://pipelines``            every pipeline with its stages (first 200)
``cmf://pipelines/{name}``     one pipeline: stages and its 20 newest executions
``cmf://executions/{id}``      one execution (id or unique prefix), as get_execution
``cmf://artifacts/{digest}``   one artifact (digest or unique prefix), as get_artifact
``cmf://lineage/{digest}``     its upstream lineage (4 hops, 60 nodes) as Mermaid
``cmf://models/{reference}``   one model's card (digest or unique prefix), as model_card
=============================  =====================================================

Each JSON body is the same bounded output model the matching tool returns.
A missing record is a resource-not-found error whose message says what to call.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from cmf_core.errors import CmfError, NotFoundError
from cmf_mcp.mcp.output import budget as out
from cmf_mcp.mcp.output.pipelines import pipeline_page
from cmf_mcp.mcp.state import ServerState
from cmf_mcp.mcp.tools.artifact import ENRICHED_EXECUTIONS

JSON = "application/json"
PAGE = 25
NEWEST = 20


@contextmanager
def resource_errors(state: ServerState) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(state.describe(exc)) from None
    except CmfError as exc:
        raise ResourceError(state.describe(exc)) from None


def register_resources(server: MCPServer[Any], state: ServerState) -> None:
    @server.resource("cmf://pipelines", name="pipelines", mime_type=JSON)
    def pipelines() -> str:
        """Every recorded pipeline with its stages (the first 200)."""
        with resource_errors(state):
            page = pipeline_page(
                state.store.list_pipelines(),
                state.store.list_stages(),
                "concise",
                offset=0,
                limit=200,
                counts=state.store.execution_counts(),
            )
        return page.model_dump_json()

    @server.resource("cmf://pipelines/{name}", name="pipeline", mime_type=JSON)
    def pipeline(name: str) -> str:
        """One pipeline: its stages and its 20 newest executions."""
        with resource_errors(state):
            found = [p for p in state.store.list_pipelines() if p.name == name]
            if not found:
                raise ResourceNotFoundError(
                    f"No pipeline named {name[:200]!r}; read cmf://pipelines for the names."
                )
            stages = state.store.list_stages(pipeline=name)
            newest = state.store.list_executions(pipeline=name, limit=NEWEST)
        counts = state.store.execution_counts()
        page = pipeline_page(found, stages, "full", offset=0, limit=1, counts=counts)
        body = {
            "pipeline": page.items[0].model_dump(mode="json") if page.items else None,
            "newest_executions": [
                out.execution_summary(e, "concise").model_dump(mode="json") for e in newest
            ],
        }
        return json.dumps(body, ensure_ascii=False)

    @server.resource("cmf://executions/{id}", name="execution", mime_type=JSON)
    def execution(id: str) -> str:
        """One execution (full id or unique prefix): params, inputs, outputs, metrics."""
        with resource_errors(state):
            detail = state.store.get_execution_detail(id[:64])
        return out.execution_view(detail, "concise", offset=0, limit=PAGE).model_dump_json()

    @server.resource("cmf://artifacts/{digest}", name="artifact", mime_type=JSON)
    def artifact(digest: str) -> str:
        """One artifact (digest or unique prefix): who produced it and who used it."""
        with resource_errors(state):
            detail = state.store.get_artifact_detail(digest[:200], events_limit=PAGE)
            ids = out.page_execution_ids(detail, offset=0, limit=PAGE, most=ENRICHED_EXECUTIONS)
            executions = {i: state.store.get_execution(i) for i in ids}
        view = out.artifact_view(detail, executions, "concise", offset=0, limit=PAGE)
        return view.model_dump_json()

    @server.resource("cmf://lineage/{digest}", name="lineage", mime_type="text/vnd.mermaid")
    def lineage_diagram(digest: str) -> str:
        """Where an artifact came from (4 hops upstream, up to 60 nodes), as a Mermaid flowchart."""
        from cmf_core.graph.export import to_mermaid
        from cmf_core.graph.lineage import lineage
        from cmf_core.graph.lookup import resolve_reference

        root = state.project_root
        with resource_errors(state):
            key = resolve_reference(state.store, digest[:200], project_root=root, cwd=root)[1]
            graph = lineage(
                state.store, key, direction="upstream", depth=4, limit=60, project_root=root
            )
        return to_mermaid(graph)

    @server.resource("cmf://models/{reference}", name="model_card", mime_type=JSON)
    def model_card(reference: str) -> str:
        """One model's card (digest or unique prefix), as the model_card tool gives it."""
        from cmf_core.graph.card import model_card as card_of
        from cmf_mcp.mcp.tools.card import card_out

        with resource_errors(state):
            found = card_of(state.store, reference[:200], project_root=state.project_root)
        return card_out(found, "concise").model_dump_json()
