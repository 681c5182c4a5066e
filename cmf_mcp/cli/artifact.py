"""The `cmf` commands for artifact bytes: remote, artifact push/pull/status, storage, gc, dvc."""

from typing import TYPE_CHECKING, Any

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.artifacts.cache import Cache
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.artifacts.transfer import TransferReport


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (remote, artifact, storage, gc, dvc):
        cli.add_command(command)


def _cache(ctx: click.Context) -> "Cache":
    from cmf_core.artifacts.cache import Cache

    return Cache.for_settings(settings(ctx))


def _remote(ctx: click.Context, name: str | None) -> "RemoteStore":
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.artifacts.remotes import get_remote

    return RemoteStore(get_remote(settings(ctx).project_root, name))


def _size(nbytes: int | None) -> str:
    if nbytes is None:
        return "?"
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


# -- remote -----------------------------------------------------------------------------------


@click.group()
def remote() -> None:
    """Define where artifact bytes are pushed (DVC remotes of a DVC repo are used as well)."""


@remote.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "is_default", is_flag=True, help="Make it the default remote.")
@click.option("--endpoint-url", help="S3-compatible endpoint, e.g. http://127.0.0.1:9000 (MinIO).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="Option.")
@click.pass_context
def remote_add(
    ctx: click.Context,
    name: str,
    url: str,
    is_default: bool,
    endpoint_url: str | None,
    options: tuple[str, ...],
) -> None:
    """Add remote NAME at URL (a folder, s3://, ssh://, gs://, azure://, http(s)://).

    Written to .cmf/config.local.toml, which Git ignores; give credentials through
    environment variables (AWS_ACCESS_KEY_ID, …) or options here, never in a tracked file.
    """
    from cmf_core.artifacts.remotes import add_remote

    extra = dict(_option(text) for text in options)
    if endpoint_url:
        extra["endpointurl"] = endpoint_url
    found = add_remote(settings(ctx).project_root, name, url, options=extra, default=is_default)
    click.echo(f"Remote {found.name!r} → {found.shown_url} (in {found.source})")


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE (e.g. -o region=eu-west-1).")
    return key, value


@remote.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def remote_list(ctx: click.Context, as_json: bool) -> None:
    """List the project's remotes (the default one marked with *)."""
    from cmf_core.artifacts.remotes import list_remotes

    remotes, default = list_remotes(settings(ctx).project_root)
    if as_json:
        rows = [{"name": r.name, "url": r.shown_url, "source": r.source} for r in remotes]
        print_json({"default": default, "remotes": rows})
        return
    if not remotes:
        click.echo("No remotes; add one with `cmf remote add NAME URL --default`.")
    for found in remotes:
        mark = "*" if found.name == default else " "
        click.echo(f"{mark} {found.name}\t{found.shown_url}\t({found.source})")


# -- artifact push / pull / status ------------------------------------------------------------


def _selection(function: Any) -> Any:
    function = click.option("--pipeline", help="Only the artifacts of this pipeline.")(function)
    function = click.option(
        "--execution",
        "executions",
        multiple=True,
        metavar="ID",
        help="Only the artifacts of this execution (id or prefix; repeat).",
    )(function)
    return function


@click.group()
def artifact() -> None:
    """Move artifact bytes between the cache and a remote; see where they are."""


@artifact.command(name="push")
@_selection
@click.option("--remote", "remote_name", metavar="NAME", help="Remote (default: the default).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), help="Objects sent at once.")
@click.pass_context
def push_command(
    ctx: click.Context,
    pipeline: str | None,
    executions: tuple[str, ...],
    remote_name: str | None,
    jobs: int | None,
) -> None:
    """Send the cached bytes of logged artifacts that the remote lacks."""
    from cmf_core.artifacts.push import push_artifacts

    target = _remote(ctx, remote_name)
    with open_store(ctx) as store:
        report = push_artifacts(
            store, _cache(ctx), target, pipeline=pipeline, executions=executions or None, jobs=jobs
        )
    _print_report(report)


@artifact.command(name="pull")
@_selection
@click.option("--remote", "remote_name", metavar="NAME", help="Remote (default: the default).")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), help="Objects fetched at once.")
@click.option("--force", is_flag=True, help="Replace workspace files that differ (--execution).")
@click.pass_context
def pull_command(
    ctx: click.Context,
    pipeline: str | None,
    executions: tuple[str, ...],
    remote_name: str | None,
    jobs: int | None,
    force: bool,
) -> None:
    """Fetch artifact bytes into the cache, verified; with --execution, restore its inputs.

    `cmf artifact pull --execution ID` puts back exactly the inputs that execution
    read, at the paths it read them from: what `cmf reproduce ID` needs.
    """
    from cmf_core.artifacts.pull import pull_artifacts

    target = _remote(ctx, remote_name)
    root = settings(ctx).project_root if executions else None
    with open_store(ctx) as store:
        report = pull_artifacts(
            store,
            _cache(ctx),
            target,
            pipeline=pipeline,
            executions=executions or None,
            restore_to=root,
            force=force,
            jobs=jobs,
        )
    _print_report(report)


