"""The `cmf` search commands: `cmf ls executions|artifacts` with `--where`, `--sort`, `--cursor`.

``--json`` prints the page's items as a JSON list (the shape `cmf ls` always
printed, each item with its ``labels``); the table has a labels column when a row
has labels (both read in one query for the page). When more rows remain, the cursor
for the next page goes to stderr as ``3 of 4 shown. More: add --cursor … to the same
command.``, so stdout stays one JSON document either way.
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
    from cmf_core.annotate import labels_of
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
            labels = labels_of(store, "execution", [e.id for e in rows])  # and one more
            if as_json:
                print_json(
                    [
                        _row(e, e.id in stale, finals.get(e.id, {}), labels.get(e.id, {}))
                        for e in rows
                    ]
                )
            else:
                first = metrics_named(where, sort)
                shown = {e.id: _metrics_text(finals.get(e.id, {}), first) for e in rows}
                render.table(
                    kind,
                    rows,
                    stale=stale,
                    metrics=shown if any(shown.values()) else None,
                    labels=_labels_column(labels),
                )
        else:
            page = search_artifacts(store, where, **filters, **paging)
            digests = [hit.artifact.digest for hit in page.items]
            labels = labels_of(store, "artifact", digests) if digests else {}
            if as_json:
                print_json(
                    [_artifact_row(hit, labels.get(hit.artifact.digest, {})) for hit in page.items]
                )
            else:
                render.table(
                    kind,
                    [(hit.artifact, hit.path) for hit in page.items],
                    labels=_labels_column(labels),
                )
    if page.next_cursor:
        total = f"{page.total:,}" if page.total is not None else f"at least {page.total_at_least:,}"
        click.echo(
            f"{len(page.items)} of {total} shown. More: add --cursor {page.next_cursor} to the "
            "same command.",
            err=True,
        )


def _row(execution: Any, is_stale: bool, metrics: dict[str, float], labels: dict[str, str]) -> Any:
    """An execution with its final metrics and labels; a running execution whose process
    is gone carries ``"stale": true`` (computed)."""
    row = {**execution.model_dump(mode="json"), "metrics": metrics, "labels": labels}
    return {**row, "stale": True} if is_stale else row


def _metrics_text(metrics: dict[str, float], first: list[str], most: int = 4) -> str:
    """``acc=0.93 loss=0.21``: the sort key's and the filter's metrics first, at most ``most``."""
    names = [*[n for n in first if n in metrics], *[n for n in metrics if n not in first]]
    shown = " ".join(f"{n}={metrics[n]:.4g}" for n in names[:most])
    return shown + (f" +{len(names) - most}" if len(names) > most else "")


def _labels_column(labels: dict[str, dict[str, str]], most: int = 3) -> dict[str, str] | None:
    """Key → ``quality=bad owner=ana +2`` (values cut at 30 characters); None when no row
    has labels, so the table has no labels column."""
    if not labels:
        return None
    shown = {}
    for key, found in labels.items():
        pairs = sorted(found.items())
        text = " ".join(f"{k}={v if len(v) <= 30 else v[:29] + '…'}" for k, v in pairs[:most])
        shown[key] = text + (f" +{len(pairs) - most}" if len(pairs) > most else "")
    return shown


def _artifact_row(hit: Any, labels: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = hit.artifact.model_dump(mode="json")
    row.update(path=hit.path, produced_by=hit.produced_by, pipeline=hit.pipeline, stage=hit.stage)
    return {**row, "labels": labels}


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli`` (searching is an option of `cmf ls`)."""
