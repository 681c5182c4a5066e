"""The read tools: pipelines, executions and artifacts, search, lineage, compare, metric
history and reproduce. Each body is one call into cmf_core (the store's reads, lookups,
search, lineage, compare, metrics, recipes), then a bounded output model
(:mod:`cmf_mcp.mcp.output.budget`, :mod:`~cmf_mcp.mcp.output.query`,
:mod:`~cmf_mcp.mcp.output.compare`) and its text.
"""

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field, StringConstraints

from cmf_core.cmflib.mlmd import find_mlmd_file
from cmf_core.search.filters import MAX_FILTER_LENGTH
from cmf_core.search.help import filter_help, sort_help
from cmf_mcp.mcp.output import budget as out
from cmf_mcp.mcp.output import compare as c
from cmf_mcp.mcp.output import query as q
from cmf_mcp.mcp.output.budget import execution_summary, result
from cmf_mcp.mcp.output.choices import ArtifactTypeName, StatusName
from cmf_mcp.mcp.output.final_metrics import metrics_rows
from cmf_mcp.mcp.output.label_room import fit_labels
from cmf_mcp.mcp.output.labels import label_rows, lineage_labels, read_labels
from cmf_mcp.mcp.output.pipelines import PipelinePage, pipeline_page, pipelines_text
from cmf_mcp.mcp.output.schemas import (
    Cursor,
    Detail,
    DetailLevel,
    ExecutionRef,
    ExecutionView,
    Name,
    decode_cursor,
)
from cmf_mcp.mcp.output.stale import mark_stale
from cmf_mcp.mcp.state import READ, ServerState, tool_errors
from cmf_mcp.mcp.where import empty_note

ExecutionFilter = Annotated[
    str | None,
    StringConstraints(max_length=MAX_FILTER_LENGTH),
    Field(description=filter_help("executions")),
]
ArtifactFilter = Annotated[
    str | None,
    StringConstraints(max_length=MAX_FILTER_LENGTH),
    Field(description=filter_help("artifacts")),
]
Optional = Annotated[str | None, StringConstraints(max_length=255)]


def register_read_tools(server: MCPServer[Any], state: ServerState) -> None:
    from cmf_mcp.mcp.tools.artifact import register_artifact_tools
    from cmf_mcp.mcp.tools.card import register_card_tools
    from cmf_mcp.mcp.tools.metrics import register_metric_tools

    register_records(server, state)
    register_artifact_tools(server, state)
    register_queries(server, state)
    register_metric_tools(server, state)
    register_card_tools(server, state)