def _print_report(report: "TransferReport") -> None:
    verb = "Pushed" if report.direction == "push" else "Pulled"
    click.echo(
        f"{verb} {report.objects} object(s), {_size(report.bytes)} "
        f"({report.already} already there) for {report.artifacts} artifact(s), "
        f"remote {report.remote!r}."
    )
    for path in report.restored:
        click.echo(f"Restored {path}")


@artifact.command(name="status")
@_selection
@click.option("--remote", "remote_names", multiple=True, metavar="NAME", help="Remote (repeat).")
@click.option("--verify", is_flag=True, help="Re-read every cached object and check its md5.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status_command(
    ctx: click.Context,
    pipeline: str | None,
    executions: tuple[str, ...],
    remote_names: tuple[str, ...],
    verify: bool,
    as_json: bool,
) -> None:
    """Per artifact: is it in the workspace (same or modified), the cache, each remote?"""
    from cmf_core.artifacts.remotes import list_remotes
    from cmf_core.artifacts.status import artifact_status

    root = settings(ctx).project_root
    names = remote_names or tuple(r.name for r in list_remotes(root)[0])
    targets = [_remote(ctx, name) for name in names]
    with open_store(ctx) as store:
        rows = artifact_status(
            store,
            _cache(ctx),
            root,
            remotes=targets,
            pipeline=pipeline,
            executions=executions or None,
            verify=verify,
            stat_cache=store if store.dialect == "sqlite" and not store.read_only else None,
        )
    if as_json:
        print_json(rows)
        return
    for row in rows:
        where = " ".join(f"{name}:{state}" for name, state in row.remotes.items())
        click.echo(
            f"{row.digest[:16]}  {row.path}  workspace:{row.workspace} cache:{row.cache} {where}"
        )


# -- storage, gc ------------------------------------------------------------------------------


@click.group()
def storage() -> None:
    """What artifact bytes cost."""


@storage.command(name="stats")
@click.option("--remote", "remote_names", multiple=True, metavar="NAME", help="Remote (repeat).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats_command(ctx: click.Context, remote_names: tuple[str, ...], as_json: bool) -> None:
    """Bytes logged vs bytes stored (the dedup ratio), per pipeline and type; objects per place."""
    from cmf_core.artifacts.stats import storage_stats

    targets = [_remote(ctx, name) for name in remote_names]
    with open_store(ctx) as store:
        stats = storage_stats(store, _cache(ctx), remotes=targets)
    if as_json:
        print_json(stats)
        return
    for title, groups in (
        ("", [stats.total]),
        ("pipeline ", stats.pipelines),
        ("type ", stats.types),
    ):
        for group in groups:
            ratio = f"{group.dedup_ratio:.2f}x" if group.dedup_ratio else "-"
            click.echo(
                f"{title}{group.name}: logged {_size(group.logical_bytes)}, stored "
                f"{_size(group.stored_bytes)}, dedup {ratio} ({group.artifacts} artifacts)"
            )
    for place in stats.locations:
        click.echo(f"{place.name}: {place.objects} objects, {_size(place.bytes)}")


@click.command()
@click.option("--keep-last", type=click.IntRange(0), help="Keep the N newest executions per stage.")
@click.option("--keep-pipeline", "keep_pipelines", multiple=True, help="Keep this pipeline.")
@click.option("--remote", "remote_name", metavar="NAME", help="Collect a remote, not the cache.")
@click.option("--dry-run/--delete", default=True, help="Only report (default), or delete.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def gc(
    ctx: click.Context,
    keep_last: int | None,
    keep_pipelines: tuple[str, ...],
    remote_name: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Remove cached (or remote) objects no kept execution, nor anything upstream, uses."""
    from cmf_core.artifacts.gc import collect_garbage

    target = _remote(ctx, remote_name) if remote_name else None
    with open_store(ctx) as store:
        report = collect_garbage(
            store,
            _cache(ctx),
            remote=target,
            keep_last=keep_last,
            keep_pipelines=keep_pipelines,
            dry_run=dry_run,
        )
    if as_json:
        print_json(report)
        return
    verb = "Would remove" if dry_run else "Removed"
    click.echo(
        f"{verb} {report.removed} of {report.objects} object(s) from {report.location}, "
        f"freeing {_size(report.freed_bytes)}; kept {report.kept_executions} of "
        f"{report.executions} execution(s)."
    )
    for digest in report.removed_oids:
        click.echo(f"  {digest}")
    if dry_run and report.removed:
        click.echo("Nothing was deleted; run again with --delete to delete.")


@click.group()
def dvc() -> None:
    """Work with DVC projects."""


@dvc.command(name="ingest")
@click.option("--pipeline", help="Pipeline to record into (default: the project folder's name).")
@click.pass_context
def ingest_command(ctx: click.Context, pipeline: str | None) -> None:
    """Record dvc.lock's stage runs and the *.dvc files as executions with their artifacts.

    The bytes stay in DVC's cache and remotes; `cmf artifact pull` fetches them.
    """
    from cmf_core.artifacts.dvc_ingest import ingest_dvc

    found = settings(ctx)
    with open_store(ctx) as store:
        report = ingest_dvc(store, found.project_root, pipeline=pipeline, site=found.site)
    click.echo(
        f"Recorded {report.executions} execution(s) with {report.artifacts} artifact event(s) "
        f"in pipeline {report.pipeline!r}; {report.unchanged} already recorded."
    )
