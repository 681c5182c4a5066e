"""The ``get_artifact`` read tool: one artifact by digest, short id or path, its producing
and using runs a page at a time (the store reads only that page of events, so a raw
dataset read by a million runs costs the same as one read once).
"""

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from cmf_mcp.mcp.output import budget as out
from cmf_mcp.mcp.output.label_room import fit_labels
from cmf_mcp.mcp.output.labels import read_labels
from cmf_mcp.mcp.output.schemas import ArtifactRef, ArtifactView, Detail, decode_cursor
from cmf_mcp.mcp.state import READ, ServerState, tool_errors

ENRICHED_EXECUTIONS = 10  # producers and users of an artifact shown with pipeline and stage


def register_artifact_tools(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="One artifact", annotations=READ)
    def get_artifact(
        reference: ArtifactRef,
        detail: Detail = "concise",
        limit: Annotated[
            int, Field(ge=1, le=200, description="Producing and using runs per page.")
        ] = 25,
        cursor: Annotated[
            str | None, Field(max_length=200, description="next_cursor of the previous page.")
        ] = None,
    ) -> Annotated[CallToolResult, ArtifactView]:
        """One artifact (a file or directory, by content): type, size, which runs produced it
        and which runs read it. Answers "what produced this model?".

        Next: get_execution(id) of a producer for its inputs and params.
        """
        from cmf_core.graph.lookup import describe
        from cmf_core.records import ArtifactDetail

        with tool_errors(state, "Call search_artifacts with a path or type to find it."):
            offset = decode_cursor("uses", cursor)
            found = describe(
                state.store,
                reference,
                project_root=state.project_root,
                cwd=state.project_root,
                events_limit=limit,
                events_offset=offset,
            )
            if not isinstance(found, ArtifactDetail):
                raise ToolError(
                    f"{reference!r} names an execution, not an artifact; "
                    "call get_execution with it."
                )
            ids = out.page_execution_ids(
                found, offset=offset, limit=limit, most=ENRICHED_EXECUTIONS
            )
            executions = {i: state.store.get_execution(i) for i in ids}
            view = out.artifact_view(found, executions, detail, offset=offset, limit=limit)
            labels = read_labels(state.store, "artifact", [view.digest], rows=False)
            fit_labels(view, view, labels.get(view.digest))
        return out.result(view, out.artifact_text(view))
