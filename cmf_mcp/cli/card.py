"""`cmf card MODEL`: the model card (:func:`cmf_core.graph.card.model_card`) as text or JSON."""

from typing import TYPE_CHECKING

import click

from cmf_mcp.cli.support import open_store, print_json, settings

if TYPE_CHECKING:
    from cmf_core.graph.card import ModelCard


def register(cli: click.Group) -> None:
    cli.add_command(card_command)


@click.command(name="card")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@click.pass_context
def card_command(ctx: click.Context, model: str, as_json: bool) -> None:
    """The card of MODEL (a digest, a prefix or a recorded path): the run that made it
    with its params, metrics, code and environment, the data it was trained on down to
    raw sources, its labels, and the runs that used it.

    \b
    cmf card models/model.pkl
    cmf card md5:3f2a --json
    """
    from cmf_core.graph.card import model_card

    with open_store(ctx) as store:
        found = model_card(store, model, project_root=settings(ctx).project_root)
    if as_json:
        print_json(found)
    else:
        click.echo(card_text(found))


def card_text(card: "ModelCard") -> str:
    lines = [f"{card.type.value} {card.digest}" + (f"  ({card.size:,} bytes)" if card.size else "")]
    if card.note:
        lines.append(f"  note: {card.note}")
    more = (
        f" (and {card.paths_total - len(card.paths)} more)"
        if card.paths_total > len(card.paths)
        else ""
    )
    lines.append("  paths: " + ", ".join(card.paths) + more)
    lines += [
        f"  label {a.key} = {a.value}  ({a.author}, {a.recorded_at:%Y-%m-%d})" for a in card.labels
    ]
    p = card.producer
    if p is None:
        lines.append("made by: nothing recorded (a raw source)")
    else:
        e = p.execution
        lines.append(
            f"made by: {e.pipeline}/{e.stage} {e.id} "
            f"({e.status.value}, {e.started_at:%Y-%m-%d %H:%M})"
        )
        if card.producers_total > 1:
            lines.append(
                f"  the same bytes were written by {card.producers_total - 1} later run(s)"
            )
        if e.params:
            lines.append("  params: " + ", ".join(f"{k}={v!r}" for k, v in e.params.items()))
        if p.metrics:
            shown = ", ".join(f"{k}={_number(v)}" for k, v in p.metrics.items())
            lines.append(f"  metrics: {shown}")
        code = e.git_commit_start or "no commit recorded"
        dirty = " (uncommitted changes)" if e.git_is_dirty else ""
        branch = f" on {e.git_branch}" if e.git_branch else ""
        lines.append(f"  code: {code}{dirty}{branch}")
        if p.environment:
            env = p.environment
            lines.append(
                f"  environment: python {env.python or '?'} on {env.platform or '?'}, "
                f"{env.packages} packages ({env.digest})"
            )
        lines += [f"  run label {a.key} = {a.value}" for a in p.labels]
        lines.append(f"trained on ({p.inputs_total}):")
        lines += [f"  {i.digest}  {', '.join(i.paths)}" for i in p.inputs]
    partial = "" if card.sources_complete else ", the walk stopped before reaching them all"
    lines.append(f"raw sources ({card.sources_total}{partial}):")
    lines += [f"  {s.digest}  {', '.join(s.paths)}" for s in card.sources]
    total = f"{card.consumers_total:,}" + ("+" if card.consumers_total_is_lower_bound else "")
    lines.append(f"used by ({total} runs):")
    lines += [
        f"  {r.id}  {r.pipeline}/{r.stage} {r.status.value} {r.started_at:%Y-%m-%d %H:%M}"
        for r in card.consumers
    ]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "nan" if value is None else f"{value:.6g}"
