"""The metric_table read tool: metrics across the newest runs of a stage, pipeline or filter.

One call into :func:`cmf_core.compare.metric_table.metric_table`, then the bounded output
of :mod:`cmf_mcp.mcp.output.metric_table`.
"""

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field, StringConstraints

from cmf_core.compare.metric_table import MAX_NAMES, MAX_POINTS, MAX_RUNS
from cmf_core.search.filters import MAX_FILTER_LENGTH
from cmf_mcp.mcp.output import metric_table as mt
from cmf_mcp.mcp.output.budget import result
from cmf_mcp.mcp.output.schemas import Detail, Name
from cmf_mcp.mcp.state import READ, ServerState, tool_errors
from cmf_mcp.mcp.where import empty_note


def register_metric_tools(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="Metrics across runs", annotations=READ)
    def metric_table(
        names: Annotated[
            list[Name],
            Field(
                min_length=1,
                max_length=MAX_NAMES,
                description=f"1 to {MAX_NAMES} metric names, e.g. ['val_loss', 'accuracy'].",
            ),
        ],
        pipeline: Annotated[Name | None, Field(description="Only this pipeline.")] = None,
        stage: Annotated[Name | None, Field(description="Only this stage.")] = None,
        where: Annotated[
            str | None,
            StringConstraints(max_length=MAX_FILTER_LENGTH),
            Field(
                description="A filter over executions in the language of "
                "search_executions' where, e.g. 'params.lr < 0.01 and status = \"completed\"'."
            ),
        ] = None,
        limit: Annotated[
            int,
            Field(
                ge=1,
                le=MAX_RUNS,
                description=f"The newest runs that logged any of the metrics (1 to {MAX_RUNS}; "
                "default 10).",
            ),
        ] = 10,
        points: Annotated[
            int,
            Field(
                ge=mt.MIN_POINTS,
                le=MAX_POINTS,
                description=f"Most samples per step series ({mt.MIN_POINTS} to {MAX_POINTS}; "
                "default 50); fewer are shown when the table would exceed the output budget.",
            ),
        ] = 50,
        detail: Detail = "concise",
    ) -> Annotated[CallToolResult, mt.MetricTableOut]:
        """One or more metrics across the newest runs of a stage, a pipeline or a filter:
        per run its final value, and its step series' last, min, max, step count and a few
        sampled [step, value] points (always the first, last, min and max).

        Answers "the trend of val_loss over the last 5 training runs" in one call. Runs come
        newest first; runs that logged none of the metrics are skipped. Params shown are
        those that differ between the runs ('full': all). Points, then runs, are cut to fit
        the output budget. Next: metric_history(id, name) for every step of one run;
        compare_runs([a, b]).
        """
        from cmf_core.compare.metric_table import metric_table as table

        with tool_errors(state, "Call search_executions or list_pipelines to find the runs."):
            found = table(
                state.store,
                list(names),
                where=where,
                pipeline=pipeline,
                stage=stage,
                limit=limit,
                points=points,
                all_params=detail == "full",
            )
            out = mt.metric_table_out(found, detail)
        return result(out, mt.metric_table_text(out) + empty_note(state, out.runs))
