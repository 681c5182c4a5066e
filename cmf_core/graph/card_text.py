"""A model card (:class:`cmf_core.graph.card.ModelCard`) as lines of text, for every surface.

The CLI and the MCP server print the same lines; they differ only in how user-written
text is shown, which each passes in as a :class:`CardQuoting`: the CLI as it is, the MCP
server with control characters escaped and values marked as user data (so a recorded
name cannot pose as the server's own words).
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from cmf_core.graph.card import ModelCard


def _as_is(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_number(v)}" for k, v in value.items())
    return str(value)


def _number(value: Any) -> str:
    if value is None:
        return "nan"  # a NaN metric is kept as null in JSON
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _minute(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


class CardQuoting(NamedTuple):
    """How a surface shows what users wrote."""

    name: Callable[[str], str] = str
    """A name or path (pipeline, stage, label key, artifact path)."""
    value: Callable[[Any], str] = _as_is
    """A value: params, metrics, a label's value."""
    when: Callable[[datetime | None], str] = _minute
    marker: str = ""
    """Put before every user-written value ("" for none)."""


AS_IS = CardQuoting()  # the CLI's: what users wrote, as they wrote it


def card_lines(card: "ModelCard", q: CardQuoting = AS_IS, *, clipped: bool = False) -> list[str]:
    """The card's lines; ``clipped`` adds a line saying lists or values were shortened."""
    mark = f" {q.marker}" if q.marker else ""
    head = f"{card.type.value} {card.digest}" + (f"  ({card.size:,} bytes)" if card.size else "")
    lines = [head]
    if card.note:
        lines.append(f"  note: {card.note}")
    more = card.paths_total - len(card.paths)
    lines.append(
        f"  paths ({card.paths_total}): "
        + ", ".join(q.name(p) for p in card.paths)
        + (f" (and {more} more)" if more > 0 else "")
    )
    lines += [
        f"  label {q.name(a.key)}{mark}: {q.value(a.value)}  ({q.name(a.author or '?')}, "
        f"{q.when(a.recorded_at)})"
        for a in card.labels
    ]
    p = card.producer
    if p is None:
        lines.append("made by: no recorded execution (a raw source)")
    else:
        e = p.execution
        lines.append(
            f"made by execution {e.id}: {q.name(e.pipeline)}/{q.name(e.stage)} "
            f"{e.status.value}, started {q.when(e.started_at)}"
        )
        if card.producers_total > 1:
            lines.append(f"  also written by {card.producers_total - 1} later run(s)")
        if e.params:
            lines.append(f"  params{mark}: {q.value(e.params)}")
        if p.metrics:
            lines.append(f"  final metrics{mark}: {q.value(p.metrics)}")
        dirty = " (uncommitted changes)" if e.git_is_dirty else ""
        branch = f" on {q.name(e.git_branch)}" if e.git_branch else ""
        lines.append(f"  code: {e.git_commit_start or 'no commit recorded'}{dirty}{branch}")
        if p.environment is not None:
            env = p.environment
            lines.append(
                f"  environment: python {env.python or '?'} on {env.platform or '?'}, "
                f"{env.packages} packages ({env.digest})"
            )
        lines += [f"  run label {q.name(a.key)}{mark}: {q.value(a.value)}" for a in p.labels]
        lines.append(f"trained on ({p.inputs_total} inputs):")
        lines += [f"  {i.digest}  {', '.join(q.name(x) for x in i.paths)}" for i in p.inputs]
    partial = "" if card.sources_complete else "; the walk stopped before reaching them all"
    lines.append(f"raw sources ({card.sources_total}{partial}):")
    lines += [f"  {s.digest}  {', '.join(q.name(x) for x in s.paths)}" for s in card.sources]
    total = f"{card.consumers_total:,}" + ("+" if card.consumers_total_is_lower_bound else "")
    lines.append(f"used by {total} run(s):")
    lines += [
        f"  {r.id} {q.name(r.pipeline)}/{q.name(r.stage)} {r.status.value} {q.when(r.started_at)}"
        for r in card.consumers
    ]
    if clipped:
        lines.append("(values or lists shortened; detail='full' shows more)")
    return lines
