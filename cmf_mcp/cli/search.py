"""The `cmf` search commands: `cmf ls executions|artifacts` with `--where`, `--sort`, `--cursor`.

``--json`` prints the page's items as a JSON list (the shape `cmf ls` always
printed); when more rows remain, the cursor for the next page goes to stderr
as ``More: add --cursor … to the same command.``, so stdout stays one JSON
document either way.
"""

from typing import Any

import click

from cmf_core.search.help import filter_help, sort_help
from cmf_mcp.cli.support import open_store, print_json, settings

WHERE_HELP = filter_help()
SORT_HELP = sort_help()


def list_page(
    ctx: click.Context,
    kind: str,
    *,
    limit: int,
    as_json: bool,
    where: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> None:
    """Run one search of executions or artifacts and print its page (`cmf ls`)."""
    from cmf_core.search.search import search_artifacts, search_executions
    from cmf_mcp.cli import render

    paging: dict[str, Any] = {"limit": limit, "cursor": cursor}
    if sort:
        paging["sort"] = sort
    with open_store(ctx) as store:
        if kind == "executions":
            from cmf_core.search.shown_metrics import metrics_named, page_metrics
            from cmf_core.stale import stale_ids

            page: Any = search_executions(store, where, **filters, **paging)
            rows: list[Any] = page.items
            stale = stale_ids(store, rows, stale_after=settings(ctx).stale_after)
            finals = page_metrics(store, [e.id for e in rows])  # one query for the page
            if as_json:
                print_json([_row(e, e.id in stale, finals.get(e.id, {})) for e in rows])
            else:
                first = metrics_named(where, sort)
                shown = {e.id: _metrics_text(finals.get(e.id, {}), first) for e in rows}
                render.table(
                    kind, rows, stale=stale, metrics=shown if any(shown.values()) else None
                )
        else:
            page = search_artifacts(store, where, **filters, **paging)
            if as_json:
                print_json([_artifact_row(hit) for hit in page.items])
            else:
                render.table(kind, [(hit.artifact, hit.path) for hit in page.items])
    if page.next_cursor:
        click.echo(f"More: add --cursor {page.next_cursor} to the same command.", err=True)


def _row(execution: Any, is_stale: bool, metrics: dict[str, float]) -> Any:
    """An execution with its final metrics; a running execution whose process is gone
    carries ``"stale": true`` (computed)."""
    row = {**execution.model_dump(mode="json"), "metrics": metrics}
    return {**row, "stale": True} if is_stale else row


def _metrics_text(metrics: dict[str, float], first: list[str], most: int = 4) -> str:
    """``acc=0.93 loss=0.21``: the sort key's and the filter's metrics first, at most ``most``."""
    names = [*[n for n in first if n in metrics], *[n for n in metrics if n not in first]]
    shown = " ".join(f"{n}={metrics[n]:.4g}" for n in names[:most])
    return shown + (f" +{len(names) - most}" if len(names) > most else "")


def _artifact_row(hit: Any) -> dict[str, Any]:
    row: dict[str, Any] = hit.artifact.model_dump(mode="json")
    row.update(path=hit.path, produced_by=hit.produced_by, pipeline=hit.pipeline, stage=hit.stage)
    return row


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli`` (searching is an option of `cmf ls`)."""
