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
    from cmf_core.graph.card_text import card_lines

    return "\n".join(card_lines(card))
