"""The ``cmf`` command: parse, call cmf_core, print. Errors print ``Error: …`` and exit 1."""

import json
import sys
from pathlib import Path
from typing import Any

import click

from cmf_core.vocabulary import ARTIFACT_TYPES, STATUSES
from cmf_mcp.cli import search as cli_search
from cmf_mcp.cli.support import CONTEXT_SETTINGS, CmfGroup, open_store, print_json, settings

LIST_KINDS = ("pipelines", "stages", "executions", "artifacts")


@click.group(cls=CmfGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--store",
    envvar="CMF_STORE_URL",
    metavar="URL",
    help="Store URL (default: the project's .cmf/metadata.db). Env: CMF_STORE_URL.",
)
@click.version_option(package_name="cmf", prog_name="cmf")
def cli(store: str | None) -> None:
    """cmf records every run of every pipeline stage: code, data, models, params, metrics."""


@cli.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(path: Path) -> None:
    """Make PATH (default: here) a cmf project: creates .cmf/ and its store."""
    from cmf_core.config import default_store_url, init_project
    from cmf_core.store import Store

    cmf_dir = init_project(path.resolve())
    url = default_store_url(path.resolve())
    with Store(url):
        pass
    click.echo(f"Initialised cmf project in {cmf_dir.parent} (store: {cmf_dir / 'metadata.db'})")
    click.echo(f"Commit {cmf_dir / '.gitignore'} so runs are not recorded as dirty.")


def parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not NAME=VALUE (e.g. -p lr=0.01).")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw
    except (ValueError, RecursionError):  # a number of thousands of digits; JSON nested deep
        raise click.BadParameter(
            f"the value of {name!r} is too large or nested too deep to record; pass a "
            "smaller one, or quote it as text."
        ) from None


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--pipeline", required=True, help="Pipeline name, e.g. fraud-detection.")
@click.option("--stage", required=True, help="Stage name, e.g. train.")
@click.option("-i", "--input", "inputs", multiple=True, metavar="PATH", help="Input (repeat).")
@click.option("-o", "--output", "outputs", multiple=True, metavar="PATH", help="Output (repeat).")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Parameter.")
@click.option(
    "--input-type", type=click.Choice(ARTIFACT_TYPES), default="dataset", show_default=True
)
@click.option(
    "--output-type", type=click.Choice(ARTIFACT_TYPES), default="dataset", show_default=True
)
@click.option("--dvc", "track_with_dvc", is_flag=True, help="Also write .dvc files.")
@click.option(
    "--tensorboard",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="TensorBoard log folder: its scalars become step metrics when COMMAND exits.",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    pipeline: str,
    stage: str,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    params: tuple[str, ...],
    input_type: str,
    output_type: str,
    track_with_dvc: bool,
    tensorboard: Path | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND as one recorded execution (put it after --).

    \b
    cmf run --pipeline fraud --stage prepare -i data/raw -o data/prepared \\
        -p seed=1 -- python prepare.py
    """
    from cmf_core.runner import run_command
    from cmf_core.tracking import Cmf

    parsed = dict(parse_param(p) for p in params)
    store = ctx.find_root().params.get("store")
    with Cmf(pipeline=pipeline, store=store, track_with_dvc=track_with_dvc) as cmf:
        execution_id, code = run_command(
            cmf,
            command,
            stage=stage,
            inputs=inputs,
            outputs=outputs,
            params=parsed,
            input_type=input_type,
            output_type=output_type,
            tensorboard=tensorboard,
        )
    verdict = "completed" if code == 0 else f"failed (exit {code})"
    click.echo(f"cmf: execution {execution_id} {verdict}", err=True)
    sys.exit(128 - code if code < 0 else code)


@cli.command(name="ls")
@click.argument("kind", type=click.Choice(LIST_KINDS))
@click.option("--pipeline", help="Only this pipeline.")
@click.option("--stage", help="Only this stage (executions).")
@click.option("--status", type=click.Choice(STATUSES), help="Only executions in this state.")
@click.option(
    "--type", "type_", type=click.Choice(ARTIFACT_TYPES), help="Only artifacts of this type."
)
@click.option("--where", metavar="FILTER", help=cli_search.WHERE_HELP)
@click.option("--sort", metavar="[-]FIELD", help=cli_search.SORT_HELP)
@click.option("--cursor", metavar="CURSOR", help="Continue a listing where its last page ended.")
@click.option("--limit", default=50, show_default=True, help="Rows per page (1 to 1000).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_records(
    ctx: click.Context,
    kind: str,
    pipeline: str | None,
    stage: str | None,
    status: str | None,
    type_: str | None,
    where: str | None,
    sort: str | None,
    cursor: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List pipelines, stages, executions or artifacts (newest first).

    Executions and artifacts take a --where filter, a --sort key and pages: when
    more rows remain, the cursor of the next page is printed on stderr.

    \b
    cmf ls executions --where "metrics.accuracy >= 0.9 and params.lr < 0.01" \\
        --sort -metrics.accuracy --limit 20
    cmf ls artifacts --where 'path like "data/%"' --json
    """
    _refuse_options_that_do_not_apply(ctx, kind)
    if kind in ("executions", "artifacts"):
        filters: dict[str, Any] = (
            {"pipeline": pipeline, "stage": stage, "status": status}
            if kind == "executions"
            else {"pipeline": pipeline, "type": type_}
        )
        paging = {"where": where, "sort": sort, "cursor": cursor}
        cli_search.list_page(ctx, kind, limit=limit, as_json=as_json, **paging, **filters)
        return
    from cmf_mcp.cli import render

    with open_store(ctx) as store:
        rows: list[Any] = (
            store.list_pipelines() if kind == "pipelines" else store.list_stages(pipeline=pipeline)
        )
    if as_json:
        print_json(rows)
    else:
        render.table(kind, rows)


# The `ls` options each kind takes; any other given is a usage error, never silently ignored.
_LS_OPTIONS = {
    "pipelines": {"as_json"},
    "stages": {"pipeline", "as_json"},
    "executions": {"pipeline", "stage", "status", "where", "sort", "cursor", "limit", "as_json"},
    "artifacts": {"pipeline", "type_", "where", "sort", "cursor", "limit", "as_json"},
}


def _refuse_options_that_do_not_apply(ctx: click.Context, kind: str) -> None:
    given = [
        param
        for param in ctx.command.params
        if isinstance(param, click.Option)
        and param.name not in _LS_OPTIONS[kind]
        and ctx.get_parameter_source(param.name or "")
        not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if not given:
        return
    names = ", ".join(param.opts[0] for param in given)
    takes = [k for k, options in _LS_OPTIONS.items() if all(p.name in options for p in given)]
    they = "it" if len(given) == 1 else "they"
    where = f"; {they} can apply to {' and '.join(takes)}" if takes else ""
    verb = "does" if len(given) == 1 else "do"
    raise click.UsageError(f"{names} {verb} not apply to ls {kind}{where}.", ctx)


@cli.command()
@click.argument("reference")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="An artifact's events shown: producers first, then the runs that read it.",
)
@click.option(
    "--offset", type=click.IntRange(0), default=0, help="Skip this many of an artifact's events."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx: click.Context, reference: str, limit: int, offset: int, as_json: bool) -> None:
    """Show one execution (id or prefix) or artifact (digest, prefix, or recorded path).

    An artifact read by many runs is shown a page of events at a time, with how many
    produced it and read it."""
    from cmf_core.graph.lookup import describe
    from cmf_core.stale import stale_detail
    from cmf_mcp.cli import annotate as cli_annotate
    from cmf_mcp.cli import render

    found = settings(ctx)
    with open_store(ctx) as store:
        detail = describe(
            store,
            reference,
            project_root=found.project_root,
            events_limit=limit,
            events_offset=offset,
        )
        notes = cli_annotate.annotations_of(store, detail)
        stale = stale_detail(store, detail, stale_after=found.stale_after)
    if as_json:
        stale_json = {"stale": True, "stale_reason": stale}
        extra = {**(stale_json if stale else {}), **notes}
        print_json({**detail.model_dump(mode="json"), **extra} if extra else detail)
    else:
        render.detail(detail, stale=stale)
        cli_annotate.print_annotations(notes)


@cli.group()
def db() -> None:
    """Manage the store's schema."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Upgrade the store to this cmf's schema (back up a team database first)."""
    from cmf_core.store.engine import safe_url
    from cmf_core.store.migrate import upgrade_store

    url = settings(ctx).store_url
    before, after = upgrade_store(url)
    if before == after:
        click.echo(f"{safe_url(url)} is up to date (schema {after}).")
    else:
        click.echo(f"{safe_url(url)} upgraded from schema {before or 'none'} to {after}.")


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings from the library print as one plain line, like errors do."""
    click.echo(f"Warning: {message}", err=True)


def register_commands() -> None:
    """Add the query commands, each family kept in its own module."""
    from cmf_mcp.cli import annotate as cli_annotate
    from cmf_mcp.cli import artifact as cli_artifact
    from cmf_mcp.cli import card as cli_card
    from cmf_mcp.cli import compare as cli_compare
    from cmf_mcp.cli import lineage as cli_lineage
    from cmf_mcp.cli import log as cli_log
    from cmf_mcp.cli import metadata as cli_metadata
    from cmf_mcp.cli import mlmd as cli_mlmd
    from cmf_mcp.cli import runs as cli_runs
    from cmf_mcp.cli import search as cli_search
    from cmf_mcp.cli import serve as cli_mcp
    from cmf_mcp.cli import server as cli_server
    from cmf_mcp.cli import skill as cli_skill
    from cmf_mcp.cli import ui as cli_ui

    modules = (cli_search, cli_lineage, cli_compare, cli_mcp, cli_artifact, cli_mlmd, cli_server)
    for module in (*modules, cli_log, cli_card, cli_annotate):
        module.register(cli)
    cli_ui.register(cli)
    cli_runs.register(cli)
    cli_skill.register(cli)
    cli_metadata.register(cli)  # last: it adds subcommands to `server` when that is there


register_commands()


def main() -> None:
    import warnings

    warnings.showwarning = show_warning
    cli(prog_name="cmf")
