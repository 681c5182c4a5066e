"""The `cmf` commands for metadata sync: metadata push/pull/export/import/conflicts,
federation, audit, and the `server add/list/remove` client configuration."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.store.batch import MergeSummary
    from cmf_core.sync.client import SyncClient
    from cmf_core.sync.servers import Target
    from cmf_core.sync.transfer import SyncReport


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli`` (and ``server``'s subcommands, if it is there)."""
    for command in (metadata, federation, audit):
        cli.add_command(command)
    server = cli.commands.get("server")
    if isinstance(server, click.Group):
        for sub in (server_add, server_list, server_remove):
            server.add_command(sub)


def _server_options(function: Any) -> Any:
    function = click.option(
        "--token",
        metavar="TOKEN",
        help="Bearer token (default: CMF_SERVER_TOKEN, then the configured one).",
    )(function)
    return click.option(
        "--server",
        "server_name",
        metavar="URL|NAME",
        help="Team server URL or configured name (default: CMF_SERVER_URL, then the default).",
    )(function)


def _target(ctx: click.Context, server: str | None, token: str | None) -> "Target":
    from cmf_core.sync.servers import resolve_server

    return resolve_server(settings(ctx).project_root, server, token)


def _client(target: "Target") -> "SyncClient":
    from cmf_core.sync.client import SyncClient

    return SyncClient(target.url, target.token)


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal's stderr (nothing elsewhere): call it with (done, total)."""
    if not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, done) or None)

        yield update


def _counts(summary: "MergeSummary") -> str:
    kinds = ("executions", "artifacts", "events", "metrics", "annotations")
    parts = []
    for kind in kinds:
        counts = getattr(summary, kind)
        parts.append(f"{counts.new} new {kind}")
    return ", ".join(parts)


def _print_sync(report: "SyncReport", as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "direction": report.direction,
                "server": report.server,
                "pipeline": report.scope or None,
                "cursor": {"before": report.cursor_before, "after": report.cursor_after},
                "offered": report.offered,
                "sent": report.sent,
                "already_there": report.already_there,
                "received": report.received,
                "summary": report.summary,
            }
        )
        return
    summary = report.summary
    if report.direction == "push":
        click.echo(
            f"Pushed to {report.server}: {report.sent} record(s) sent, "
            f"{report.already_there} already there ({_counts(summary)})."
        )
    else:
        click.echo(
            f"Pulled from {report.server}: {report.received} record(s) received "
            f"({_counts(summary)})."
        )
    _print_conflicts_and_skips(summary)


def _print_conflicts_and_skips(summary: "MergeSummary") -> None:
    total = sum(
        getattr(summary, kind).conflicts
        for kind in (
            "pipelines",
            "stages",
            "executions",
            "artifacts",
            "events",
            "metrics",
            "annotations",
        )
    )
    if total:
        click.echo(
            f"{total} conflict(s) kept with both versions (the stored one stays): "
            "`cmf metadata conflicts` shows them."
        )
    for skip in summary.skipped:
        click.echo(f"Skipped {skip.count} {skip.kind}: {skip.reason} (e.g. {skip.examples[0]}).")


# -- metadata ---------------------------------------------------------------------------------


@click.group()
def metadata() -> None:
    """Sync metadata with a team server, or carry it in bundle files."""


