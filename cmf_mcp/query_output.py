"""Bounded outputs of the query tools (search, lineage, compare, metrics, reproduce) and their text.

The same rules as :mod:`cmf_mcp.schemas`: user-written values clipped, lists
capped and paged, and the whole kept under :data:`~cmf_mcp.schemas.STRUCTURED_BUDGET`.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from cmf_core.compare import Comparison
from cmf_core.lineage import ArtifactNode, LineageGraph
from cmf_core.metrics import MetricSeries
from cmf_core.query import ArtifactHit
from cmf_core.reproduce import Recipe
from cmf_mcp.schemas import (
    LIMITS,
    STRUCTURED_BUDGET,
    USER_DATA,
    DetailLevel,
    ExecutionSummary,
    Output,
    PageInfo,
    clip_mapping,
    clip_paths,
    clip_text,
    cut_to,
    encode_cursor,
    fit,
    short_digest,
    short_id,
    size_of,
)
from cmf_mcp.tool_output import DATA, data, more_line, plain, size, summary_lines, when

SENTENCE = 300  # characters of one sentence of a comparison's summary
M = TypeVar("M", bound=Output)
P = TypeVar("P", bound="SearchPage")


class SearchPage(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def next_cursor(self) -> str | None: ...
    @property
    def has_more(self) -> bool: ...


def fit_search(
    fetch: Callable[[int], P],
    limit: int,
    build: Callable[[P, bool], M],
    shorter: Callable[[P], M],
) -> M:
    """A search page that fits the budget; a page cut short is fetched again with fewer
    items, so its ``next_cursor`` resumes exactly after the last item shown. At least one
    item is kept: when even one does not fit, ``shorter`` shows it in concise detail."""
    page = fetch(limit)
    model = build(page, False)
    if size_of(model) <= STRUCTURED_BUDGET or not page.items:
        return model
    items = list(page.items)
    low, high = 0, len(items) - 1  # the most items that fit lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        smaller: Any = page.model_copy(update={"items": items[:middle]})  # type: ignore[attr-defined]
        if size_of(build(smaller, True)) <= STRUCTURED_BUDGET:
            low = middle
        else:
            high = middle - 1
    return build(fetch(low), True) if low else shorter(fetch(1))


# -- search --------------------------------------------------------------------------------


class ExecutionPageOut(PageInfo):
    items: list[ExecutionSummary]


class ArtifactHitItem(Output):
    digest: str
    short_digest: str
    type: str
    size: int | None
    nfiles: int | None
    created_at: datetime
    path: str | None = Field(description="The path it was last logged under.")
    produced_by: str | None = Field(description="The execution that last wrote it, if any.")
    pipeline: str | None
    stage: str | None
    properties: dict[str, Any] | None = Field(description=USER_DATA + " None in concise detail.")


class ArtifactPageOut(PageInfo):
    items: list[ArtifactHitItem]


def artifact_hit(hit: ArtifactHit, level: DetailLevel) -> ArtifactHitItem:
    a = hit.artifact
    return ArtifactHitItem(
        digest=a.digest,
        short_digest=short_digest(a.digest),
        type=a.type.value,
        size=a.size,
        nfiles=a.nfiles,
        created_at=a.created_at,
        path=clip_text(hit.path, level, path=True)[0],
        produced_by=hit.produced_by,
        pipeline=clip_text(hit.pipeline, level)[0],
        stage=clip_text(hit.stage, level)[0],
        properties=clip_mapping(a.properties, level)[0] if level == "full" else None,
    )


def executions_text(page: ExecutionPageOut) -> str:
    if not page.items:
        return "No execution matches; loosen the filters (list_pipelines shows what exists)."
    lines = [f"{len(page.items)} execution(s), newest first unless sorted otherwise:"]
    for e in page.items:
        lines += summary_lines(e)
    lines += more_line(page.has_more, page.next_cursor, page.truncated)
    lines.append("next: get_execution(id) for inputs and metrics; compare_runs([a, b]) to diff two")
    return "\n".join(lines)


def artifacts_text(page: ArtifactPageOut) -> str:
    if not page.items:
        return "No artifact matches; loosen the filters."
    lines = [f"{len(page.items)} artifact(s):"]
    for a in page.items:
        made = (
            f"  made by {plain(a.pipeline)}/{plain(a.stage)} {short_id(a.produced_by)}"
            if a.produced_by
            else ""
        )
        where = plain(a.path) or "-"
        lines.append(f"  {a.type:<8} {a.short_digest}  {where}  {size(a.size)}{made}")
    lines += more_line(page.has_more, page.next_cursor, page.truncated)
    lines.append("next: get_artifact(digest) for its producers and users; query_lineage(digest)")
    return "\n".join(lines)


# -- lineage -------------------------------------------------------------------------------


class LineageNodeItem(Output):
    kind: Literal["artifact", "execution"]
    id: str = Field(description="The digest of an artifact or the id of an execution.")
    short: str
    hop: int | None = Field(description="Hops from the start (artifact -> execution is one).")
    type: str | None = None
    size: int | None = None
    paths: list[str] | None = None
    pipeline: str | None = None
    stage: str | None = None
    status: str | None = None
    started_at: datetime | None = None
    git_commit: str | None = None


class LineageEdgeItem(Output):
    source: str
    target: str
    kind: Literal["input", "output", "derived", "feeds"]
    path: str | None
    via: str | None = Field(description="The execution or artifact a collapsed edge stands for.")


class LineageOut(Output):
    start: str | None
    start_kind: str
    direction: str
    view: str
    depth: int
    depth_reached: int
    nodes: list[LineageNodeItem]
    edges: list[LineageEdgeItem]
    nodes_total: int
    truncated: bool = Field(description="True when the graph was cut (see truncated_reason).")
    truncated_reason: str | None = Field(
        description="'depth': more lies beyond depth; 'limit': more nodes than limit; "
        "'budget': nodes left out to fit the output budget (raise detail or narrow the query)."
    )


def lineage_node(node: Any, level: DetailLevel) -> LineageNodeItem:
    if isinstance(node, ArtifactNode):
        return LineageNodeItem(
            kind="artifact",
            id=node.digest,
            short=short_digest(node.digest),
            hop=node.hop,
            type=node.type.value,
            size=node.size,
            paths=clip_paths(node.paths, level)[0],
        )
    return LineageNodeItem(
        kind="execution",
        id=node.id,
        short=short_id(node.id),
        hop=node.hop,
        pipeline=clip_text(node.pipeline, level)[0],
        stage=clip_text(node.stage, level)[0],
        status=node.status.value,
        started_at=node.started_at,
        git_commit=node.git_commit,
    )


def lineage_out(graph: LineageGraph, level: DetailLevel) -> LineageOut:
    def build(nodes: Sequence[Any], cut: bool, at: DetailLevel = level) -> LineageOut:
        kept = {n.digest if isinstance(n, ArtifactNode) else n.id for n in nodes}
        edges = [e for e in graph.edges if e.source in kept and e.target in kept]
        return LineageOut(
            start=graph.start,
            start_kind=graph.start_kind,
            direction=graph.direction,
            view=graph.view,
            depth=graph.depth,
            depth_reached=graph.depth_reached,
            nodes=[lineage_node(n, at) for n in nodes],
            edges=[
                LineageEdgeItem(
                    source=e.source,
                    target=e.target,
                    kind=e.kind,
                    path=clip_text(e.path, at, path=True)[0],
                    via=e.via,
                )
                for e in edges
            ],
            nodes_total=len(graph.nodes),
            truncated=graph.truncated or cut,
            truncated_reason="budget" if cut else graph.truncated_reason,
        )

    ordered = sorted(graph.nodes, key=lambda n: (n.hop is None, n.hop or 0))
    return fit(ordered, build, lambda nodes: build(nodes, True, "concise"))


def _short(key: str | None) -> str:
    if key is None:
        return "-"
    return short_digest(key) if key.startswith("md5:") else short_id(key)


def lineage_text(out: LineageOut) -> str:
    lines = [
        f"{out.direction} lineage of {out.start_kind} {_short(out.start)}: "
        f"{len(out.nodes)} of {out.nodes_total} nodes, {len(out.edges)} edges, "
        f"{out.depth_reached} of {out.depth} hops"
        + (f" (cut: {out.truncated_reason})" if out.truncated else "")
    ]
    for n in out.nodes:
        if n.kind == "artifact":
            where = ", ".join(plain(p) for p in n.paths or []) or "-"
            lines.append(f"  hop {n.hop}: artifact {n.short} {n.type} {where}")
        else:
            git = f" git {n.git_commit[:10]}" if n.git_commit else ""
            lines.append(
                f"  hop {n.hop}: execution {n.short} {plain(n.pipeline)}/{plain(n.stage)} "
                f"{n.status} "
                f"{when(n.started_at)}{git}"
            )
    lines.append("edges (source -> target):")
    for e in out.edges:
        label = f" [{plain(e.path)}]" if e.path else (f" via {_short(e.via)}" if e.via else "")
        lines.append(f"  {_short(e.source)} -{e.kind}-> {_short(e.target)}{label}")
    lines.append("next: get_execution / get_artifact on a node; raise depth to see further")
    return "\n".join(lines)


# -- compare -------------------------------------------------------------------------------


class CompareOut(Output):
    comparison: Comparison
    clipped: bool = Field(description="True when lists or values were shortened to fit.")


def compare_out(comparison: Comparison, level: DetailLevel) -> CompareOut:
    """The comparison with its lists capped (differences only in concise detail)."""
    changed_only = level == "concise"
    cap = LIMITS[level].keys

    def keep(items: Sequence[Any], most: int) -> list[Any]:
        chosen = [i for i in items if not changed_only or getattr(i, "change", "x") != "same"]
        return chosen[:most]

    def params(most: int) -> list[Any]:
        return [
            p.model_copy(update={"values": [_clip_value(v, level) for v in p.values]})
            for p in keep(comparison.params, most)
        ]

    def build(most: int) -> CompareOut:
        environment = comparison.environment.model_copy(
            update={"packages": keep(comparison.environment.packages, most)}
        )
        clipped_copy = comparison.model_copy(
            update={
                "params": params(most),
                "metrics": keep(comparison.metrics, most),
                "series": keep(comparison.series, most),
                "inputs": keep(comparison.inputs, most),
                "outputs": keep(comparison.outputs, most),
                "environment": environment,
                "divergence": comparison.divergence[: max(1, most // 4)],
                "summary": [_clip_sentence(s) for s in comparison.summary[:most]],
            }
        )
        shortened = clip_strings(clipped_copy, LIMITS[level].value)
        return CompareOut(comparison=shortened, clipped=shortened != comparison)

    most = cap
    out = build(most)
    while size_of(out) > STRUCTURED_BUDGET and most > 1:
        most //= 2
        out = build(most)
    return out


R = TypeVar("R", bound=BaseModel)


def clip_strings(record: R, limit: int) -> R:
    """``record`` with every string in it (names, paths, sentences) clipped to ``limit``
    escaped characters: the values lists of a comparison or recipe repeat user data."""

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return cut_to(value, limit)[0]
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {cut_to(k, limit)[0]: walk(v) for k, v in value.items()}
        return value

    return type(record).model_validate(walk(record.model_dump(mode="json")))


def _clip_sentence(sentence: str) -> str:
    return cut_to(sentence, SENTENCE)[0]


def _clip_value(value: Any, level: DetailLevel) -> Any:
    return clip_mapping({"v": value}, level)[0].get("v", "…")


def compare_text(out: CompareOut) -> str:
    c = out.comparison
    lines = ["runs compared (the first is the baseline):"]
    for r in c.executions:
        lines.append(
            f"  {plain(r.label)}: {plain(r.pipeline)}/{plain(r.stage)} {r.status.value} "
            f"{when(r.started_at)} ({r.id})"
        )
    lines.append(f"what changed, most likely cause first (values quoted from the runs are {DATA}):")
    lines += [f"  - {data(s)[1:-1]}" for s in c.summary] or ["  - nothing recorded differs"]
    if out.clipped:
        lines.append("(lists shortened; detail='full' shows unchanged entries too)")
    lines.append("next: get_execution on a run; get_artifact on a differing input's digests")
    return "\n".join(lines)


# -- metric history ------------------------------------------------------------------------


class MetricPoint(Output):
    step: int
    value: float | None


class MetricHistoryOut(PageInfo):
    execution_id: str
    short_id: str
    name: str
    final: float | None = Field(description="The execution-level value, if one was logged.")
    count: int = Field(description="Steps in the whole series.")
    first_step: int | None
    last_step: int | None
    min: float | None
    max: float | None
    points: list[MetricPoint]


def _number(value: float | None) -> float | None:
    return None if value is None or value != value else value


def metric_history_out(series: MetricSeries, *, offset: int, limit: int) -> MetricHistoryOut:
    points = list(zip(series.steps, series.values, strict=True))
    finite = [v for v in series.values if v == v]

    def build(items: Sequence[tuple[int, float]], truncated: bool) -> MetricHistoryOut:
        end = offset + len(items)
        more = end < len(points)
        return MetricHistoryOut(
            execution_id=series.execution_id,
            short_id=short_id(series.execution_id),
            name=series.name,
            final=_number(series.final),
            count=len(points),
            first_step=series.steps[0] if series.steps else None,
            last_step=series.steps[-1] if series.steps else None,
            min=min(finite) if finite else None,
            max=max(finite) if finite else None,
            points=[MetricPoint(step=s, value=_number(v)) for s, v in items],
            has_more=more,
            next_cursor=encode_cursor("steps", end) if more else None,
            truncated=truncated,
        )

    return fit(points[offset : offset + limit], build, lambda items: build(items, True))


def metric_history_text(out: MetricHistoryOut) -> str:
    def show(value: float | None) -> str:
        return "nan" if value is None else f"{value:.6g}"

    head = f"{plain(out.name)} of execution {out.short_id}:"
    if out.final is not None:
        head += f" final {show(out.final)};"
    head += f" {out.count} step(s)"
    if out.count:
        head += f" ({out.first_step}..{out.last_step}), min {show(out.min)}, max {show(out.max)}"
    lines = [head]
    if out.points:
        lines.append("  " + ", ".join(f"{p.step}: {show(p.value)}" for p in out.points))
    lines += more_line(out.has_more, out.next_cursor, out.truncated)
    return "\n".join(lines)


# -- reproduce -----------------------------------------------------------------------------


class RecipeOut(Output):
    recipe: Recipe
    inputs_total: int
    outputs_total: int
    requirements_total: int
    clipped: bool = Field(description="True when lists or values were shortened to fit.")


def recipe_out(recipe: Recipe, level: DetailLevel) -> RecipeOut:
    requirements = recipe.environment.requirements if recipe.environment else []

    def build(most: int) -> RecipeOut:
        environment = recipe.environment
        if environment is not None:
            shown = requirements[: most * 4] if level == "full" else []
            environment = environment.model_copy(update={"requirements": shown})
        params = clip_mapping(recipe.params, level)[0]
        copy = recipe.model_copy(
            update={
                "params": params,
                "command": clip_text(recipe.command, level, path=True)[0],
                "inputs": recipe.inputs[:most],
                "outputs": recipe.outputs[:most],
                "environment": environment,
            }
        )
        copy = clip_strings(copy, LIMITS[level].path)
        return RecipeOut(
            recipe=copy,
            inputs_total=len(recipe.inputs),
            outputs_total=len(recipe.outputs),
            requirements_total=len(requirements),
            clipped=copy != recipe,
        )

    most = LIMITS[level].keys * 2
    out = build(most)
    while size_of(out) > STRUCTURED_BUDGET and most > 1:
        most //= 2
        out = build(most)
    return out


def recipe_text(out: RecipeOut) -> str:
    r = out.recipe
    run = f"{short_id(r.execution_id)} ({plain(r.pipeline)}/{plain(r.stage)}, {r.status.value})"
    lines = [f"to reproduce execution {run}:"]
    code = r.commit or "unknown commit"
    lines.append(
        f"  code: {code}"
        + (" (the tree was dirty)" if r.is_dirty else "")
        + (f" on {plain(r.branch)}" if r.branch else "")
    )
    if r.command:
        lines.append(f"  command {DATA}: {data(r.command)}")
    if r.params:
        lines.append(f"  params {DATA}: {data(r.params)}")
    lines.append(f"  inputs ({out.inputs_total}):")
    for i in r.inputs:
        made = (
            f" made by {plain(i.producer_stage)} {short_id(i.producer)}"
            if i.producer
            else " (a source)"
        )
        lines.append(f"    {plain(i.path)}  {short_digest(i.digest)}{made}")
    lines.append(f"  outputs ({out.outputs_total}): " + ", ".join(plain(o.path) for o in r.outputs))
    if r.environment:
        e = r.environment
        lines.append(
            f"  environment: python {e.python} on {e.platform}, {out.requirements_total} packages"
            + ("" if e.requirements else " (listed with detail='full')")
        )
    lines += [f"  warning: {plain(w)}" for w in r.warnings]
    return "\n".join(lines)
