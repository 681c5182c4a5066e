"""Tool results: cmf_core records turned into bounded output models and compact text.

Every tool answers with :func:`result`: the output model as structured content
(full ids, every field of the page) and a short text for the model to read
(short ids — still valid prefixes —, one line per item, user-written values
marked ``[user data]`` and quoted as JSON, and a ``next:`` line naming the
tool to call next).
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mcp_types import CallToolResult, TextContent

from cmf_core.digest import short_digest
from cmf_core.records import (
    ArtifactDetail,
    EventDetail,
    Execution,
    ExecutionDetail,
)
from cmf_mcp.mcp.output.labels import labels_text
from cmf_mcp.mcp.output.schemas import (
    ArtifactUse,
    ArtifactView,
    DetailLevel,
    EventItem,
    ExecutionSummary,
    ExecutionView,
    Output,
    clip_mapping,
    clip_paths,
    clip_text,
    cut_text,
    encode_cursor,
    fit,
    short_id,
)

DATA = "[user data]"


def result(model: Output, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=cut_text(text))],
        structured_content=model.model_dump(mode="json"),
    )


# -- building models -----------------------------------------------------------------------


def execution_summary(execution: Execution, detail: DetailLevel) -> ExecutionSummary:
    params, clipped_params = clip_mapping(execution.params, detail)
    properties: dict[str, Any] | None = None
    clipped_properties = False
    if detail == "full":
        properties, clipped_properties = clip_mapping(execution.properties, detail)
    command, clipped_command = clip_text(execution.command, detail, path=True)
    error, clipped_error = clip_text(execution.error, detail)
    ended = execution.ended_at
    return ExecutionSummary(
        id=execution.id,
        short_id=short_id(execution.id),
        pipeline=clip_text(execution.pipeline, detail)[0] or "",
        stage=clip_text(execution.stage, detail)[0] or "",
        status=execution.status.value,
        started_at=execution.started_at,
        ended_at=ended,
        duration_s=None if ended is None else (ended - execution.started_at).total_seconds(),
        site=clip_text(execution.site, detail)[0],
        git_commit=execution.git_commit_start,
        git_dirty=execution.git_is_dirty,
        params=params,
        properties=properties,
        command=command if detail == "full" else None,
        error=error,
        clipped=clipped_params or clipped_properties or clipped_error or clipped_command,
    )


def event_item(event: EventDetail, level: DetailLevel) -> EventItem:
    return EventItem(
        direction=event.direction.value,
        path=clip_text(event.path, level, path=True)[0] or "",
        digest=event.artifact.digest,
        short_digest=short_digest(event.artifact.digest),
        type=event.artifact.type.value,
        size=event.artifact.size,
        nfiles=event.artifact.nfiles,
    )


def execution_view(
    detail: ExecutionDetail, level: DetailLevel, *, offset: int, limit: int
) -> ExecutionView:
    """One page of an execution's events (inputs first, then outputs) with its metrics."""
    events = [*detail.inputs, *detail.outputs]
    finals = {m.name: (None if m.value != m.value else m.value) for m in detail.metrics}

    def builder(at: DetailLevel) -> Callable[[Sequence[EventDetail], bool], ExecutionView]:
        summary = execution_summary(detail.execution, at)
        metrics = clip_mapping(finals, at)[0]
        step_metrics = clip_mapping(detail.step_metrics, at)[0]

        def build(items: Sequence[EventDetail], truncated: bool) -> ExecutionView:
            end = offset + len(items)
            more = end < len(events)
            shown = [event_item(e, at) for e in items]
            return ExecutionView(
                execution=summary,
                inputs=[e for e in shown if e.direction == "input"],
                outputs=[e for e in shown if e.direction == "output"],
                inputs_total=len(detail.inputs),
                outputs_total=len(detail.outputs),
                metrics=metrics,
                metrics_total=len(finals),
                step_metrics=step_metrics,
                environment_digest=detail.execution.environment_digest,
                has_more=more,
                next_cursor=encode_cursor("events", end) if more else None,
                truncated=truncated,
            )

        return build

    shorter = builder("concise")
    return fit(events[offset : offset + limit], builder(level), lambda i: shorter(i, True))


def artifact_view(
    detail: ArtifactDetail,
    executions: Mapping[str, Execution],
    level: DetailLevel,
    *,
    offset: int,
    limit: int,
) -> ArtifactView:
    """One page of who produced (first) and who read an artifact; ``detail`` holds every
    event, or (read with ``events_limit``) just this page's with the totals."""
    producers = [e for e in detail.events if e.direction.value == "output"]
    consumers = [e for e in detail.events if e.direction.value == "input"]
    events = [*producers, *consumers]
    if detail.producers_total is None or detail.consumers_total is None:
        page, totals = events[offset : offset + limit], (len(producers), len(consumers))
    else:
        page, totals = events[:limit], (detail.producers_total, detail.consumers_total)
    distinct = detail.paths or list(dict.fromkeys(e.path for e in detail.events))
    artifact = detail.artifact

    def builder(at: DetailLevel) -> Callable[[Sequence[Any], bool], ArtifactView]:
        properties, clipped = clip_mapping(artifact.properties, at)
        paths, clipped_paths = clip_paths(distinct, at)

        def use(event: Any) -> ArtifactUse:
            execution = executions.get(event.execution_id)
            return ArtifactUse(
                execution_id=event.execution_id,
                short_id=short_id(event.execution_id),
                direction=event.direction.value,
                path=clip_text(event.path, at, path=True)[0] or "",
                pipeline=clip_text(execution.pipeline, at)[0] if execution else None,
                stage=clip_text(execution.stage, at)[0] if execution else None,
                status=execution.status.value if execution else None,
                started_at=execution.started_at if execution else None,
            )

        def build(items: Sequence[Any], truncated: bool) -> ArtifactView:
            end = offset + len(items)
            more = end < sum(totals)
            uses = [use(e) for e in items]
            return ArtifactView(
                digest=artifact.digest,
                short_digest=short_digest(artifact.digest),
                type=artifact.type.value,
                size=artifact.size,
                nfiles=artifact.nfiles,
                created_at=artifact.created_at,
                properties=properties,
                paths=paths,
                produced_by=[u for u in uses if u.direction == "output"],
                used_by=[u for u in uses if u.direction == "input"],
                producers_total=totals[0],
                consumers_total=totals[1],
                clipped=clipped or clipped_paths,
                has_more=more,
                next_cursor=encode_cursor("uses", end) if more else None,
                truncated=truncated,
            )

        return build

    shorter = builder("concise")
    return fit(page, builder(level), lambda i: shorter(i, True))


