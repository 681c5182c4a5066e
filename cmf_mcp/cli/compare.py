"""The `cmf` compare, metrics and reproduce commands."""

import math
from typing import TYPE_CHECKING, Any

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.compare.metrics import MetricName, MetricSeries, StageMetric
    from cmf_core.compare.records import Comparison, PathDiff
    from cmf_core.recipes.recipe import Recipe


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (compare, metrics, reproduce):
        cli.add_command(command)


@click.command()
@click.argument("executions", nargs=-1, required=True, metavar="EXECUTION EXECUTION…")
@click.option("--json", "as_json", is_flag=True, help="Print the whole comparison as JSON.")
@click.pass_context
def compare(ctx: click.Context, executions: tuple[str, ...], as_json: bool) -> None:
    """Compare two or more executions (ids or unique prefixes); the first is the baseline.

    Prints what differs, most telling first: metrics, where the runs' lineage parts,
    params, inputs, code, environment, step series, outputs.
    """
    from cmf_core.compare.compare import compare_runs

    if len(executions) < 2:
        raise click.UsageError("Name at least two executions, e.g. `cmf compare 0193a1 0193b2`.")
    with open_store(ctx) as store:
        result = compare_runs(store, executions)
    if as_json:
        print_json(result)
    else:
        _print_comparison(result)


@click.command()
@click.argument("args", nargs=-1, metavar="[EXECUTION] [NAME]")
@click.option("--stage", help="Every execution of this stage (needs --pipeline and NAME).")
@click.option("--pipeline", help="The pipeline of --stage.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--oldest-first", is_flag=True, help="With --stage: oldest execution first.")
@click.option("--table", is_flag=True, help="NAME… across the newest runs (≤ 100), one row each.")
@click.option("--where", help="With --table: a filter on the runs (as `cmf ls --where`).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def metrics(
    ctx: click.Context,
    args: tuple[str, ...],
    stage: str | None,
    pipeline: str | None,
    limit: int,
    oldest_first: bool,
    table: bool,
    where: str | None,
    as_json: bool,
) -> None:
    """Metrics of an execution, one metric's history, or metrics across runs.

    \b
    cmf metrics 0193a1b2               the metrics it logged (final values, series)
    cmf metrics 0193a1b2 loss          every step of `loss` (NaN kept)
    cmf metrics --pipeline fraud --stage train accuracy
    cmf metrics --table val_loss acc --stage train --limit 5   last, min, max per run
    """
    from cmf_core.compare.metrics import list_metric_names, metric_across_stage, metric_history

    if table or where is not None:
        from click.core import ParameterSource

        from cmf_mcp.cli.metric_table import print_metric_table

        DEFAULT = ParameterSource.DEFAULT

        if not table:
            raise click.UsageError("--where goes with --table.")
        print_metric_table(
            ctx,
            list(args),
            pipeline=pipeline,
            stage=stage,
            where=where,
            limit=limit if ctx.get_parameter_source("limit") is not DEFAULT else 10,
            as_json=as_json,
        )
        return
    if stage is not None or pipeline is not None:
        if stage is None or pipeline is None or len(args) != 1:
            raise click.UsageError("Across a stage give --pipeline, --stage and one NAME.")
        with open_store(ctx) as store:
            rows = metric_across_stage(
                store,
                pipeline,
                stage,
                args[0],
                limit=limit,
                order="oldest" if oldest_first else "newest",
            )
        _print_json_or(as_json, rows, lambda: _print_stage(pipeline, stage, args[0], rows))
        return
    if len(args) not in (1, 2):
        raise click.UsageError("Give EXECUTION and optionally NAME (or --stage and --pipeline).")
    with open_store(ctx) as store:
        if len(args) == 1:
            names = list_metric_names(store, args[0])
            _print_json_or(as_json, names, lambda: _print_names(args[0], names))
        else:
            series = metric_history(store, args[0], args[1])
            _print_json_or(as_json, series, lambda: _print_series(series))


@click.command()
@click.argument("execution")
@click.option("--script", is_flag=True, help="Print a bash script that reproduces the run.")
@click.option("--json", "as_json", is_flag=True, help="Print the recipe as JSON.")
@click.pass_context
def reproduce(ctx: click.Context, execution: str, script: bool, as_json: bool) -> None:
    """How to run EXECUTION again: commit, inputs, command, params, environment.

    With --script, a bash script that checks the commit out in a NEW directory
    (a git worktree or a clone; your work tree is never touched), puts the inputs
    in place, runs the command and checks the outputs' digests:

    \b
    cmf reproduce 0193a1b2 --script > reproduce.sh && bash reproduce.sh /tmp/rerun
    """
    from cmf_core.recipes.recipe import reproduce as make_recipe
    from cmf_core.recipes.script import reproduce_script

    if script and as_json:
        raise click.UsageError("Choose --script or --json, not both.")
    found = settings(ctx)
    with open_store(ctx) as store:
        recipe = make_recipe(store, execution)
    if script:
        click.echo(reproduce_script(recipe, source_root=found.project_root), nl=False)
    elif as_json:
        print_json(recipe)
    else:
        _print_recipe(recipe)


# -- human output ----------------------------------------------------------------------------


