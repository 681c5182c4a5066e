"""Human output of the CLI: listings as plain tables (:mod:`~cmf_mcp.cli.grid`), and rich
detail views of cmf_core records (rich is imported only by the views that use it)."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from cmf_core.records import (
    EVENT_COUNT_CAP,
    Artifact,
    ArtifactDetail,
    Execution,
    ExecutionDetail,
    Pipeline,
    Stage,
)
from cmf_mcp.cli.grid import Grid

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

MAX_SHOW_EVENTS = 10_000  # `cmf show --limit`: an artifact's events printed at most
STATUS_STYLE = {"running": "yellow", "completed": "green", "failed": "red", "stale": "magenta"}


def console() -> "Console":
    """A console for stdout; off a terminal it is wide, so ids are never cut."""
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=False)
    return out if out.is_terminal else Console(highlight=False, soft_wrap=False, width=240)


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(execution: Execution) -> str:
    if execution.ended_at is None:
        return ""
    seconds = (execution.ended_at - execution.started_at).total_seconds()
    return f"{seconds:.2f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def size(value: int | None) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(value)


def status(value: str) -> "Text":
    from rich.text import Text

    return Text(value, style=STATUS_STYLE.get(value, ""))


def status_cell(value: str) -> tuple[str, str]:
    """A status as a plain table cell, in its colour."""
    return (value, STATUS_STYLE.get(value, ""))


def table(
    kind: str,
    rows: list[Any],
    *,
    stale: set[str] | frozenset[str] = frozenset(),
    metrics: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> None:
    """Rows of one kind; executions in ``stale`` (running, process gone) show as stale,
    with ``metrics`` (id -> final metrics as text) in a column when given, and ``labels``
    (id or digest -> labels as text) in a last column when given."""
    if not rows:
        click.echo(f"No {kind} recorded.")
        return
    extra = [
        *(["metrics"] if metrics is not None else []),
        *(["labels"] if labels is not None else []),
    ]
    if kind == "pipelines":
        grid = Grid("pipeline", "created")
        for p in rows:
            assert isinstance(p, Pipeline)
            grid.add_row(p.name, when(p.created_at))
    elif kind == "stages":
        grid = Grid("pipeline", "stage", "created")
        for s in rows:
            assert isinstance(s, Stage)
            grid.add_row(s.pipeline, s.name, when(s.created_at))
    elif kind == "executions":
        grid = Grid("id", "pipeline", "stage", "status", "started", "took", "commit", *extra)
        for e in rows:
            assert isinstance(e, Execution)
            shown = "stale" if e.id in stale else e.status.value
            grid.add_row(
                e.id,
                e.pipeline,
                e.stage,
                status_cell(shown),
                when(e.started_at),
                duration(e),
                (e.git_commit_start or "")[:10] + ("*" if e.git_is_dirty else ""),
                *([] if metrics is None else [metrics.get(e.id, "")]),
                *([] if labels is None else [labels.get(e.id, "")]),
            )
    else:
        grid = Grid("digest", "type", "size", "files", "path", *extra)
        for artifact, path in rows:
            assert isinstance(artifact, Artifact)
            grid.add_row(
                artifact.digest,
                artifact.type.value,
                size(artifact.size),
                "" if artifact.nfiles is None else str(artifact.nfiles),
                path or "",
                *([] if labels is None else [labels.get(artifact.digest, "")]),
            )
    grid.print()


def detail(value: ExecutionDetail | ArtifactDetail, *, stale: str | None = None) -> None:
    """One execution or artifact; ``stale`` says why a running execution is stale."""
    if isinstance(value, ExecutionDetail):
        execution_detail(value, stale=stale)
    else:
        artifact_detail(value)


def _pairs(out: "Console", pairs: list[tuple[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, show_header=False, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in pairs:
        if value not in (None, "", {}):
            grid.add_row(name, value if isinstance(value, Text) else str(value))
    out.print(grid)


def execution_detail(d: ExecutionDetail, *, stale: str | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    e = d.execution
    out.print(Text(f"execution {e.id}", style="bold"))
    git = None
    if e.git_commit_start:
        git = e.git_commit_start + (" (dirty)" if e.git_is_dirty else "")
        if e.git_commit_end and e.git_commit_end != e.git_commit_start:
            git += f" → {e.git_commit_end}"
    _pairs(
        out,
        [
            ("pipeline", e.pipeline),
            ("stage", e.stage),
            ("status", status(e.status.value) + (Text(" (stale)", "magenta") if stale else "")),
            ("stale", stale and f"{stale}; `cmf runs close-stale` ends it failed"),
            ("error", e.error),
            ("started", when(e.started_at)),
            ("ended", when(e.ended_at)),
            ("took", duration(e)),
            ("command", e.command),
            ("site", e.site),
            ("git", git),
            ("branch", e.git_branch),
            ("remote", e.git_remote),
            ("environment", e.environment_digest),
            ("params", _inline(e.params)),
            ("properties", _inline(e.properties)),
        ],
    )
    for title, events in (("inputs", d.inputs), ("outputs", d.outputs)):
        if events:
            out.print(Text(title, style="bold"))
            grid = Table(box=None, show_header=False, pad_edge=False)
            for ev in events:
                grid.add_row(
                    "  " + ev.path,
                    ev.artifact.type.value,
                    ev.artifact.digest,
                    size(ev.artifact.size),
                )
            out.print(grid)
    if d.metrics:
        out.print(Text("metrics", style="bold"))
        grid = Table(box=None, show_header=False, pad_edge=False)
        for m in d.metrics:
            grid.add_row("  " + m.name, f"{m.value:.6g}")
        out.print(grid)
    if d.step_metrics:
        series = ", ".join(f"{name} ({n} steps)" for name, n in d.step_metrics.items())
        out.print(Text("step metrics ", style="bold") + Text(series))


def artifact_detail(d: ArtifactDetail) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    a = d.artifact
    out.print(Text(f"artifact {a.digest}", style="bold"))
    _pairs(
        out,
        [
            ("type", a.type.value),
            ("size", size(a.size)),
            ("files", a.nfiles),
            ("recorded", when(a.created_at)),
            ("properties", _inline(a.properties)),
        ],
    )
    if len(d.paths) > 1:
        _pairs(out, [("paths", ", ".join(d.paths))])
    if d.events:
        out.print(Text("events", style="bold"))
        grid = Table(box=None, show_header=False, pad_edge=False)
        for ev in d.events:
            grid.add_row("  " + ev.direction.value, ev.path, ev.execution_id)
        out.print(grid)
    left = _events_left_out(d)
    if left:
        out.print(Text(left, style="dim"))


def _events_left_out(d: ArtifactDetail) -> str | None:
    """What a page of an artifact's events leaves out, and how to see more."""
    if d.producers_total is None or d.consumers_total is None:
        return None
    total, shown = d.producers_total + d.consumers_total, len(d.events)
    if d.events_offset == 0 and shown >= total:
        return None

    def count(n: int) -> str:
        return f"{n:,}+" if n >= EVENT_COUNT_CAP else f"{n:,}"

    return (
        f"events {d.events_offset + 1:,}-{d.events_offset + shown:,} of "
        f"{count(d.producers_total)} produced and {count(d.consumers_total)} read; "
        f"more: --offset {d.events_offset + shown} (--limit N shows up to {MAX_SHOW_EVENTS:,})"
    )


def _inline(values: dict[str, Any]) -> str:
    if not values:
        return ""
    text = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return text if len(text) <= 300 else text[:297] + "…"