def register_queries(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="Search runs", annotations=READ)
    def search_executions(
        where: ExecutionFilter = None,
        pipeline: Annotated[Name | None, Field(description="Only this pipeline.")] = None,
        stage: Annotated[Name | None, Field(description="Only this stage.")] = None,
        status: Annotated[StatusName | None, Field(description="Only this state.")] = None,
        since: Annotated[
            Optional, Field(description="Started at or after (ISO date/time).")
        ] = None,
        until: Annotated[Optional, Field(description="Started before, or on that day.")] = None,
        git_commit: Annotated[Optional, Field(description="A prefix of the start commit.")] = None,
        sort: Annotated[
            str,
            StringConstraints(max_length=100),
            Field(description=sort_help("executions")),
        ] = "-started_at",
        limit: Annotated[int, Field(ge=1, le=100, description="Executions per page.")] = 20,
        cursor: Cursor = None,
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, q.ExecutionPageOut]:
        """Find executions (runs) by pipeline, stage, status, time, commit, params or metrics.

        Use it to list a pipeline's runs, find the best run (sort='-metrics.accuracy'), or
        find failed ones. Next: get_execution(id) for one run; compare_runs([a, b]).
        """
        from cmf_core.search.search import search_executions as search

        def fetch(count: int) -> Any:
            return search(
                state.store,
                where,
                pipeline=pipeline,
                stage=stage,
                status=status,
                since=since,
                until=until,
                git_commit=git_commit,
                sort=sort,
                limit=count,
                cursor=cursor,
            )

        def rows(found: Any, at: DetailLevel) -> list[Any]:
            summaries = [execution_summary(e, at) for e in found]
            summaries = metrics_rows(
                state.store, summaries, where=where, sort=sort, full=at == "full"
            )
            return label_rows(state.store, "execution", summaries, [e.id for e in found])

        def build(page: Any, truncated: bool, at: DetailLevel = detail) -> q.ExecutionPageOut:
            return q.ExecutionPageOut(
                items=mark_stale(
                    state.store,
                    rows(page.items, at),
                    stale_after=state.settings.stale_after,
                ),
                has_more=page.has_more,
                next_cursor=page.next_cursor,
                truncated=truncated,
                sort=sort.strip(),
                **q.totals(page),
            )

        with tool_errors(state):
            out = q.fit_search(fetch, limit, build, lambda page: build(page, True, "concise"))
        return result(out, q.executions_text(out) + empty_note(state, out.items))

    @server.tool(title="Search artifacts", annotations=READ)
    def search_artifacts(
        where: ArtifactFilter = None,
        type: Annotated[
            ArtifactTypeName | None,
            Field(description="Only this artifact type."),
        ] = None,
        path: Annotated[
            str | None,
            StringConstraints(max_length=4_096),
            Field(description="A glob over recorded paths, e.g. 'models/*' (* crosses '/')."),
        ] = None,
        digest_prefix: Annotated[Optional, Field(description="e.g. 'md5:3f2a'.")] = None,
        pipeline: Annotated[Name | None, Field(description="Read or written in it.")] = None,
        produced_by_stage: Annotated[Name | None, Field(description="Written by it.")] = None,
        sort: Annotated[
            str,
            StringConstraints(max_length=100),
            Field(description=sort_help("artifacts")),
        ] = "-created_at",
        limit: Annotated[int, Field(ge=1, le=100, description="Artifacts per page.")] = 20,
        cursor: Cursor = None,
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, q.ArtifactPageOut]:
        """Find artifacts (datasets, models, …) by type, path glob, digest prefix or producer.

        Use it to find "the model at models/*.pkl" or every dataset a pipeline touched.
        Next: get_artifact(digest) for who made and used one; query_lineage(digest).
        """
        from cmf_core.search.search import search_artifacts as search

        def fetch(count: int) -> Any:
            return search(
                state.store,
                where,
                type=type,
                path=path,
                digest_prefix=digest_prefix,
                pipeline=pipeline,
                produced_by_stage=produced_by_stage,
                sort=sort,
                limit=count,
                cursor=cursor,
            )

        def build(page: Any, truncated: bool, at: DetailLevel = detail) -> q.ArtifactPageOut:
            return q.ArtifactPageOut(
                items=label_rows(
                    state.store,
                    "artifact",
                    [q.artifact_hit(h, at) for h in page.items],
                    [h.artifact.digest for h in page.items],
                ),
                has_more=page.has_more,
                next_cursor=page.next_cursor,
                truncated=truncated,
                **q.totals(page),
            )

        with tool_errors(state):
            out = q.fit_search(fetch, limit, build, lambda page: build(page, True, "concise"))
        return result(out, q.artifacts_text(out) + empty_note(state, out.items))

    @server.tool(title="Lineage graph", annotations=READ)
    def query_lineage(
        node: Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=4_096),
            Field(
                description="Where to start: an artifact digest, digest prefix or recorded "
                "path, or an execution id or prefix."
            ),
        ],
        direction: Annotated[
            Literal["upstream", "downstream", "both"],
            Field(description="'upstream': what it came from; 'downstream': what came of it."),
        ] = "upstream",
        depth: Annotated[
            int, Field(ge=1, le=100, description="Hops to walk; artifact -> execution is one.")
        ] = 4,
        limit: Annotated[int, Field(ge=1, le=200, description="Most nodes to return.")] = 60,
        view: Annotated[
            Literal["mixed", "artifacts", "executions"],
            Field(description="'mixed' graph, or collapsed to only artifacts or executions."),
        ] = "mixed",
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, q.LineageOut]:
        """The lineage graph around an artifact or execution: nodes by hop and their edges.

        Use it for "which data and code produced this model?" (upstream) or "what did this
        dataset feed?" (downstream). A cut graph says why (depth, limit or budget); raise depth
        or narrow the start. Next: get_execution / get_artifact on a node.
        """
        from cmf_core.graph.lineage import lineage
        from cmf_core.graph.lookup import resolve_reference

        with tool_errors(state, "Call search_artifacts or search_executions to find a start."):
            # Resolved here so a relative path is read from the project root, not the cwd.
            key = resolve_reference(
                state.store, node, project_root=state.project_root, cwd=state.project_root
            )[1]
            graph = lineage(
                state.store,
                key,
                direction=direction,
                depth=depth,
                limit=limit,
                view=view,
                project_root=state.project_root,
            )
            out = q.lineage_out(graph, detail, lineage_labels(state.store, graph))
        return result(out, q.lineage_text(out))

    @server.tool(title="Compare runs", annotations=READ)
    def compare_runs(
        ids: Annotated[
            list[ExecutionRef],
            Field(
                min_length=2,
                max_length=10,
                description="2 to 10 execution ids or prefixes; the first is the baseline.",
            ),
        ],
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, c.CompareOut]:
        """What differs between runs — params, metrics, inputs, code, environment — and where
        their lineage parts: the answer to "why is run B worse than run A?".

        The summary lists the differences most likely to explain a change first. Next:
        get_artifact on a differing input's digests, or get_execution on a run.
        """
        from cmf_core.compare.compare import compare_runs as compare

        with tool_errors(state, "Call search_executions to find the runs."):
            out = c.compare_out(compare(state.store, ids), detail)
        return result(out, c.compare_text(out))

    @server.tool(title="One metric step by step", annotations=READ)
    def metric_history(
        execution_id: ExecutionRef,
        name: Annotated[Name, Field(description="The metric, e.g. 'loss'.")],
        limit: Annotated[int, Field(ge=1, le=1_000, description="Steps per page.")] = 200,
        cursor: Cursor = None,
    ) -> Annotated[CallToolResult, c.MetricHistoryOut]:
        """One metric of one execution, step by step (a loss curve), with min, max and final.

        get_execution lists a run's step series. Pages hold `limit` steps; follow next_cursor.
        """
        from cmf_core.compare.metrics import metric_history as history

        with tool_errors(state, "get_execution lists the run's metrics."):
            offset = decode_cursor("steps", cursor)
            out = c.metric_history_out(
                history(state.store, execution_id, name), offset=offset, limit=limit
            )
        return result(out, c.metric_history_text(out))

    @server.tool(title="Recipe to reproduce a run", annotations=READ)
    def reproduce(
        execution_id: ExecutionRef,
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, c.RecipeOut]:
        """The recipe to run an execution again: commit, inputs to fetch (digest -> path),
        command, params and environment, with warnings about what may not reproduce.

        `cmf reproduce ID --script` prints the same recipe as a runnable shell script.
        """
        from cmf_core.recipes.recipe import reproduce as recipe

        with tool_errors(state, "Call search_executions to find the run."):
            out = c.recipe_out(recipe(state.store, execution_id), detail)
        return result(out, c.recipe_text(out))


