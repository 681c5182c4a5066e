"""`cmf mcp` (serve the project over MCP) and `cmf token create|list|revoke` (HTTP tokens)."""

from pathlib import Path

import click

from cmf_mcp.cli_support import open_store, print_json, translate_errors

SCOPES = ("read", "write", "admin")


@click.command(name="mcp")
@click.option(
    "--transport",
    type=click.Choice(("stdio", "http")),
    default="stdio",
    show_default=True,
    help="stdio for a local client; http serves streamable HTTP at /mcp (token required).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP address.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--allow-host", multiple=True, metavar="NAME", help="Another Host name for HTTP.")
@click.option("--read-only", is_flag=True, help="Serve only the read tools.")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder (default: the one around the current folder).",
)
@click.option(
    "--log-level",
    type=click.Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    default="WARNING",
    show_default=True,
)
@click.pass_context
@translate_errors
def mcp_command(
    ctx: click.Context,
    transport: str,
    host: str,
    port: int,
    allow_host: tuple[str, ...],
    read_only: bool,
    project: Path | None,
    log_level: str,
) -> None:
    """Serve this project's store to AI assistants over MCP (stdio by default).

    \b
    claude mcp add cmf -- cmf mcp --project "$PWD"
    cmf mcp --transport http --port 8765     # clients send Authorization: Bearer cmf_…
    """
    from cmf_mcp.server import serve

    serve(
        settings_root=project,
        store_url=ctx.find_root().params.get("store"),
        transport=transport,
        host=host,
        port=port,
        read_only=read_only,
        allowed_hosts=list(allow_host),
        log_level=log_level,  # type: ignore[arg-type]  # one of click's choices
    )


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the secret).")
@click.pass_context
@translate_errors
def create(ctx: click.Context, name: str, scope: str, as_json: bool) -> None:
    """Make a token and print its secret: it is shown this once only."""
    from cmf_core.auth import create_token

    with open_store(ctx) as store:
        made, secret = create_token(store, name, scope)
    if as_json:
        print_json({**made.model_dump(mode="json"), "secret": secret})
        return
    click.echo(secret)
    click.echo(
        f"Token {made.name!r} (scope {made.scope}) created. Copy the secret above now: it is "
        "not stored and cannot be shown again.",
        err=True,
    )


@token.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@translate_errors
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
    from cmf_mcp import render

    out = render.console()
    from rich.table import Table

    grid = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "scope", "created", "last used", "revoked", "id"):
        grid.add_column(column)
    for t in tokens:
        grid.add_row(
            t.name,
            t.scope,
            render.when(t.created_at),
            render.when(t.last_used_at),
            render.when(t.revoked_at),
            t.id,
        )
    out.print(grid)


@token.command(name="revoke")
@click.argument("name_or_id")
@click.pass_context
@translate_errors
def revoke(ctx: click.Context, name_or_id: str) -> None:
    """Revoke a token by name or id; clients using it are refused from then on."""
    with open_store(ctx) as store:
        revoked = store.revoke_token(name_or_id)
    click.echo(f"Token {revoked.name!r} revoked.")


def register(cli: click.Group) -> None:
    """Add `cmf mcp` and `cmf token` to ``cli``."""
    cli.add_command(mcp_command)
    cli.add_command(token)
