"""`cmf server`: serve the project's store to a team over HTTP (REST, sync, and MCP at /mcp).

``server`` is a group: with no subcommand it serves; other modules add
subcommands (``cmf server add|list|remove``) to it.
"""

import sys
from typing import Any

import click

from cmf_mcp.cli.support import CmfGroup, settings


@click.group(name="server", cls=CmfGroup, invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--cors-origin", multiple=True, metavar="ORIGIN", help="Allow browsers from ORIGIN (repeat)."
)
@click.option(
    "--max-body-mb",
    default=64,
    show_default=True,
    type=click.IntRange(1, 4096),
    help="Largest request body, in MiB.",
)
@click.option(
    "--allowed-host", multiple=True, metavar="NAME", help="Another Host name clients use (repeat)."
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests each worker works on at once; more help only when some are slow "
    "(use --workers for more cores).",
)
@click.option(
    "--trust-proxy",
    multiple=True,
    metavar="ADDRESS",
    help="A TLS-terminating proxy at ADDRESS (IP or CIDR; repeat): its X-Forwarded-Proto "
    "and X-Forwarded-For are believed, so sign-in cookies are Secure behind it.",
)
@click.option(
    "--federate-every",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Pull from and push to the federation peers this often.",
)
@click.pass_context
def server(ctx: click.Context, /, **options: Any) -> None:
    """Serve the store to a team: REST at /api/v1, docs at /docs, MCP at /mcp (tokens required)."""
    if ctx.invoked_subcommand is not None:
        return
    from cmf_mcp.http.app import serve
    from cmf_mcp.mcp.server import check_project

    found = settings(ctx)
    check_project(found)
    shown = f"[{options['host']}]" if ":" in options["host"] else options["host"]
    click.echo(
        f"cmf server on http://{shown}:{options['port']} (REST /api/v1, docs /docs, MCP /mcp); "
        "every request needs a token: cmf token create --name NAME --scope write",
        err=True,
    )
    sys.stderr.flush()
    serve(
        found.store_url,
        found.project_root,
        host=options["host"],
        port=options["port"],
        workers=options["workers"],
        cors_origins=options["cors_origin"],
        max_body_bytes=options["max_body_mb"] * 1024 * 1024,
        allowed_hosts=options["allowed_host"],
        federate_every=options["federate_every"],
        threads=options["threads"],
        trusted_proxies=options["trust_proxy"],
    )


def register(cli: click.Group) -> None:
    cli.add_command(server)
