"""Hypothesis-generated `model_card` calls: a result within the output budget or a readable
ToolError, never a crash, whatever the reference."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mcp_fuzz import Context, check, fuzzed, junk, references

__all__ = ["fuzzed"]  # the fixture, used by name

MODEL_CARD: dict[str, Any] = {
    "model": references | st.sampled_from(["data.csv", "md5:", "ENDED", "DIGEST"]),
    "detail": st.sampled_from(["concise", "full"]),
}


@st.composite
def model_card_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Plausible shapes mostly; now and then a missing, mistyped or unknown argument."""
    arguments = {key: draw(strategy) for key, strategy in MODEL_CARD.items()}
    if draw(st.integers(0, 4)) == 0:
        for key in list(arguments):
            if draw(st.booleans()):
                arguments[key] = draw(junk)
        if draw(st.booleans()):
            arguments[draw(st.text(max_size=10))] = draw(junk)
    return "model_card", arguments


@settings(
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=model_card_calls())
def test_model_card_ends_in_a_result_or_a_readable_tool_error(
    fuzzed: Context, call: tuple[str, dict[str, Any]]
) -> None:
    check(fuzzed, call)
