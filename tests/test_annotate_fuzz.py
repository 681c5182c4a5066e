"""Hypothesis-generated `annotate` calls: a result or a readable ToolError, and the labels
every read tool then shows stay within the output budget."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_support import text
from test_mcp_fuzz import Context, check, fuzzed, junk, names, odd_text, references

from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET, TEXT_BUDGET

__all__ = ["fuzzed"]  # the fixture, used by name

keys = st.sampled_from(["quality", "stage", "a.b-c_d", "_x", "9lives", "a b", "k" * 65]) | names
ANNOTATE: dict[str, Any] = {
    "reference": references,
    "key": keys,
    "value": st.none() | odd_text,
    "note": st.none() | odd_text,
}


@st.composite
def annotate_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Plausible shapes mostly; now and then a missing, mistyped or unknown argument."""
    arguments = {key: draw(strategy) for key, strategy in ANNOTATE.items()}
    if draw(st.integers(0, 4)) == 0:
        for key in list(arguments):
            if draw(st.booleans()):
                arguments[key] = draw(junk)
        if draw(st.booleans()):
            arguments[draw(st.text(max_size=10))] = draw(junk)
    return "annotate", arguments


@settings(
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=annotate_calls())
def test_annotate_ends_in_a_result_or_a_readable_tool_error(
    fuzzed: Context, call: tuple[str, dict[str, Any]]
) -> None:
    check(fuzzed, call)


def test_reads_after_many_odd_labels_stay_within_budget(fuzzed: Context) -> None:
    client, known, _ = fuzzed
    for i in range(30):
        for reference in (known["ended"], "data.csv"):
            value = ("🙂" * 400 + "é\u0301") if i % 2 else "x" * 1_000
            client.ok("annotate", {"reference": reference, "key": f"k{i}", "value": value})
    for name, arguments in [
        ("get_artifact", {"reference": "data.csv", "detail": "full"}),
        ("get_execution", {"execution_id": known["ended"], "detail": "full"}),
        ("search_executions", {"where": "labels.k0 is not null", "detail": "full"}),
        ("search_artifacts", {"where": "labels.k1 is not null", "detail": "full"}),
        ("query_lineage", {"node": "data.csv", "direction": "both", "detail": "full"}),
    ]:
        result = client.call(name, arguments)
        assert not result.is_error, text(result)
        assert len(json.dumps(result.structured_content)) <= STRUCTURED_BUDGET, name
        assert len(text(result)) <= TEXT_BUDGET + 200, name
        assert "labels [user data]" in text(result), name
