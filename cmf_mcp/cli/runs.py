"""``cmf runs``: commands about runs as processes — ``close-stale`` ends the runs whose
process is gone (:mod:`cmf_core.stale`)."""

import click

from cmf_mcp.cli.support import open_store, print_json, settings


@click.group()
def runs() -> None:
    """Runs as processes: find and close the ones whose process is gone."""


@runs.command(name="close-stale")
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Only runs silent for longer than this (90s, 15m, 2h, 30d). Default: every stale run.",
)
@click.option("--dry-run", is_flag=True, help="List the runs it would close; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def close_stale(ctx: click.Context, older_than: str | None, dry_run: bool, as_json: bool) -> None:
    """End stale runs as failed, with the reason as their error.

    A run is stale when it is recorded as running but its process is gone: on
    this host, its pid is no longer alive; elsewhere, it has sent no heartbeat
    for the `stale_after` setting (15m by default). `cmf ls executions` shows
    them as stale. Each is ended as any run ends, so history and sync see it.
    """
    from cmf_core.duration import parse_duration
    from cmf_core.stale import close_stale as close

    found = settings(ctx)
    silent = parse_duration(older_than, what="--older-than") if older_than else None
    with open_store(ctx) as store:
        closed = close(store, stale_after=found.stale_after, older_than=silent, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "runs": closed})  # closed, or would be with --dry-run
        return
    if not closed:
        click.echo("No stale runs.")
        return
    verb = "Would close" if dry_run else "Closed"
    for run in closed:
        click.echo(f"{verb} {run.execution_id} as failed: stale: {run.reason}")
    if dry_run:
        click.echo("Run again without --dry-run to close them.")


def register(cli: click.Group) -> None:
    """Add ``cmf runs`` to ``cli``."""
    cli.add_command(runs)
