"""The UI's pages: each a GET over cmf_core's query functions, rendered by a template.

``/`` pipelines · ``/executions`` the table · ``/executions/{id}`` · ``/artifacts/{ref}``
· ``/lineage`` the graph · ``/metrics`` a stage's metric across runs · ``/search``
· ``POST /annotations`` a label or note (:mod:`.annotating`) · ``/signin``, ``/signout``
and ``/ui/static/{name}`` (:mod:`.signin`).
"""

from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmf_core.compare.compare import compare_runs
from cmf_core.compare.metrics import list_metric_names, metric_across_stage, metric_history
from cmf_core.errors import CmfError
from cmf_core.graph.lineage import lineage
from cmf_core.graph.lookup import resolve_reference
from cmf_core.recipes.recipe import reproduce
from cmf_core.search.search import search_artifacts, search_executions
from cmf_core.search.tree import MAX_FILTER_LENGTH
from cmf_core.store import Store
from cmf_mcp.http.problems import Problem
from cmf_mcp.http.ui.annotating import annotating
from cmf_mcp.http.ui.charts import Series, line_chart
from cmf_mcp.http.ui.graph import draw
from cmf_mcp.http.ui.labels import annotations_of, graph_labels, row_labels
from cmf_mcp.http.ui.overview import pipelines_overview
from cmf_mcp.http.ui.render import PageRoute, error_page, page
from cmf_mcp.http.ui.session import UiState, signed_in, store_of
from cmf_mcp.http.ui.signin import public

MAX_CHARTS = 12
ARTIFACT_EVENTS = 100  # producers and readers on one page of an artifact
MAX_RUNS_OVERLAID = 20
Text = Annotated[str | None, Query(max_length=255)]
Filter = Annotated[str | None, Query(max_length=MAX_FILTER_LENGTH)]
Cursor = Annotated[str | None, Query(max_length=2000)]
Columns = Annotated[str, Query(max_length=1000)]

pages = APIRouter(route_class=PageRoute, dependencies=[Depends(signed_in)])
StoreDep = Annotated[Store, Depends(store_of)]


