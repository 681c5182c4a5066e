"""The `cmf import-mlmd` command: bring a cmflib project's mlmd history into the store."""

from typing import TYPE_CHECKING

import click

from cmf_mcp.cli.support import open_store, print_json

if TYPE_CHECKING:
    from cmf_core.cmflib.importer import ImportSummary

KINDS = ("pipelines", "stages", "executions", "artifacts", "events", "metrics")


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(import_mlmd)


@click.command(name="import-mlmd")
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--pipeline", help="Import only this pipeline.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_mlmd(ctx: click.Context, path: str, pipeline: str | None, as_json: bool) -> None:
    """Import a cmflib project's history from its mlmd file (ML Metadata SQLite).

    Pipelines, stages, executions (Git commits, command, params), artifacts by
    digest, events and metrics are merged into the store; importing the file
    again adds only what is new. The file is only read.

    \b
    cmf import-mlmd mlmd
    cmf import-mlmd ../old-project/mlmd --pipeline Test-env --json
    """
    from cmf_core.cmflib.importer import import_mlmd as run_import

    with open_store(ctx) as store:
        summary = run_import(store, path, pipeline=pipeline)
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)


def _print_summary(summary: "ImportSummary") -> None:
    records = summary.records
    names = ", ".join(summary.pipelines_imported) or "no pipeline"
    click.echo(f"Imported {summary.source} (ML Metadata schema {summary.schema_version}): {names}")
    header = ("", "new", "already there", "updated", "conflicts", "skipped")
    rows: list[tuple[str, ...]] = [header]
    for kind in KINDS:
        counts = getattr(records, kind)
        numbers = (counts.new, counts.unchanged, counts.updated, counts.conflicts, counts.skipped)
        rows.append((kind, *(str(n) for n in numbers)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        click.echo("  ".join(cells).rstrip())
    for skip in records.skipped:
        examples = f" (e.g. {', '.join(skip.examples)})" if skip.examples else ""
        click.echo(f"Skipped {skip.count} {skip.kind}: {skip.reason}{examples}")
    for conflict in records.conflicts:
        click.echo(
            f"Conflict, {conflict.kind} {conflict.key}: {conflict.reason}; kept "
            f"{conflict.stored}, not {conflict.incoming}"
        )
    total = sum(getattr(records, kind).conflicts for kind in KINDS)
    if total > len(records.conflicts):
        click.echo(f"… and {total - len(records.conflicts)} more conflicts (--json lists them).")
