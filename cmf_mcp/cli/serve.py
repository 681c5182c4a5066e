"""`cmf mcp` (serve the project over MCP) and `cmf token create|list|revoke` (HTTP tokens)."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from cmf_mcp.cli.support import CONTEXT_SETTINGS, CmfCommand, open_store, print_json

SCOPES = ("read", "write", "admin")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def mcp_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``cmf mcp`` and ``cmf-mcp`` share (``cmf-mcp`` adds ``--store``)."""
    options = [
        click.option(
            "--transport",
            type=click.Choice(("stdio", "http")),
            default="stdio",
            show_default=True,
            help="stdio for a local client; http serves streamable HTTP at /mcp (token required).",
        ),
        click.option("--host", default="127.0.0.1", show_default=True, help="HTTP address."),
        click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535)),
        click.option(
            "--allow-host", multiple=True, metavar="NAME", help="Another Host name for HTTP."
        ),
        click.option(
            "--public",
            is_flag=True,
            help="Allow a --host other than loopback (put a TLS proxy in front: over plain "
            "HTTP, tokens and answers cross the network readable).",
        ),
        click.option("--read-only", is_flag=True, help="Serve only the read tools."),
        click.option(
            "--project",
            type=click.Path(file_okay=False, path_type=Path),
            help="Project folder (default: the one around the current folder).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LOG_LEVELS),
            default="WARNING",
            show_default=True,
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_server(store: str | None, **options: Any) -> None:
    """Serve until the client goes away (stdio) or Ctrl-C (HTTP)."""
    from cmf_mcp.mcp.server import serve

    project = options.pop("project")
    allowed = list(options.pop("allow_host"))
    public = options.pop("public")
    if options["transport"] == "http" and not public and not is_loopback(options["host"]):
        raise click.UsageError(
            f"--host {options['host']} would serve MCP to the network over plain HTTP, where "
            "bearer tokens and every answer can be read on the way. Serve on 127.0.0.1 (the "
            "default) for this machine, or put a TLS proxy in front and add --public."
        )
    serve(settings_root=project, store_url=store, allowed_hosts=allowed, **options)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: localhost, 127.0.0.0/8 or ::1."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any address


@click.command(name="mcp")
@mcp_options
@click.pass_context
def mcp_command(ctx: click.Context, /, **options: Any) -> None:
    """Serve this project's store to AI assistants over MCP (stdio by default).

    \b
    claude mcp add cmf -- cmf mcp --project "$PWD"
    cmf mcp --transport http --port 8765     # clients send Authorization: Bearer cmf_…
    """
    run_server(ctx.find_root().params.get("store"), **options)


@click.command(name="cmf-mcp", cls=CmfCommand, context_settings=CONTEXT_SETTINGS)
@mcp_options
@click.option(
    "--store",
    envvar="CMF_STORE_URL",
    metavar="URL",
    help="Store URL (default: the project's .cmf/metadata.db). Env: CMF_STORE_URL.",
)
def cmf_mcp(store: str | None, **options: Any) -> None:
    """Serve a cmf project's store over MCP (stdio by default); the same as `cmf mcp`.

    \b
    cmf-mcp --project ~/work/fraud            # stdio, naming the project (Claude Desktop)
    cmf-mcp --transport http --port 8765      # streamable HTTP at http://127.0.0.1:8765/mcp
    """
    run_server(store, **options)


def main() -> None:
    """Entry point of ``cmf-mcp`` (and ``python -m cmf_mcp.mcp``)."""
    cmf_mcp(prog_name="cmf-mcp")


@click.group()
def token() -> None:
    """Bearer tokens for the MCP and team servers over HTTP (stored hashed)."""


@token.command(name="create")
@click.option("--name", required=True, help="Who or what uses it, e.g. 'ci' or 'alice'.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="read",
    show_default=True,
    help="read: read tools only; write: also record runs; admin: also manage tokens.",
)
@click.option(
    "--expires",
    metavar="DURATION",
    help="Refuse the token after this long: 90m, 12h, 30d, 1w (default: until revoked).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the secret).")
@click.pass_context
def create(ctx: click.Context, name: str, scope: str, expires: str | None, as_json: bool) -> None:
    """Make a token and print its secret: it is shown this once only."""
    from cmf_core.auth import create_token
    from cmf_core.duration import parse_duration

    lifetime = parse_duration(expires, what="--expires") if expires is not None else None
    with open_store(ctx) as store:
        made, secret = create_token(store, name, scope, expires_in=lifetime)
    if as_json:
        print_json({**made.model_dump(mode="json"), "secret": secret})
        return
    click.echo(secret)
    click.echo(
        f"Token {made.name!r} (scope {made.scope}"
        + (f", expires {made.expires_at:%Y-%m-%d %H:%M} UTC" if made.expires_at else "")
        + ") created. Copy the secret above now: it is not stored and cannot be shown again.",
        err=True,
    )


@token.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_tokens(ctx: click.Context, as_json: bool) -> None:
    """List tokens (never their secrets), oldest first."""
    with open_store(ctx) as store:
        tokens = store.list_tokens()
    if as_json:
        print_json(tokens)
        return
    if not tokens:
        click.echo("No tokens; `cmf token create --name NAME --scope read` makes one.")
        return
    from cmf_mcp.cli import render

    out = render.console()
    from rich.table import Table

    grid = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "scope", "created", "last used", "expires", "revoked", "id"):
        grid.add_column(column)
    for t in tokens:
        grid.add_row(
            t.name,
            t.scope,
            render.when(t.created_at),
            render.when(t.last_used_at),
            _expiry(t.expires_at),
            render.when(t.revoked_at),
            t.id,
        )
    out.print(grid)


def _expiry(expires_at: datetime | None) -> str:
    from datetime import UTC

    from cmf_mcp.cli import render

    if expires_at is None:
        return "never"
    return ("expired " if expires_at <= datetime.now(UTC) else "") + render.when(expires_at)


@token.command(name="revoke")
@click.argument("name_or_id")
@click.pass_context
def revoke(ctx: click.Context, name_or_id: str) -> None:
    """Revoke a token by name or id; clients using it are refused from then on."""
    with open_store(ctx) as store:
        revoked = store.revoke_token(name_or_id)
    click.echo(f"Token {revoked.name!r} revoked.")


def register(cli: click.Group) -> None:
    """Add `cmf mcp` and `cmf token` to ``cli``."""
    cli.add_command(mcp_command)
    cli.add_command(token)