def page_execution_ids(detail: ArtifactDetail, *, offset: int, limit: int, most: int) -> list[str]:
    """The first ``most`` distinct executions on the page :func:`artifact_view` will show."""
    ordered = sorted(detail.events, key=lambda e: e.direction.value != "output")
    paged = detail.producers_total is not None
    ids = dict.fromkeys(
        e.execution_id for e in (ordered[:limit] if paged else ordered[offset : offset + limit])
    )
    return list(ids)[:most]


# -- text ----------------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def size(value: int | None) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def plain(value: str | None) -> str:
    """A name or path on one line: newlines, tabs and other control characters escaped,
    so a recorded name cannot end a line of text and pose as the server's output."""
    if value is None:
        return ""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m[0]) or f"\\u{ord(m[0]):04x}", value)


def data(value: Any) -> str:
    """A user-written value as one line of JSON (newlines escaped, so it cannot pose as output)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def summary_lines(e: ExecutionSummary) -> list[str]:
    took = "" if e.duration_s is None else f"  {e.duration_s:.3g} s"
    git = ""
    if e.git_commit:
        git = f"  git {e.git_commit[:10]}" + (" (dirty)" if e.git_dirty else "")
    lines = [
        f"execution {e.short_id}  {plain(e.pipeline)}/{plain(e.stage)}  {e.status}"
        f"{' (stale: its process is gone)' if e.stale else ''}  "
        f"started {when(e.started_at)}{took}{git}"
    ]
    if e.params:
        lines.append(f"  params {DATA}: {data(e.params)}")
    if e.labels:
        lines.append(f"  {labels_text(e.labels)}")
    if e.properties:
        lines.append(f"  properties {DATA}: {data(e.properties)}")
    if e.command:
        lines.append(f"  command {DATA}: {data(e.command)}")
    if e.error:
        lines.append(f"  error {DATA}: {data(e.error)}")
    return lines


def event_line(e: EventItem) -> str:
    return f"  {e.type:<8} {e.short_digest}  {plain(e.path)}  {size(e.size)}".rstrip()


def more_line(has_more: bool, cursor: str | None, truncated: bool) -> list[str]:
    if not has_more:
        return []
    why = " (page cut to fit the output budget)" if truncated else ""
    return [f"more{why}: call again with cursor={cursor!r}"]


def execution_text(view: ExecutionView) -> str:
    lines = summary_lines(view.execution)
    lines.append(f"inputs ({view.inputs_total}):" if view.inputs or not view.outputs else "")
    lines += [event_line(e) for e in view.inputs]
    if view.outputs or view.outputs_total:
        lines.append(f"outputs ({view.outputs_total}):")
        lines += [event_line(e) for e in view.outputs]
    if view.metrics:
        shown = ", ".join(
            f"{plain(k)}={v:.6g}" if v is not None else f"{plain(k)}=nan"
            for k, v in view.metrics.items()
        )
        lines.append(f"metrics {DATA}: {shown}")
    if view.step_metrics:
        series = ", ".join(f"{plain(k)} ({n} steps)" for k, n in view.step_metrics.items())
        lines.append(f"step series: {series}")
    lines += more_line(view.has_more, view.next_cursor, view.truncated)
    lines.append(
        "next: get_artifact with a digest above for who else used it"
        + ("; metric_history for a step series" if view.step_metrics else "")
    )
    return "\n".join(line for line in lines if line)


def use_line(u: ArtifactUse) -> str:
    where = f"{plain(u.pipeline)}/{plain(u.stage)}  " if u.pipeline else ""
    state = f"  {u.status}  {when(u.started_at)}" if u.status else ""
    return f"  {where}execution {u.short_id}{state}  as {plain(u.path)}"


def artifact_text(view: ArtifactView) -> str:
    kind = f"{view.type}, {size(view.size)}".rstrip(", ")
    if view.nfiles is not None:
        kind += f", {view.nfiles} files"
    paths = ", ".join(plain(p) for p in view.paths) or "-"
    lines = [f"artifact {view.short_digest} ({kind}) logged as {paths}"]
    lines.append(f"full digest: {view.digest}")
    if view.properties:
        lines.append(f"properties {DATA}: {data(view.properties)}")
    if view.labels:
        lines.append(labels_text(view.labels))
    lines.append(
        f"produced by ({view.producers_total}):"
        if view.producers_total
        else "produced by: nothing recorded (a source)"
    )
    lines += [use_line(u) for u in view.produced_by]
    lines.append(
        f"used by ({view.consumers_total}):"
        if view.consumers_total
        else "used by: nothing recorded"
    )
    lines += [use_line(u) for u in view.used_by]
    lines += more_line(view.has_more, view.next_cursor, view.truncated)
    lines.append(
        "next: get_execution with an execution id above for its inputs, params and metrics"
    )
    return "\n".join(lines)
