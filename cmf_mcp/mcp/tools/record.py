"""The MCP tools: the recording tools here, the read tools in :mod:`cmf_mcp.mcp.tools.read`.

What the tools share (:class:`~cmf_mcp.mcp.state.ServerState`,
:func:`~cmf_mcp.mcp.state.tool_errors`, the write check and the progress heartbeat) lives in
:mod:`cmf_mcp.mcp.state`. Each tool body is one call into cmf_core.
"""

import os
import threading
import warnings
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

from mcp.server.mcpserver import Context, ListRoots, MCPServer, Resolve
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import CallToolResult, ListRootsRequest, ListRootsResult
from pydantic import Field

from cmf_core.digest import short_digest
from cmf_core.errors import CmfWarning
from cmf_mcp.mcp.output import budget as out
from cmf_mcp.mcp.output.choices import DirectionName, EndStatusName, LoggableTypeName
from cmf_mcp.mcp.output.schemas import (
    EndedExecution,
    ExecutionRef,
    JsonMap,
    LoggedArtifact,
    LoggedMetrics,
    Name,
    StartedExecution,
    short_id,
)
from cmf_mcp.mcp.state import (
    RECORD,
    RECORD_IDEMPOTENT,
    ServerState,
    require_write,
    tool_errors,
    with_heartbeat,
)
from cmf_mcp.mcp.tools.metric_steps import (
    MAX_STEP,
    METRICS,
    STEPS,
    Metrics,
    Steps,
    check_form,
)


def register_tools(server: MCPServer[Any], state: ServerState) -> None:
    from cmf_mcp.mcp.tools.annotate import register_annotate
    from cmf_mcp.mcp.tools.read import register_read_tools

    if not state.read_only:
        register_recording(server, state)
        register_annotate(server, state)
    register_read_tools(server, state)


# -- recording -----------------------------------------------------------------------------