def install(app: FastAPI, *, is_open: bool = False) -> None:
    """Serve the UI at ``/`` of ``app``; ``is_open``: no token needed (``cmf ui``)."""
    app.state.ui = UiState(is_open=is_open)
    app.include_router(pages, include_in_schema=False)
    app.include_router(annotating, include_in_schema=False)
    app.include_router(public, include_in_schema=False)
    as_problem = app.exception_handlers[StarletteHTTPException]

    async def not_a_page(request: Request, exc: Exception) -> Response:
        """A browser that asks for a URL no route has gets a page; an API client a problem."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and _wants_page(request):
            return error_page(request, 404, "There is no page here.", matches=[], choices=[])
        answer = as_problem(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    app.add_exception_handler(StarletteHTTPException, not_a_page)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/mcp", "/healthz", "/readyz", "/openapi")):
        return False
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def _root(request: Request) -> Path:
    root: Path = request.app.state.project_root
    return root


@pages.get("/")
def overview(request: Request, store: StoreDep) -> Response:
    return page(request, "overview.html", pipelines=pipelines_overview(store))


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()][:20]


@pages.get("/executions")
def executions(
    request: Request,
    store: StoreDep,
    pipeline: Text = None,
    stage: Text = None,
    filter: Filter = None,
    sort: Annotated[str, Query(max_length=200)] = "-started_at",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    params: Columns = "",
    metrics: Columns = "",
) -> Response:
    found = search_executions(
        store, filter, pipeline=pipeline or None, stage=stage or None,
        sort=sort, limit=limit, cursor=cursor,
    )  # fmt: skip
    ids = [e.id for e in found.items]
    values = store.final_metrics(ids) if ids else {}
    param_names = sorted({k for e in found.items for k in e.params})
    metric_names = sorted({k for row in values.values() for k in row})
    shown_params, shown_metrics = _names(params), _names(metrics)
    base = {
        "pipeline": pipeline or "", "stage": stage or "", "filter": filter or "",
        "params": ",".join(shown_params), "metrics": ",".join(shown_metrics),
    }  # fmt: skip

    def link(**changes: str) -> str:
        query = {k: v for k, v in {**base, "sort": sort, **changes}.items() if v}
        return "/executions?" + urlencode(query)

    def sort_link(field: str) -> str:
        return link(sort=field if sort == f"-{field}" else f"-{field}")

    return page(
        request,
        "executions.html",
        page=found,
        values=values,
        labels=row_labels(store, "execution", ids),
        param_names=param_names,
        metric_names=metric_names,
        shown_params=shown_params,
        shown_metrics=shown_metrics,
        form=base,
        sort=sort,
        sort_link=sort_link,
        next_link=link(cursor=found.next_cursor) if found.next_cursor else None,
        first_link=link() if cursor else None,
    )


@pages.get("/executions/{execution_id}")
def execution(request: Request, store: StoreDep, execution_id: str) -> Response:
    detail = store.get_execution_detail(execution_id)
    run = detail.execution
    charts = []
    for name in [m for m in list_metric_names(store, run.id) if m.steps > 1][:MAX_CHARTS]:
        series = metric_history(store, run.id, name.name)
        charts.append(line_chart(name.name, [Series(name.name, series.steps, series.values)]))
    producers = store.producers([e.artifact.digest for e in detail.inputs])
    consumers = {
        e.artifact.digest: [
            ev.execution_id
            for ev in store.get_artifact_detail(e.artifact.digest, events_limit=50).events
            if ev.direction == "input"
        ][:20]
        for e in detail.outputs[:50]
    }
    try:
        recipe = reproduce(store, run.id)
    except CmfError:
        recipe = None
    return page(
        request,
        "execution.html",
        run=run,
        detail=detail,
        notes=annotations_of(store, "execution", run.id),
        charts=charts,
        producers={d: [p.id for p in runs] for d, runs in producers.items()},
        consumers=consumers,
        recipe=recipe,
    )


@pages.get("/artifacts/{ref:path}")
def artifact(
    request: Request,
    store: StoreDep,
    ref: str,
    remotes: Annotated[Literal["local", "all"], Query()] = "local",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    root = _root(request)
    kind, key = resolve_reference(store, ref, project_root=root, cwd=root)
    if kind != "artifact":
        return RedirectResponse(f"/executions/{quote(key, safe='')}", 303)
    detail = store.get_artifact_detail(key, events_limit=ARTIFACT_EVENTS, events_offset=offset)
    made = [e for e in detail.events if e.direction == "output"]
    read = [e for e in detail.events if e.direction == "input"]
    ids = [e.execution_id for e in detail.events]
    total = (detail.producers_total or 0) + (detail.consumers_total or 0)
    end = offset + len(detail.events)
    from cmf_mcp.http.ui.whereabouts import whereabouts  # the artifact modules, when first needed

    where, unchecked, trouble = (
        whereabouts(store, root, key, ids, every_remote=remotes == "all")
        if request.app.state.ui.is_open
        else (None, [], None)
    )
    return page(
        request,
        "artifact.html",
        artifact=detail.artifact,
        notes=annotations_of(store, "artifact", key),
        producers=made,
        consumers=read,
        paths=detail.paths,
        totals=(detail.producers_total, detail.consumers_total),
        events_shown=(offset + 1, end) if offset or end < total else None,
        next_link=f"?offset={end}" if end < total else None,
        first_link="?" if offset else None,
        where=where,
        unchecked=unchecked,
        trouble=trouble,
    )


@pages.get("/lineage")
def lineage_page(
    request: Request,
    store: StoreDep,
    node: Annotated[str | None, Query(max_length=1000)] = None,
    pipeline: Text = None,
    direction: Literal["upstream", "downstream", "both"] = "upstream",
    depth: Annotated[int, Query(ge=1, le=100)] = 10,
    view: Literal["mixed", "artifacts", "executions"] = "mixed",
    source: Annotated[str | None, Query(alias="from", max_length=200)] = None,
    target: Annotated[str | None, Query(alias="to", max_length=200)] = None,
) -> Response:
    if node:
        graph = lineage(
            store, node, direction=direction, depth=depth, limit=500, view=view,
            project_root=_root(request),
        )  # fmt: skip
    elif pipeline:
        from cmf_core.graph.export.runs import pipeline_graph

        graph = pipeline_graph(store, pipeline, limit=500, view=view)
    else:
        raise Problem(400, "Name a node (digest, path or execution id) or a pipeline.")
    drawing = draw(graph, source=source, target=target, labels=graph_labels(store, graph))
    return page(
        request,
        "lineage.html",
        graph=graph,
        drawing=drawing,
        form={
            "node": node or "", "pipeline": pipeline or "", "direction": direction,
            "depth": depth, "view": view, "from": source or "", "to": target or "",
        },
    )  # fmt: skip


@pages.get("/metrics")
def metrics_page(
    request: Request,
    store: StoreDep,
    pipeline: Annotated[str, Query(min_length=1, max_length=255)],
    stage: Annotated[str, Query(min_length=1, max_length=255)],
    name: Text = None,
    goal: Literal["max", "min"] | None = None,
) -> Response:
    latest = search_executions(store, pipeline=pipeline, stage=stage, limit=1).items
    names = [m.name for m in list_metric_names(store, latest[0].id)] if latest else []
    name = name or (names[0] if names else None)
    runs, chart, best = [], None, None
    if name:
        runs = metric_across_stage(store, pipeline, stage, name, limit=100)
        goal = goal or ("min" if any(w in name.lower() for w in ("loss", "error")) else "max")
        finite = [r for r in runs if r.value == r.value]
        if finite:
            pick = min if goal == "min" else max
            best = pick(finite, key=lambda r: r.value).execution_id
        overlaid = [
            metric_history(store, r.execution_id, name)
            for r in runs[:MAX_RUNS_OVERLAID]
            if r.steps > 1
        ]
        series = [
            Series(
                s.execution_id[:8], s.steps, s.values,
                href=f"/executions/{s.execution_id}", is_best=s.execution_id == best,
            )
            for s in overlaid
        ]  # fmt: skip
        chart = line_chart(name, series) if series else None
        values = list(reversed(runs))  # oldest first, along the x axis
        across = line_chart(
            f"{name} across runs",
            [Series(name, list(range(len(values))), [r.value for r in values])],
        )
    else:
        across = None
    return page(
        request,
        "metrics.html",
        pipeline=pipeline,
        stage=stage,
        name=name,
        names=names,
        goal=goal,
        runs=runs,
        best=best,
        chart=chart,
        across=across,
    )


@pages.get("/compare")
def compare_page(
    request: Request,
    store: StoreDep,
    ids: Annotated[list[Annotated[str, Query(max_length=100)]], Query()] = [],  # noqa: B006
) -> Response:
    comparison = compare_runs(store, ids)
    runs = comparison.executions
    charts = []
    for diff in comparison.series[:MAX_CHARTS]:
        series = (
            [
                Series(run.label, s.steps, s.values, href=f"/executions/{run.id}")
                for run in runs
                for s in [metric_history(store, run.id, diff.name)]
                if s.steps
            ]
            if any(diff.summaries)
            else []
        )
        if series:
            charts.append(line_chart(diff.name, series))
    return page(request, "compare.html", comparison=comparison, runs=runs, charts=charts)


@pages.get("/search")
def search(
    request: Request, store: StoreDep, q: Annotated[str, Query(max_length=1000)] = ""
) -> Response:
    text = q.strip()
    if not text:
        return page(request, "search.html", q=q, hits=[], pipelines=[])
    pipelines = [p.name for p in store.list_pipelines() if text.lower() in p.name.lower()]
    try:
        kind, key = resolve_reference(store, text, project_root=_root(request))
    except CmfError:
        pass
    else:
        where = "executions" if kind == "execution" else "artifacts"
        return RedirectResponse(f"/{where}/{quote(key, safe=':')}", 303)
    pattern = text.replace("\\", "").replace("[", "").replace("?", "")
    hits = search_artifacts(store, path=f"*{pattern}*", limit=50).items
    return page(request, "search.html", q=q, hits=hits, pipelines=pipelines)


__all__ = ["error_page", "install"]