def _print_json_or(as_json: bool, value: Any, human: Any) -> None:
    if as_json:
        print_json(value)
    else:
        human()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return "NaN" if math.isnan(value) else f"{value:.6g}"


def _print_comparison(c: "Comparison") -> None:
    from rich.table import Table
    from rich.text import Text

    from cmf_mcp.cli import render

    out = render.console()
    out.print(Text(f"Comparing {len(c.executions)} executions (the first is the baseline)", "bold"))
    runs = Table(box=None, show_header=False, pad_edge=False)
    for r in c.executions:
        runs.add_row("  " + r.label, f"{r.pipeline}/{r.stage}", render.status(r.status.value), r.id)
    out.print(runs)
    out.print(Text("What differs", style="bold"))
    for sentence in c.summary:
        out.print(Text("  • " + sentence))
    labels = [r.label for r in c.executions]
    params = [(p.name, [_value(v) for v in p.values]) for p in c.params if p.change != "same"]
    metrics = [(m.name, [_number(v) for v in m.values]) for m in c.metrics if m.change != "same"]
    packages = [(p.name, [v or "" for v in p.versions]) for p in c.environment.packages]
    for title, rows in (
        ("params", params),
        ("metrics", metrics),
        ("inputs", _path_rows(c.inputs)),
        ("outputs", _path_rows(c.outputs)),
        ("packages", packages),
    ):
        if rows:
            grid = Table(box=None, pad_edge=False, header_style="bold")
            for column in (title, *labels):
                grid.add_column(column)
            for name, values in rows:
                grid.add_row("  " + name, *values)
            out.print(grid)


def _path_rows(diffs: list["PathDiff"]) -> list[tuple[str, list[str]]]:
    """Differing paths; a moved one is named by its paths in run order (``a → b``)."""
    return [
        (
            " → ".join(dict.fromkeys(p for p in d.paths or [d.path] if p is not None)),
            [x or "" for x in d.digests],
        )
        for d in diffs
        if d.change != "same"
    ]


def _value(value: Any) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _print_names(execution: str, names: list["MetricName"]) -> None:
    from cmf_mcp.cli.grid import Grid

    if not names:
        click.echo(f"Execution {execution} logged no metrics.")
        return
    grid = Grid("metric", "final", "steps", "last", "min", "max")
    for n in names:
        grid.add_row(
            n.name,
            _number(n.final),
            str(n.steps) if n.steps else "",
            _number(n.last),
            _number(n.min),
            _number(n.max),
        )
    grid.print()


def _print_series(series: "MetricSeries") -> None:
    from cmf_mcp.cli import render

    if series.final is not None:
        click.echo(f"{series.name} final value: {_number(series.final)}")
    if series.steps:
        lines = [f"{'step':>10}  {'value':<14}  time"]
        for step, value, at in zip(series.steps, series.values, series.times, strict=True):
            lines.append(f"{step:>10}  {_number(value):<14}  {render.when(at)}")
        click.echo("\n".join(lines))


def _print_stage(pipeline: str, stage: str, name: str, rows: list["StageMetric"]) -> None:
    from cmf_mcp.cli import render
    from cmf_mcp.cli.grid import Grid

    if not rows:
        click.echo(f"No execution of {pipeline}/{stage} logged a metric {name!r}.")
        return
    grid = Grid("execution", "started", "status", name, "from")
    for r in rows:
        grid.add_row(
            r.execution_id,
            render.when(r.started_at),
            render.status_cell(r.status.value),
            _number(r.value),
            "final" if r.step is None else f"step {r.step}",
        )
    grid.print()


def _print_recipe(recipe: "Recipe") -> None:
    from rich.table import Table
    from rich.text import Text

    from cmf_mcp.cli import render

    out = render.console()
    out.print(Text(f"To reproduce execution {recipe.execution_id}", style="bold"))
    for warning in recipe.warnings:
        out.print(Text("  warning: " + warning, style="yellow"))
    env = recipe.environment
    described = None
    if env is not None:
        described = (
            f"{env.implementation or 'Python'} {env.python or '?'} on {env.platform or '?'}, "
            f"{len(env.requirements)} packages ({env.digest})"
        )
    pairs = [
        ("stage", f"{recipe.pipeline}/{recipe.stage} ({recipe.status.value})"),
        ("commit", recipe.commit),
        ("branch", recipe.branch),
        ("remote", recipe.remote),
        ("command", recipe.command),
        ("params", ", ".join(f"{k}={_value(v)}" for k, v in recipe.params.items())),
        ("environment", described),
    ]
    grid = Table(box=None, show_header=False, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in pairs:
        if value:
            grid.add_row(name, value)
    out.print(grid)
    for title, items in (
        (
            "inputs to fetch",
            [(i.path, i.digest, _origin(i.producer, i.producer_stage)) for i in recipe.inputs],
        ),
        ("outputs to expect", [(o.path, o.digest, o.type) for o in recipe.outputs]),
    ):
        if items:
            out.print(Text(title, style="bold"))
            table = Table(box=None, show_header=False, pad_edge=False)
            for path, digest, note in items:
                table.add_row("  " + path, digest, note)
            out.print(table)
    out.print(f"`cmf reproduce {recipe.execution_id} --script` prints a script that does it.")


def _origin(producer: str | None, stage: str | None) -> str:
    return f"written by {stage} {producer}" if producer else "a source"
