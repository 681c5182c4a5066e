"""The ``model_card`` read tool (and the output the ``cmf://models/{reference}`` resource
shares with it, :func:`card_out`).

Both are one call of :func:`cmf_core.graph.card.model_card`, bounded like every other
output (:mod:`cmf_mcp.mcp.output.schemas`): user-written values clipped to the detail's
limits, lists shortened until the JSON fits the budget, ``clipped`` saying so; the card's
own totals (``paths_total``, ``sources_total``, ``consumers_total``) stay exact.
"""

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from cmf_core.graph.card import ModelCard
from cmf_core.graph.card_text import CardQuoting, card_lines
from cmf_mcp.mcp.output.budget import DATA, data, plain, result, when
from cmf_mcp.mcp.output.compare import clip_strings
from cmf_mcp.mcp.output.schemas import (
    LIMITS,
    STRUCTURED_BUDGET,
    ArtifactRef,
    Detail,
    DetailLevel,
    Output,
    clip_mapping,
    clip_paths,
    clip_text,
    size_of,
)
from cmf_mcp.mcp.state import READ, ServerState, tool_errors


class CardOut(Output):
    card: ModelCard
    clipped: bool = Field(description="True when lists or values were shortened to fit.")


def register_card_tools(server: MCPServer[Any], state: ServerState) -> None:
    @server.tool(title="Model card", annotations=READ)
    def model_card(
        model: ArtifactRef, detail: Detail = "concise"
    ) -> Annotated[CallToolResult, CardOut]:
        """Everything about one model in one call: digest and paths; the run that made it (id,
        pipeline, stage, status, params, final metrics, Git commit, environment); its training
        data (that run's inputs and the raw sources upstream); labels; the runs that used it,
        with totals.

        Answers "what is this model, which data and code made it, and how good is it?".
        Another artifact (a dataset) gets the same card with is_model false. Lists are
        capped (20 paths, 20 inputs, 20 sources, 10 runs that used it). Next: compare_runs
        on the producer and another run; query_lineage for the whole graph.
        """
        from cmf_core.graph.card import model_card as card_of

        with tool_errors(state, "Call search_artifacts with type='model' to find models."):
            found = card_of(state.store, model, project_root=state.project_root)
        out = card_out(found, detail)
        return result(out, card_text(out))


def card_out(card: ModelCard, level: DetailLevel) -> CardOut:
    """The card with user-written values clipped and its lists cut until the JSON fits."""
    limits = LIMITS[level]

    def build(most: int) -> CardOut:
        producer = card.producer
        if producer is not None:
            e = producer.execution
            execution = e.model_copy(
                update={
                    "params": clip_mapping(e.params, level)[0],
                    "properties": clip_mapping(e.properties, level)[0],
                    "command": clip_text(e.command, level)[0] if e.command else None,
                    "error": clip_text(e.error, level)[0] if e.error else None,
                }
            )
            producer = producer.model_copy(
                update={
                    "execution": execution,
                    "metrics": clip_mapping(producer.metrics, level)[0],
                    "inputs": [_paths(i, level) for i in producer.inputs[:most]],
                    "labels": producer.labels[:most],
                }
            )
        copy = card.model_copy(
            update={
                "paths": clip_paths(card.paths, level)[0],
                "labels": card.labels[:most],
                "producer": producer,
                "other_producers": card.other_producers[:most],
                "sources": [_paths(s, level) for s in card.sources[:most]],
                "consumers": card.consumers[:most],
            }
        )
        shortened = clip_strings(copy, limits.text)
        return CardOut(card=shortened, clipped=shortened != card)

    most = 20
    out = build(most)
    while size_of(out) > STRUCTURED_BUDGET and most > 1:
        most //= 2
        out = build(most)
    return out


def _paths(item: Any, level: DetailLevel) -> Any:
    return item.model_copy(update={"paths": clip_paths(item.paths, level)[0]})


# User-written names escaped to one line, values as JSON marked as user data.
QUOTING = CardQuoting(name=plain, value=data, when=when, marker=DATA)


def card_text(out: CardOut) -> str:
    return "\n".join(card_lines(out.card, QUOTING, clipped=out.clipped))
