"""`cmf ui`: browse the project's store in a web browser (read-only, 127.0.0.1 by default)."""

import sys

import click

from cmf_mcp.cli.support import settings


@click.command(name="ui")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any but the loopback needs a token to sign in.",
)
@click.pass_context
def ui(ctx: click.Context, port: int, host: str) -> None:
    """Serve the web UI over the local store: pipelines, runs, lineage graphs, metrics."""
    from cmf_core.store import Store
    from cmf_mcp.http.ui.local import is_loopback, serve_ui

    found = settings(ctx)
    with Store(found.store_url, read_only=True):  # no store here: say so before serving
        pass
    shown = f"[{host}]" if ":" in host else host
    note = "" if is_loopback(host) else "; sign in with a token (cmf token create)"
    click.echo(f"cmf ui on http://{shown}:{port}/ (read-only{note}); Ctrl-C stops it", err=True)
    sys.stderr.flush()
    serve_ui(found.store_url, found.project_root, host=host, port=port)


def register(cli: click.Group) -> None:
    cli.add_command(ui)
