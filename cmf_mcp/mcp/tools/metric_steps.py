"""What log_metrics accepts: one mapping of metrics (with an optional step), or a batch of steps.

A batch is bounded — at most :data:`MAX_STEPS` steps, :data:`MAX_NAMES` names a step
and :data:`MAX_VALUES` values in all — so it is checked whole and written in one go
(below the run's buffer size, one store write).
"""

from collections.abc import Sequence
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from cmf_mcp.mcp.output.schemas import Name

MAX_METRICS = 1_000  # names in one call of the one-step form
MAX_STEPS = 1_000
MAX_NAMES = 100  # names in one step of a batch
MAX_VALUES = 10_000  # values in one batch, steps times names
MAX_STEP = 2**62


def distinct_keys(value: Any) -> Any:
    """Refuse names that become equal once surrounding spaces are stripped (' x' and 'x')."""
    if isinstance(value, dict):
        seen: dict[str, str] = {}
        for key in value:
            if isinstance(key, str):
                other = seen.setdefault(key.strip(), key)
                if other != key:
                    raise ValueError(
                        f"the names {other!r} and {key!r} are the same metric once spaces are "
                        "stripped; send one of them"
                    )
    return value


Metrics = Annotated[
    dict[Name, float],
    Field(min_length=1, max_length=MAX_METRICS),
    BeforeValidator(distinct_keys),  # after Field, so the schema says maxProperties
]
METRICS = (
    f"name -> number, e.g. {{'accuracy': 0.93}}: final results, or with `step` one step of "
    f"each series; 1 to {MAX_METRICS:,} names. Give either metrics or steps."
)
Step = Annotated[int, Field(ge=0, le=MAX_STEP)]


class StepValues(BaseModel):
    """One step of a batch: its number and the value of each series at it."""

    model_config = ConfigDict(extra="forbid")

    step: Annotated[Step, Field(description="The step (epoch, iteration), 0 or more.")]
    values: Annotated[
        dict[Name, float],
        Field(
            min_length=1,
            max_length=MAX_NAMES,
            description=f"name -> number at this step, e.g. {{'loss': 0.41}}; 1 to {MAX_NAMES}.",
        ),
        BeforeValidator(distinct_keys),
    ]


Steps = Annotated[list[StepValues], Field(min_length=1, max_length=MAX_STEPS)]
STEPS = (
    f"A batch of steps of series, e.g. [{{'step': 0, 'values': {{'loss': 0.9}}}}, "
    f"{{'step': 1, 'values': {{'loss': 0.7}}}}]: up to {MAX_STEPS:,} steps, {MAX_NAMES} "
    f"names a step, {MAX_VALUES:,} values in all, each step once. Give either metrics "
    "or steps."
)


def check_form(
    metrics: dict[str, float] | None, step: int | None, steps: Sequence[StepValues] | None
) -> None:
    """Exactly one form: ``metrics`` (and maybe ``step``), or ``steps``; a batch within bounds."""
    if metrics is None and steps is None:
        raise ToolError(
            "log_metrics needs metrics ({'accuracy': 0.93}, optionally with step) or steps "
            "([{'step': 0, 'values': {'loss': 0.9}}, …]); it got neither."
        )
    if metrics is not None and steps is not None:
        raise ToolError(
            "log_metrics takes metrics (one step or final results) or steps (a batch), not "
            "both: send them in two calls."
        )
    if steps is None:
        return
    if step is not None:
        raise ToolError(
            "step goes with metrics; in a batch each item of steps has its own step. Leave "
            "step out."
        )
    seen: set[int] = set()
    for item in steps:
        if item.step in seen:
            raise ToolError(
                f"step {item.step} appears twice in steps; merge its values into one item."
            )
        seen.add(item.step)
    total = sum(len(item.values) for item in steps)
    if total > MAX_VALUES:
        raise ToolError(
            f"steps holds {total:,} values; at most {MAX_VALUES:,} go in one call. Split the "
            "batch into several calls."
        )
