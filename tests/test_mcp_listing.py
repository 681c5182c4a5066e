"""What tools/list shows a model: titles, dedented prose stating limits, typed schemas, all
within the listing's budget."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp_support import MODES, connect, make_server
from mcp_types import ListToolsResult, Tool

from cmf_mcp.mcp.listing import LISTING_BUDGET, LONG_TEXT, typed
from cmf_mcp.mcp.server import CmfServer

TYPED = ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")
SUBSCHEMA = ("items", "additionalProperties", "propertyNames", "not", "contains")
LIMIT_KEYS = ("minimum", "maximum", "maxLength", "maxItems", "maxProperties")


@pytest.fixture
def listing(bare_project: Path, sqlite_url: str) -> Iterator[tuple[ListToolsResult, list[Tool]]]:
    """tools/list as a client gets it, and the tools as registered (full output schemas)."""
    server: CmfServer = make_server(sqlite_url)
    with connect(server) as client:
        listed = client.run("list_tools")
        registered = client.portal.call(MCPServer.list_tools, server)
    yield listed, registered
    server.close()


@pytest.fixture
def tools(listing: tuple[ListToolsResult, list[Tool]]) -> list[Tool]:
    return listing[0].tools


def schemas(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema of ``schema`` with where it sits."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in SUBSCHEMA:
        yield from schemas(schema.get(key), f"{where}/{key}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for index, item in enumerate(schema.get(key, [])):
            yield from schemas(item, f"{where}/{key}/{index}")
    for key in ("properties", "$defs", "patternProperties"):
        for name, item in schema.get(key, {}).items():
            yield from schemas(item, f"{where}/{key}/{name}")


def test_every_tool_has_a_title_and_dedented_descriptions(tools: list[Tool]) -> None:
    assert len(tools) >= 13
    for tool in tools:
        assert tool.title, f"{tool.name} has no title"
        texts = [tool.description or ""] + [
            s.get("description", "")
            for _, s in schemas(tool.input_schema, "in")
            if isinstance(s.get("description"), str)
        ]
        for text in texts:
            indented = [line for line in text.splitlines() if line.startswith("    ")]
            assert not indented, f"{tool.name}: indented description line {indented[0]!r}"


def test_no_schema_is_untyped_and_objects_bound_their_properties(tools: list[Tool]) -> None:
    for tool in tools:
        for which, schema in (("input", tool.input_schema), ("output", tool.output_schema)):
            for where, sub in schemas(schema or {}, which):
                if where.endswith("/properties") or where == which:
                    continue
                assert sub, f"{tool.name}: empty schema at {where}"
                assert any(k in sub for k in TYPED), f"{tool.name}: untyped schema at {where}"
                if sub.get("type") == "object":
                    assert "maxLength" not in sub and "minLength" not in sub, (
                        f"{tool.name}: an object bounded by length at {where}; use maxProperties"
                    )


def test_the_json_value_parameters_have_a_typed_recursive_schema(
    listing: tuple[ListToolsResult, list[Tool]],
) -> None:
    listed, registered = listing
    by_name = {t.name: t for t in listed.tools}
    for name, param in (
        ("start_execution", "params"),
        ("log_artifact", "properties"),
    ):
        schema = by_name[name].input_schema
        mapping = schema["properties"][param]
        assert mapping["type"] == "object"
        assert mapping["additionalProperties"] == {"$ref": "#/$defs/JsonValue"}
        kinds = {b.get("type") for b in schema["$defs"]["JsonValue"]["anyOf"]}
        assert kinds == {"string", "number", "boolean", "null", "array", "object"}
    compare = typed(next(t for t in registered if t.name == "compare_runs").output_schema or {})
    values = compare["$defs"]["ParamDiff"]["properties"]["values"]["items"]
    assert values == {"$ref": "#/$defs/JsonValue"}
    assert by_name["log_metrics"].input_schema["properties"]["metrics"]["maxProperties"] == 1_000


def test_every_limit_and_default_is_stated_in_prose(tools: list[Tool]) -> None:
    for tool in tools:
        for name, param in tool.input_schema.get("properties", {}).items():
            said = param.get("description", "").replace(",", "")
            assert said, f"{tool.name}.{name} has no description"
            branches = [b for b in param.get("anyOf", [param]) if isinstance(b, dict)]
            for branch in branches:
                for key in LIMIT_KEYS:
                    if key == "maxLength" and branch.get(key, 0) < LONG_TEXT:
                        continue  # a name's, id's or cursor's cap: in the schema only
                    if key in branch:
                        number = str(branch[key])
                        assert re.search(rf"(?<!\d){number}(?!\d)", said), (
                            f"{tool.name}.{name}: {key}={number} not in {said!r}"
                        )
            default = param.get("default")
            if default is not None:
                assert str(default).lower() in said.lower(), f"{tool.name}.{name}: default"


def test_tools_that_cut_their_output_say_so_with_the_budget(
    listing: tuple[ListToolsResult, list[Tool]],
) -> None:
    listed, registered = listing
    described = {t.name: t.description or "" for t in listed.tools}
    cutting = [
        t
        for t in registered
        if {"truncated", "clipped"} & set((t.output_schema or {}).get("properties", {}))
    ]
    assert {"search_executions", "get_artifact", "compare_runs"} <= {t.name for t in cutting}
    for tool in cutting:
        assert "20,000 characters" in described[tool.name], tool.name
        props = (tool.output_schema or {})["properties"]
        flags = [f for f in ("truncated", "clipped") if f in props]
        assert all(f"`{f}`" in described[tool.name] for f in flags), tool.name


def test_the_whole_listing_fits_its_budget_with_no_generated_title_or_null_option(
    listing: tuple[ListToolsResult, list[Tool]],
) -> None:
    listed, registered = listing
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)  # as the server sends it
    assert len(wire) <= LISTING_BUDGET, f"tools/list is {len(wire):,} characters"
    for tool in listed.tools:
        for where, sub in schemas(tool.input_schema, "in"):
            assert not isinstance(sub.get("title"), str), f"{tool.name}: a title at {where}"
        for name, param in tool.input_schema["properties"].items():
            assert {"type": "null"} not in param.get("anyOf", []), f"{tool.name}.{name}"
        # Listed as an object; the full output model stays on the server, checking results.
        assert tool.output_schema == {"type": "object"}, tool.name
    full = {t.name: t.output_schema for t in registered}
    assert all(schema and schema["properties"] for schema in full.values())


def test_typed_replaces_any_value_and_leaves_typed_schemas_alone() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "a": {"title": "A"},
            "b": {"type": "array", "items": {}},
            "c": {"type": "object", "propertyNames": {"maxLength": 9}},
            "d": {"type": "string"},
        },
    }
    done = typed(schema)
    assert done["properties"]["a"] == {"$ref": "#/$defs/JsonValue", "title": "A"}
    assert done["properties"]["b"]["items"] == {"$ref": "#/$defs/JsonValue"}
    assert done["properties"]["c"]["propertyNames"] == {"maxLength": 9, "type": "string"}
    assert done["properties"]["d"] == {"type": "string"}
    assert "anyOf" in done["$defs"]["JsonValue"]
    assert schema["properties"]["a"] == {"title": "A"}, "the original is left unchanged"
    assert typed({"type": "string"}) == {"type": "string"}


@pytest.mark.parametrize("mode", MODES)
def test_both_protocol_eras_list_the_polished_tools(
    bare_project: Path, sqlite_url: str, mode: str
) -> None:
    server = make_server(sqlite_url)
    with connect(server, mode) as client:
        listed = {t.name: t for t in client.run("list_tools").tools}
    server.close()
    assert listed["search_executions"].title == "Search runs"
    assert not (listed["search_executions"].description or "").count("\n    ")