def register_recording(server: MCPServer[Any], state: ServerState) -> None:
    def wants_roots(path: str, ctx: Context) -> bool:
        """Client roots matter only for a path outside the project, on a local server."""
        inside = not os.path.isabs(path) and ".." not in Path(path).parts
        caps = ctx.client_capabilities
        return not (inside or not state.trust_client_roots or caps is None or caps.roots is None)

    async def declared_roots(path: str, ctx: Context) -> ListRoots | None:
        """On a connection without a back channel (the input-required protocol era) the
        roots arrive as an input round; otherwise the tool body asks (:func:`ask_roots`)."""
        if not wants_roots(path, ctx) or ctx.session.can_send_request:
            return None
        return ListRoots()

    async def ask_roots(path: str, ctx: Context) -> ListRootsResult | None:
        """The client's roots, asked for in the tool body; a client that fails to answer
        (an error, no back channel) has declared none, so only the project is readable."""
        if not wants_roots(path, ctx) or not ctx.session.can_send_request:
            return None
        try:
            answer: ListRootsResult = await ctx.session.send_request(
                ListRootsRequest(),
                ListRootsResult,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except MCPError:
            return None
        return answer

    @server.tool(title="Start recording a run", annotations=RECORD)
    def start_execution(
        pipeline: Annotated[Name, Field(description="Pipeline name, e.g. 'fraud-detection'.")],
        stage: Annotated[Name, Field(description="Stage name within it, e.g. 'train'.")],
        params: Annotated[
            JsonMap | None, Field(description="Parameters of this run, e.g. {'lr': 0.01}.")
        ] = None,
        properties: Annotated[
            JsonMap | None, Field(description="Free-form notes or tags, e.g. {'why': 'baseline'}.")
        ] = None,
        command: Annotated[
            str | None,
            Field(max_length=10_000, description="The command the run executes, for reproduce."),
        ] = None,
    ) -> Annotated[CallToolResult, StartedExecution]:
        """Record the start of a run (an execution) of a pipeline stage, BEFORE doing the work.

        Use it when you are about to run a step whose data, parameters and results should be
        tracked (training, preprocessing, evaluation). Returns the execution id. Then call
        log_artifact for each input (event='input'), do the work, call log_artifact for each
        output (event='output') and log_metrics for its results, and finish with end_execution.
        Pipelines and stages are created on first use.
        """
        require_write()
        with tool_errors(state):
            run = state.cmf.start_execution(
                stage,
                pipeline=pipeline,
                params=params,
                properties=properties,
                command=command or "",
            )
            git = run.execution.git_commit_start
        started = StartedExecution(
            execution_id=run.id,
            short_id=short_id(run.id),
            pipeline=pipeline,
            stage=stage,
            status="running",
            git_commit=git,
            notes=list(state.notes),
        )
        text = (
            f"Started execution {run.id} ({out.plain(pipeline)}/{out.plain(stage)}, running"
            + (f", git {git[:10]}" if git else "")
            + ").\n"
            + "".join(f"note: {n}\n" for n in state.notes)
            + "next: log_artifact(execution_id, path, event='input') for each input; after the "
            "work, log_artifact(..., event='output') and log_metrics; then end_execution."
        )
        return out.result(started, text)

    @server.tool(title="Record an input or output file", annotations=RECORD_IDEMPOTENT)
    async def log_artifact(
        execution_id: ExecutionRef,
        path: Annotated[
            str,
            Field(
                min_length=1,
                max_length=4_096,
                description="File or directory to hash and record, relative to the project root "
                "('data/train.csv', 'models/'). Only paths inside the project can be read.",
            ),
        ],
        event: Annotated[
            DirectionName,
            Field(description="'input' if the run read it, 'output' if the run wrote it."),
        ],
        roots: Annotated[ListRootsResult | None, Resolve(declared_roots)],
        ctx: Context,
        type: Annotated[
            LoggableTypeName | None,
            Field(description="Artifact type; default 'dataset' for inputs, 'other' for outputs."),
        ] = None,
        properties: Annotated[
            JsonMap | None, Field(description="Free-form facts about it, e.g. {'rows': 1200}.")
        ] = None,
    ) -> Annotated[CallToolResult, LoggedArtifact]:
        """Hash a file or directory and record it as an input or output of a running execution.

        execution_id is what start_execution returned. The bytes are
        identified by their content digest ('md5:…', DVC-compatible), so the same data logged
        by two runs joins their lineage. Large directories take a while; progress is reported.
        Returns the digest; get_artifact(digest) shows who produced and used it.
        """
        require_write()
        kind = type or ("dataset" if event == "input" else "other")
        roots = roots or await ask_roots(path, ctx)
        allowed = [state.project_root, *_root_paths(roots)]
        stop = threading.Event()  # set should the request be cancelled while hashing

        def record() -> tuple[str, str, Any]:
            from cmf_core.paths import check_readable

            with tool_errors(state):
                readable = check_readable(path, roots=allowed)
                run = state.cmf.attach(execution_id)
                # within: each file is checked again as opened, so a swapped link cannot leak
                if readable.is_relative_to(state.project_root):
                    logged = run.log_artifact(
                        readable,
                        type=kind,
                        event=event,
                        properties=properties,
                        within=allowed,
                        stop=stop,
                    )
                    return run.id, state.cmf.resolve_path(readable)[1], logged
                with warnings.catch_warnings():  # recorded as an absolute path, as intended
                    warnings.simplefilter("ignore", CmfWarning)
                    logged = run.log_artifact(
                        readable,
                        type=kind,
                        event=event,
                        properties=properties,
                        within=allowed,
                        stop=stop,
                    )
                return run.id, "(a path in a client root)", logged

        run_id, recorded, artifact = await with_heartbeat(
            ctx, record, f"hashing {out.plain(path)}", stop=stop
        )
        logged = LoggedArtifact(
            execution_id=run_id,
            digest=artifact.digest,
            short_digest=short_digest(artifact.digest),
            event=event,
            type=artifact.type.value,
            path=recorded,
            size=artifact.size,
            nfiles=artifact.nfiles,
        )
        text = (
            f"Logged {out.plain(recorded)} as {event} ({artifact.type.value}, "
            f"{out.size(artifact.size)}) of execution {short_id(run_id)}: {artifact.digest}"
        )
        return out.result(logged, text)

    @server.tool(title="Record metrics", annotations=RECORD_IDEMPOTENT)
    def log_metrics(
        execution_id: ExecutionRef,
        metrics: Annotated[Metrics | None, Field(description=METRICS)] = None,
        step: Annotated[
            int | None,
            Field(
                ge=0,
                le=MAX_STEP,
                description="Omit for final results; give the step (epoch) "
                "for one point of a series such as loss per epoch.",
            ),
        ] = None,
        steps: Annotated[Steps | None, Field(description=STEPS)] = None,
    ) -> Annotated[CallToolResult, LoggedMetrics]:
        """Record metrics of a running execution: final results, one step of series, or a
        batch of steps (a whole loss curve in one call).

        Give either metrics (with step for one point of each series) or steps. Re-sending
        an equal value is harmless; a different value for the same name (and step) is
        refused, since recorded history never changes. metric_history reads a series back.
        """
        require_write()
        check_form(metrics, step, steps)
        with tool_errors(state):
            run = state.cmf.attach(execution_id)
            if steps is None:
                assert metrics is not None
                run.log_metrics(metrics, step=step)
            else:
                for item in steps:
                    run.log_metrics(item.values, step=item.step)
            run.flush()
        if steps is None:
            assert metrics is not None
            names, count = list(metrics), len(metrics)
        else:
            names = list(dict.fromkeys(n for item in steps for n in item.values))
            count = sum(len(item.values) for item in steps)
        logged = LoggedMetrics(
            execution_id=run.id,
            count=count,
            names=names[:50],
            step=step,
            steps=None if steps is None else len(steps),
        )
        if steps is not None:
            at = f" over {len(steps)} step(s) ({steps[0].step}…{steps[-1].step})"
        else:
            at = "" if step is None else f" at step {step}"
        return out.result(
            logged, f"Logged {count} metric value(s){at} for execution {short_id(run.id)}."
        )

    @server.tool(title="End a recorded run", annotations=RECORD)
    def end_execution(
        execution_id: ExecutionRef,
        status: Annotated[
            EndStatusName,
            Field(description="'completed' (default) or 'failed' when the work did not succeed."),
        ] = "completed",
        error: Annotated[
            str | None,
            Field(max_length=10_000, description="For a failed run: what went wrong."),
        ] = None,
    ) -> Annotated[CallToolResult, EndedExecution]:
        """Mark a running execution ended, after its outputs and metrics are logged.

        An ended execution is immutable: start a new one to record more. Afterwards,
        get_execution shows what was recorded.
        """
        require_write()
        with tool_errors(state):
            run = state.cmf.attach(execution_id)
            run.end(status, error=error)
            summary = out.execution_summary(run.execution, "concise")
        ended = EndedExecution(execution=summary)
        return out.result(ended, "Ended " + "\n".join(out.summary_lines(summary)))


def _root_paths(roots: ListRootsResult | None) -> list[Path]:
    if roots is None:
        return []
    paths = []
    for root in roots.roots:
        uri = urlparse(str(root.uri))
        if uri.scheme == "file" and uri.path:
            paths.append(Path(unquote(uri.path)))
    return paths
