"""The ``annotate`` recording tool: a label or note on an execution or artifact, after the fact.

One call into :func:`cmf_core.annotate.annotate`. Registered with the other recording tools,
so a read-only server does not offer it; a read-scoped HTTP token is refused.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field, StringConstraints

from cmf_core.annotate import MAX_KEY, MAX_NOTE, MAX_VALUE
from cmf_core.digest import short_digest
from cmf_mcp.mcp.output import budget as out
from cmf_mcp.mcp.output.labels import Labels, labels_text, read_labels
from cmf_mcp.mcp.output.schemas import Output, short_id
from cmf_mcp.mcp.state import RECORD, ServerState, require_write, tool_errors

Key = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=MAX_KEY,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$",
    ),
    Field(
        description=f"The label's key: 1 to {MAX_KEY} letters, digits, '_', '.' or '-', "
        "starting with a letter or '_' (e.g. 'quality', 'stage', 'verdict')."
    ),
]


class AnnotationOut(Output):
    uid: str = Field(description="This annotation's own id.")
    target_kind: Literal["execution", "artifact"]
    target: str = Field(description="The full execution id or artifact digest annotated.")
    short: str
    key: str
    value: str | None = Field(description="None: the label is cleared (or this is a note).")
    note: str | None = Field(description="[user data]")
    author: str
    recorded_at: datetime
    labels: Labels = None


def register_annotate(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="Label or note a run or artifact", annotations=RECORD)
    def annotate(
        reference: Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=4_096),
            Field(
                description="What to annotate: an execution id or prefix, an artifact digest "
                "or prefix ('md5:3f2a…'), or a path an artifact was logged under "
                "('data/raw.csv', its newest version)."
            ),
        ],
        key: Key,
        value: Annotated[
            str | None,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VALUE),
            Field(
                description=f"The label's value, one line of at most {MAX_VALUE:,} characters "
                "(e.g. 'bad', 'prod'). Omit to clear the label, or to record only a note."
            ),
        ] = None,
        note: Annotated[
            str | None,
            StringConstraints(min_length=1, max_length=MAX_NOTE),
            Field(description=f"Free text: why, what was seen (at most {MAX_NOTE:,} characters)."),
        ] = None,
    ) -> Annotated[CallToolResult, AnnotationOut]:
        """Say something about a recorded run or artifact after the fact: a label
        (key = value, e.g. quality = bad, stage = prod, verdict = dead-end) and/or a note.

        Append-only: nothing recorded changes. A later label with the same key supersedes
        this one when reading; the history keeps both, with who said it. Labels appear in
        get_execution, get_artifact, the search tools and query_lineage, and filter
        searches: where='labels.quality = "bad"'.
        """
        from cmf_core.annotate import annotate as record
        from cmf_core.annotate import default_author

        require_write()
        token = get_access_token()
        with tool_errors(state, "Call search_artifacts or search_executions to find it."):
            author = token.client_id if token is not None else default_author(state.project_root)
            said = record(
                state.store,
                reference,
                key,
                value,
                note=note,
                author=author,
                project_root=state.project_root,
                cwd=state.project_root,
            )
            kind: Literal["execution", "artifact"] = (
                "execution" if said.target_kind == "execution" else "artifact"
            )
            labels = read_labels(state.store, kind, [said.target_key], rows=False)
        answer = AnnotationOut(
            uid=said.uid,
            target_kind=kind,
            target=said.target_key,
            short=short_id(said.target_key)
            if kind == "execution"
            else short_digest(said.target_key),
            key=said.key,
            value=said.value,
            note=said.note,
            author=said.author,
            recorded_at=said.recorded_at,
            labels=labels.get(said.target_key),
        )
        what = f"{key} = {out.plain(value)}" if value is not None else f"{key} cleared"
        text = (
            f"Annotated {kind} {said.target_key}: {what}"
            + (" (with a note)" if note else "")
            + f", by {out.plain(said.author)}.\n"
            + (labels_text(answer.labels) or "labels: none now")
            + f"\nnext: search_{kind}s(where='labels.{key} = \"…\"') finds the others so "
            "labelled; query_lineage shows labels on every node."
        )
        return out.result(answer, text)