def register_records(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="List pipelines", annotations=READ)
    def list_pipelines(
        detail: Detail = "concise",
        limit: Annotated[int, Field(ge=1, le=200, description="Pipelines per page.")] = 50,
        cursor: Annotated[
            str | None, Field(max_length=200, description="next_cursor of the previous page.")
        ] = None,
    ) -> Annotated[CallToolResult, PipelinePage]:
        """List the recorded pipelines, their stages and executions per pipeline and per stage.
        Start here to see what is in the store. Next: search_executions(pipeline=NAME).
        """
        with tool_errors(state):
            offset = decode_cursor("pipelines", cursor)
            page = pipeline_page(
                state.store.list_pipelines(),
                state.store.list_stages(),
                detail,
                offset=offset,
                limit=limit,
                counts=state.store.execution_counts(),
            )
        found = None if page.items else find_mlmd_file(state.project_root)
        mlmd = found.name if found is not None else None
        text = pipelines_text(page, mlmd) + empty_note(state, page.items, mlmd=False)
        return out.result(page, text)

    @server.tool(title="One run", annotations=READ)
    def get_execution(
        execution_id: ExecutionRef,
        detail: Detail = "concise",
        limit: Annotated[int, Field(ge=1, le=200, description="Inputs and outputs per page.")] = 25,
        cursor: Annotated[
            str | None, Field(max_length=200, description="next_cursor of the previous page.")
        ] = None,
    ) -> Annotated[CallToolResult, ExecutionView]:
        """One execution (a run of a stage): status, params, Git commit, inputs, outputs, metrics.

        Next: get_artifact(digest) on an input or output; metric_history for a step series.
        """
        with tool_errors(state, "Call search_executions to find the run."):
            offset = decode_cursor("events", cursor)
            view = out.execution_view(
                state.store.get_execution_detail(execution_id), detail, offset=offset, limit=limit
            )
            run = view.execution.id
            labels = read_labels(state.store, "execution", [run], rows=False)
            fit_labels(view, view.execution, labels.get(run))
            mark_stale(state.store, [view.execution], stale_after=state.settings.stale_after)
        return out.result(view, out.execution_text(view))
