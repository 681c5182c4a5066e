"""The pipelines listing (``list_pipelines``, ``cmf://pipelines``): each pipeline's stages and
how many executions each holds, bounded like every other output."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from cmf_core.records import Pipeline, Stage
from cmf_mcp.mcp.output.budget import DATA, data, more_line, plain
from cmf_mcp.mcp.output.schemas import (
    LIMITS,
    USER_DATA,
    DetailLevel,
    Output,
    PageInfo,
    clip_mapping,
    clip_text,
    encode_cursor,
    fit,
)


class PipelineItem(Output):
    name: str
    stages: list[str]
    created_at: datetime
    properties: dict[str, Any] | None = Field(description=USER_DATA + " None in concise detail.")
    executions: int = Field(default=0, description="Executions recorded in this pipeline.")
    stage_executions: dict[str, int] = Field(
        default_factory=dict, description="Executions per stage (the stages listed)."
    )


class PipelinePage(PageInfo):
    items: list[PipelineItem]
    total: int


def pipeline_page(
    pipelines: Sequence[Pipeline],
    stages: Sequence[Stage],
    level: DetailLevel,
    *,
    offset: int,
    limit: int,
    counts: Mapping[tuple[str, str], int] | None = None,
) -> PipelinePage:
    """``counts``: executions per (pipeline, stage) (:meth:`Store.execution_counts`)."""
    by_pipeline: dict[str, list[str]] = {}
    for stage in stages:
        by_pipeline.setdefault(stage.pipeline, []).append(stage.name)
    counts = counts or {}

    def item(pipeline: Pipeline, at: DetailLevel) -> PipelineItem:
        properties = clip_mapping(pipeline.properties, at)[0] if at == "full" else None
        names = by_pipeline.get(pipeline.name, [])
        shown = names[: LIMITS[at].keys * 2]
        return PipelineItem(
            name=clip_text(pipeline.name, at)[0] or "",
            stages=[clip_text(name, at)[0] or "" for name in shown],
            created_at=pipeline.created_at,
            properties=properties,
            executions=sum(counts.get((pipeline.name, name), 0) for name in names),
            stage_executions={
                clip_text(name, at)[0] or "": counts.get((pipeline.name, name), 0) for name in shown
            },
        )

    def build(items: Sequence[Pipeline], truncated: bool, at: DetailLevel = level) -> PipelinePage:
        end = offset + len(items)
        more = end < len(pipelines)
        return PipelinePage(
            items=[item(p, at) for p in items],
            total=len(pipelines),
            has_more=more,
            next_cursor=encode_cursor("pipelines", end) if more else None,
            truncated=truncated,
        )

    page = pipelines[offset : offset + limit]
    return fit(page, build, lambda items: build(items, True, "concise"))


def pipelines_text(page: PipelinePage, mlmd_file: str | None = None) -> str:
    """``mlmd_file``: a cmflib ML Metadata file found in the project, named when empty."""
    if not page.items:
        if mlmd_file:
            return (
                f"No pipelines recorded yet, but the project holds {mlmd_file}, earlier runs "
                f"recorded by cmflib: this is an HPE CMF file: `cmf import-mlmd {mlmd_file}` "
                "(run by the user) brings them in."
            )
        return "No pipelines recorded yet; start_execution records the first run."
    lines = [f"{page.total} pipeline(s):"]
    for p in page.items:
        stages = ", ".join(f"{plain(s)} ({p.stage_executions.get(s, 0)})" for s in p.stages) or "-"
        lines.append(f"  {plain(p.name)}: {p.executions} execution(s); stages {stages}")
        if p.properties:
            lines.append(f"    properties {DATA}: {data(p.properties)}")
    lines += more_line(page.has_more, page.next_cursor, page.truncated)
    lines.append("next: search_executions with pipeline=NAME for its runs")
    return "\n".join(lines)
