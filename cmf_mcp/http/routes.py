"""The read endpoints under ``/api/v1``: thin wrappers over cmf_core's query API.

Each returns cmf_core's own frozen records (pydantic models), so the OpenAPI
document is typed by the same models the library returns; executions and artifacts
carry their labels too (:mod:`cmf_mcp.http.labelled`). Every route needs a
token of scope ``read`` at least. Lists are bounded pages: pass ``next_cursor``
back as ``cursor`` for the next one.
"""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from cmf_core.auth import Scope
from cmf_core.compare.compare import compare_runs
from cmf_core.compare.metrics import (
    MetricName,
    MetricSeries,
    StageMetric,
    list_metric_names,
    metric_across_stage,
    metric_history,
)
from cmf_core.compare.records import Comparison
from cmf_core.graph.lineage import LineageGraph, lineage
from cmf_core.graph.lookup import resolve_reference
from cmf_core.graph.trace import Impact, Trace, impact, trace
from cmf_core.recipes.recipe import Recipe, reproduce
from cmf_core.records import Pipeline
from cmf_core.search.search import search_artifacts, search_executions
from cmf_core.search.tree import MAX_FILTER_LENGTH
from cmf_core.store import Store
from cmf_mcp.http.deps import get_store, require
from cmf_mcp.http.labelled import (
    AnnotatedArtifact,
    AnnotatedExecution,
    LabelledArtifactPage,
    LabelledExecutionPage,
    annotated_artifact,
    annotated_execution,
    labelled_artifacts,
    labelled_executions,
)
from cmf_mcp.http.problems import Problem

router = APIRouter(dependencies=[Depends(require(Scope.READ))])

StoreDep = Annotated[Store, Depends(get_store)]
Filter = Annotated[
    str | None, Query(max_length=MAX_FILTER_LENGTH, description="the filter language")
]
Name = Annotated[str | None, Query(max_length=255)]
Cursor = Annotated[str | None, Query(max_length=2000)]
Limit = Annotated[int, Query(ge=1, le=500)]
Ref = Annotated[str, Query(min_length=1, max_length=1000)]


def _root(request: Request) -> Path:
    root: Path = request.app.state.project_root
    return root


@router.get("/pipelines", tags=["read"], summary="Every pipeline")
def pipelines(store: StoreDep) -> list[Pipeline]:
    return store.list_pipelines()


@router.get("/executions", tags=["read"], summary="Search executions (one page)")
def executions(
    store: StoreDep,
    filter: Filter = None,
    pipeline: Name = None,
    stage: Name = None,
    status: Name = None,
    sort: Annotated[str, Query(max_length=200)] = "-started_at",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LabelledExecutionPage:
    found = search_executions(
        store,
        filter,
        pipeline=pipeline,
        stage=stage,
        status=status,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return labelled_executions(store, found)


@router.get("/executions/{execution_id}", tags=["read"], summary="One execution (id or prefix)")
def execution(store: StoreDep, execution_id: str) -> AnnotatedExecution:
    return annotated_execution(store, store.get_execution_detail(execution_id))


@router.get("/artifacts", tags=["read"], summary="Search artifacts (one page)")
def artifacts(
    store: StoreDep,
    filter: Filter = None,
    type: Name = None,
    pipeline: Name = None,
    sort: Annotated[str, Query(max_length=200)] = "-created_at",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LabelledArtifactPage:
    found = search_artifacts(
        store, filter, type=type, pipeline=pipeline, sort=sort, limit=limit, cursor=cursor
    )
    return labelled_artifacts(store, found)


@router.get("/artifacts/{ref:path}", tags=["read"], summary="One artifact (digest, prefix, path)")
def artifact(
    request: Request,
    store: StoreDep,
    ref: str,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Events skipped: producers, then readers.")] = 0,
) -> AnnotatedArtifact:
    """The artifact and one page of its events (producers first, then the runs that read
    it), with how many of each there are."""
    root = _root(request)
    kind, key = resolve_reference(store, ref, project_root=root, cwd=root)
    if kind != "artifact":
        raise Problem(
            404, "That names an execution; ask /api/v1/executions/{id}.", kind="not_found"
        )
    detail = store.get_artifact_detail(key, events_limit=limit, events_offset=offset)
    return annotated_artifact(store, detail)


@router.get("/lineage/{ref:path}", tags=["read"], summary="The lineage graph around a node")
def lineage_of(
    request: Request,
    store: StoreDep,
    ref: str,
    direction: Literal["upstream", "downstream", "both"] = "upstream",
    depth: Annotated[int, Query(ge=1, le=1000)] = 10,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    view: Literal["mixed", "artifacts", "executions"] = "mixed",
) -> LineageGraph:
    return lineage(
        store,
        ref,
        direction=direction,
        depth=depth,
        limit=limit,
        view=view,
        project_root=_root(request),
    )


@router.get("/trace/{ref:path}", tags=["read"], summary="How an artifact was made, step by step")
def trace_of(
    request: Request,
    store: StoreDep,
    ref: str,
    depth: Annotated[int, Query(ge=1, le=1000)] = 10,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Trace:
    return trace(store, ref, depth=depth, limit=limit, project_root=_root(request))


@router.get("/impact/{ref:path}", tags=["read"], summary="What an artifact went into")
def impact_of(
    request: Request,
    store: StoreDep,
    ref: str,
    depth: Annotated[int, Query(ge=1, le=1000)] = 100,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Impact:
    return impact(store, ref, depth=depth, limit=limit, project_root=_root(request))


@router.get("/compare", tags=["read"], summary="Compare two or more executions")
def compare(
    store: StoreDep,
    ids: Annotated[list[Annotated[str, Query(max_length=100)]], Query(min_length=2, max_length=20)],
) -> Comparison:
    return compare_runs(store, ids)


@router.get("/metrics", tags=["read"], summary="The metric names of one execution")
def metric_names(store: StoreDep, execution: Ref) -> list[MetricName]:
    return list_metric_names(store, execution)


@router.get("/metrics/history", tags=["read"], summary="Every value of one metric of a run")
def history(store: StoreDep, execution: Ref, name: Ref) -> MetricSeries:
    return metric_history(store, execution, name)


@router.get("/metrics/stage", tags=["read"], summary="One metric across a stage's runs")
def across_stage(
    store: StoreDep,
    pipeline: Ref,
    stage: Ref,
    name: Ref,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> list[StageMetric]:
    return metric_across_stage(store, pipeline, stage, name, limit=limit, order=order)


@router.get("/reproduce/{execution_id}", tags=["read"], summary="The recipe to rerun an execution")
def recipe(store: StoreDep, execution_id: str) -> Recipe:
    return reproduce(store, execution_id)


__all__ = ["router"]