@metadata.command(name="push")
@click.option("--pipeline", metavar="NAME", help="Only this pipeline's records.")
@_server_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def push_command(
    ctx: click.Context,
    pipeline: str | None,
    server_name: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Send the server what it lacks (found by natural keys; resumable)."""
    from cmf_core.sync.transfer import push_metadata

    target = _target(ctx, server_name, token)
    with open_store(ctx) as store, _client(target) as client, _bar("push") as progress:
        report = push_metadata(store, client, pipeline=pipeline, progress=progress)
    _print_sync(report, as_json)


@metadata.command(name="pull")
@_server_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def pull_command(
    ctx: click.Context, server_name: str | None, token: str | None, as_json: bool
) -> None:
    """Fetch everything the server recorded since the last pull from it."""
    from cmf_core.sync.transfer import pull_metadata

    target = _target(ctx, server_name, token)
    with open_store(ctx) as store, _client(target) as client, _bar("pull") as progress:
        report = pull_metadata(store, client, progress=progress)
    _print_sync(report, as_json)


@metadata.command(name="export")
@click.option("--pipeline", metavar="NAME", help="Only this pipeline's records.")
@click.option("--since", type=click.IntRange(0), default=0, help="Journal position to start after.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bundle file to write, e.g. bundle.jsonl.gz.",
)
@click.pass_context
def export_command(ctx: click.Context, pipeline: str | None, since: int, output: Path) -> None:
    """Write a bundle file (for a site with no network)."""
    from cmf_core.sync.bundle import export_bundle

    found = settings(ctx)
    with open_store(ctx) as store, _bar("export") as progress:
        report = export_bundle(
            store, output, pipeline=pipeline, since=since, site=found.site, progress=progress
        )
    click.echo(
        f"Wrote {report.records} record(s) in {report.lines} line(s) to {output}. "
        f"Next time, export --since {report.until} for what is new."
    )


@metadata.command(name="import")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def import_command(ctx: click.Context, bundle: Path, as_json: bool) -> None:
    """Merge a bundle file (checked whole first; same rules as a pull)."""
    from cmf_core.sync.bundle import import_bundle

    with open_store(ctx) as store, _bar("import") as progress:
        report = import_bundle(store, bundle, progress=progress)
    if as_json:
        print_json({"records": report.records, "summary": report.summary})
        return
    assert report.summary is not None
    click.echo(f"Imported {report.records} record(s) from {bundle} ({_counts(report.summary)}).")
    _print_conflicts_and_skips(report.summary)


@metadata.command(name="conflicts")
@click.option("--after", type=click.IntRange(0), default=0, help="Only those after this id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def conflicts_command(ctx: click.Context, after: int, limit: int, as_json: bool) -> None:
    """Records a merge kept apart: the stored version and the one that came in."""
    with open_store(ctx) as store:
        found = store.list_conflicts(after=after, limit=limit)
        total = store.count_conflicts()
    if as_json:
        print_json([conflict.__dict__ for conflict in found])
        return
    if not found:
        click.echo("No conflicts: every merge so far agreed with what was stored.")
        return
    for c in found:
        click.echo(f"#{c.id} {c.kind} {c.key} ({c.source}, {c.recorded_at:%Y-%m-%d %H:%M}Z)")
        click.echo(f"    {c.reason}")
        for name in c.stored.keys() | c.incoming.keys():
            click.echo(f"    {name}: kept {c.stored.get(name)!r}, came {c.incoming.get(name)!r}")
    if total > after + len(found):
        click.echo(f"… more: --after {found[-1].id}")


# -- server add/list/remove (client configuration) -------------------------------------------


@click.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--token", metavar="TOKEN", help="Token to keep with it (untracked file).")
@click.option("--default", "is_default", is_flag=True, help="Make it the default server.")
@click.pass_context
def server_add(
    ctx: click.Context, name: str, url: str, token: str | None, is_default: bool
) -> None:
    """Remember a team server for `cmf metadata push/pull` (in .cmf/config.local.toml)."""
    from cmf_core.sync.servers import add_server

    written = add_server(settings(ctx).project_root, name, url, token=token, default=is_default)
    click.echo(f"Added server {name!r} ({url}) to {written}; Git ignores that file.")


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def server_list(ctx: click.Context, as_json: bool) -> None:
    """The configured team servers (tokens are never printed)."""
    from cmf_core.sync.servers import list_servers

    entries = list_servers(settings(ctx).project_root)
    if as_json:
        print_json([entry.__dict__ for entry in entries])
        return
    if not entries:
        click.echo("No servers configured; `cmf server add NAME URL` adds one.")
    for entry in entries:
        mark = " (default)" if entry.default else ""
        token = "token kept" if entry.has_token else "no token"
        click.echo(f"{entry.name}\t{entry.url}\t{token}{mark}")


@click.command(name="remove")
@click.argument("name")
@click.pass_context
def server_remove(ctx: click.Context, name: str) -> None:
    """Forget a configured team server."""
    from cmf_core.sync.servers import remove_server

    remove_server(settings(ctx).project_root, name)
    click.echo(f"Removed server {name!r}.")


# -- federation ---------------------------------------------------------------------------


@click.group()
def federation() -> None:
    """Peer servers this server's store syncs with (edge ↔ cloud ↔ datacenter)."""


@federation.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--token", required=True, metavar="TOKEN", help="A write token on the peer.")
@click.pass_context
def federation_add(ctx: click.Context, name: str, url: str, token: str) -> None:
    """Add a peer (kept in the untracked .cmf/config.local.toml)."""
    from cmf_core.sync.servers import add_server

    written = add_server(settings(ctx).project_root, name, url, token=token, table="peer")
    click.echo(f"Added peer {name!r} ({url}) to {written}; `cmf federation sync` syncs it.")


@federation.command(name="list")
@click.pass_context
def federation_list(ctx: click.Context) -> None:
    """The peers."""
    from cmf_core.sync.servers import list_servers

    entries = list_servers(settings(ctx).project_root, "peer")
    if not entries:
        click.echo("No peers; `cmf federation add NAME URL --token T` adds one.")
    for entry in entries:
        click.echo(f"{entry.name}\t{entry.url}")


@federation.command(name="remove")
@click.argument("name")
@click.pass_context
def federation_remove(ctx: click.Context, name: str) -> None:
    """Forget a peer."""
    from cmf_core.sync.servers import remove_server

    remove_server(settings(ctx).project_root, name, table="peer")
    click.echo(f"Removed peer {name!r}.")


@federation.command(name="sync")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def federation_sync(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Pull from and push to each peer (or only NAME), with the same cursors and rules."""
    from cmf_core.sync.federation import federate

    with open_store(ctx) as store:
        reports = federate(store, settings(ctx).project_root, name)
    for report in reports:
        _print_sync(report, as_json)


# -- audit ----------------------------------------------------------------------------------


@click.command()
@click.option("--after", type=click.IntRange(0), default=0, help="Only entries after this id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--actor", metavar="TOKEN-NAME", help="Only what this token (site) pushed.")
@click.option("--server", "server_name", metavar="URL|NAME", help="Read a server's audit.")
@click.option("--token", metavar="TOKEN", help="An admin token on that server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def audit(
    ctx: click.Context,
    after: int,
    limit: int,
    actor: str | None,
    server_name: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Who pushed which record, when, from which site (this store's, or a server's)."""
    if server_name:
        with _client(_target(ctx, server_name, token)) as client:
            entries = client.audit(after=after, limit=limit, actor=actor)
    else:
        with open_store(ctx) as store:
            entries = [e.__dict__ for e in store.read_audit(after=after, limit=limit, actor=actor)]
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo("Nothing pushed to this store yet.")
    for e in entries:
        click.echo(f"#{e['id']} {e['at']} {e['actor']} {e['action']} {e['kind']} {e['key']}")
