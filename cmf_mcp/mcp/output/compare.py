"""Bounded outputs of the run tools (compare, metric history, reproduce) and their text.

The same rules as :mod:`cmf_mcp.mcp.output.schemas`: user-written values clipped, lists
capped and paged, and the whole kept under :data:`~cmf_mcp.mcp.output.schemas.STRUCTURED_BUDGET`.
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from cmf_core.compare.metrics import MetricSeries
from cmf_core.compare.records import Comparison
from cmf_core.digest import short_digest
from cmf_core.recipes.recipe import Recipe
from cmf_mcp.mcp.output.budget import DATA, data, more_line, plain, when
from cmf_mcp.mcp.output.schemas import (
    LIMITS,
    STRUCTURED_BUDGET,
    DetailLevel,
    Output,
    PageInfo,
    clip_mapping,
    clip_text,
    cut_to,
    encode_cursor,
    fit,
    short_id,
    size_of,
)

SENTENCE = 300  # characters of one sentence of a comparison's summary


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
    lines += divergence_lines(c)
    if out.clipped:
        lines.append("(lists shortened; detail='full' shows unchanged entries too)")
    lines.append("next: get_execution on a run; get_artifact on a differing input's digests")
    return "\n".join(lines)


def divergence_lines(c: Comparison) -> list[str]:
    """Where the lineage parts, with the full ids and digests to pass to the next call."""
    if not c.divergence:
        return []
    lines = ["where the lineage parts (full ids and digests, for get_execution / get_artifact):"]
    for d in c.divergence:
        read = " vs ".join(plain(p) for p in d.paths) if d.paths else plain(d.path)
        lines.append(f"  - {d.kind} at {read}, {d.hops} hop(s) up")
        lines.append("    digests: " + " vs ".join(x or "(none)" for x in d.digests))
        if any(p is not None for p in d.producers):
            made = [p.id if p else "(no recorded execution)" for p in d.producers]
            lines.append("    produced by: " + " vs ".join(made))
        lines += [f"    differs: {plain(r)}" for r in d.reasons]
        lines += [f"    also (not the cause: inputs differ there too): {plain(a)}" for a in d.also]
    return lines


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
