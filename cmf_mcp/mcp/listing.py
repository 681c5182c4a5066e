"""What ``tools/list`` shows, and which tools a caller may see and call.

The server lists every tool as written, then polished once (:func:`polish`):

- descriptions dedented (a docstring's indentation is noise to a model), each
  parameter's limits and default stated in its description's prose, and the
  output budget (``truncated`` / ``clipped``) stated in the tool's;
- no untyped schema: an "any JSON value" (``{}``, as pydantic writes
  ``JsonValue`` or ``Any``) becomes a reference to one typed, recursive
  ``JsonValue`` definition (string, number, boolean, null, array, object).

A caller whose bearer token may only read sees only the read tools
(:func:`visible`), and a recording tool called with it anyway is refused
(:func:`refusal`): the same rule for every recording tool, present or future.
"""

import copy
import inspect
import re
from collections.abc import Iterable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp_types import Tool

from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET, TEXT_BUDGET

JSON_VALUE_REF = {"$ref": "#/$defs/JsonValue"}
JSON_VALUE = {
    "description": "Any JSON value.",
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "additionalProperties": JSON_VALUE_REF},
    ],
}
TYPED = ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")
SUBSCHEMA = ("items", "additionalProperties", "propertyNames", "not", "contains")
SUBSCHEMAS = ("anyOf", "oneOf", "allOf", "prefixItems")
NAMED = ("properties", "$defs", "patternProperties")
BUDGET_NOTE = (
    "Output: at most {limit:,} characters of structured content and {text:,} of text. "
    "Should it not fit, {flags} and the text says how to get the rest ({how})."
)


def polish(tool: Tool) -> Tool:
    """The tool as listed: dedented, limits and defaults in prose, every schema typed."""
    inputs = typed(tool.input_schema)
    for name, schema in inputs.get("properties", {}).items():
        if isinstance(schema, dict):
            facts = limits_in_prose(schema, required=name in inputs.get("required", []))
            if facts:
                schema["description"] = (schema.get("description", "") + " " + facts).strip()
    outputs = typed(tool.output_schema) if tool.output_schema is not None else None
    description = inspect.cleandoc(tool.description or "")
    note = budget_note(outputs, inputs)
    if note:
        description += "\n\n" + note
    return tool.model_copy(
        update={"description": description, "input_schema": inputs, "output_schema": outputs}
    )


def typed(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` where every untyped subschema is the typed ``JsonValue``."""
    result = copy.deepcopy(schema)
    found = _retype(result)
    defs = result.get("$defs", {})
    if found or "JsonValue" in defs:
        result.setdefault("$defs", {})["JsonValue"] = copy.deepcopy(JSON_VALUE)
    return result


def _retype(schema: dict[str, Any]) -> bool:
    """Replace untyped subschemas in place; True when one was replaced."""
    found = False
    slots: list[tuple[dict[str, Any] | list[Any], Any, str]] = []
    for key in SUBSCHEMA:
        if isinstance(schema.get(key), dict):
            slots.append((schema, key, key))
    for key in SUBSCHEMAS:
        slots += [(schema[key], index, key) for index in range(len(schema.get(key, [])))]
    for group in NAMED:
        slots += [(schema[group], name, group) for name in schema.get(group, {})]
    for holder, key, kind in slots:
        value = holder[key]
        if not isinstance(value, dict) or (kind == "$defs" and key == "JsonValue"):
            continue
        if any(k in value for k in TYPED):
            found = _retype(value) or found
        elif kind == "propertyNames":  # names are strings; say so
            value["type"] = "string"
        else:
            holder[key] = {**JSON_VALUE_REF, **_notes(value)}
            found = True
    return found


def _notes(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("title", "description", "default") if k in schema}


def limits_in_prose(schema: dict[str, Any], *, required: bool) -> str:
    """The parameter's limits and default as a sentence, leaving out what it already says."""
    said = (schema.get("description") or "").replace(",", "")
    parts = []
    for branch in _branches(schema):
        parts += _bounds(branch)
    if "default" in schema and schema["default"] is not None:
        parts.append(f"Default: {_shown(schema['default'])}.")
    elif not required:
        parts.append("Optional.")
    kept = [p for p in parts if not _already_said(p, said)]
    return " ".join(kept)


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf")
    if not options:
        return [schema]
    return [o for o in options if isinstance(o, dict) and o.get("type") != "null"]


def _bounds(schema: dict[str, Any]) -> list[str]:
    parts = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        parts.append(f"From {low:,} to {high:,}.")
    elif low is not None:
        parts.append(f"At least {low:,}.")
    elif high is not None:
        parts.append(f"At most {high:,}.")
    for unit, low_key, high_key in (
        ("characters", "minLength", "maxLength"),
        ("items", "minItems", "maxItems"),
        ("entries", "minProperties", "maxProperties"),
    ):
        low, high = schema.get(low_key), schema.get(high_key)
        if high is not None and low and low > 1:
            parts.append(f"{low:,} to {high:,} {unit}.")
        elif high is not None:
            parts.append(f"At most {high:,} {unit}.")
        elif low:
            parts.append(f"At least {low:,} {unit}.")
    return parts


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower()


def _already_said(fact: str, said: str) -> bool:
    """True when every number of ``fact`` already appears in the description (or, for a
    default or "Optional.", when the description already speaks of it)."""
    if fact.startswith("Default:"):
        return "default" in said.lower() and fact[len("Default: ") : -1] in said
    if fact == "Optional.":
        return "optional" in said.lower() or "omit" in said.lower()
    numbers = re.findall(r"\d+", fact.replace(",", ""))
    return bool(numbers) and all(re.search(rf"(?<!\d){n}(?!\d)", said) for n in numbers)


def budget_note(outputs: dict[str, Any] | None, inputs: dict[str, Any]) -> str:
    """How the output is bounded, for a tool whose output says when it was cut."""
    props = (outputs or {}).get("properties", {})
    flags = [f"`{flag}` is true" for flag in ("truncated", "clipped") if flag in props]
    if not flags:
        return ""
    how = ["narrow the request"]
    if "next_cursor" in props:
        how.insert(0, "pass next_cursor back as cursor")
    if "detail" in inputs.get("properties", {}):
        how.append("detail='concise' fits more, detail='full' clips values less")
    return BUDGET_NOTE.format(
        limit=STRUCTURED_BUDGET, text=TEXT_BUDGET, flags=" or ".join(flags), how="; ".join(how)
    )


def may_write() -> bool:
    """False for a caller whose bearer token may only read (True without a token: stdio)."""
    token = get_access_token()
    return token is None or "write" in token.scopes


def is_read_tool(tool: Any) -> bool:
    annotations = getattr(tool, "annotations", None)
    return bool(annotations is not None and annotations.read_only_hint)


def visible(tools: Iterable[Tool]) -> list[Tool]:
    """The tools this caller may call: all of them, or only the read tools for a read token."""
    if may_write():
        return list(tools)
    return [t for t in tools if is_read_tool(t)]


def refusal(tool: Any) -> str | None:
    """Why this caller may not call ``tool`` (a recording tool with a read token), or None."""
    if tool is None or is_read_tool(tool) or may_write():
        return None
    token = get_access_token()
    client = token.client_id if token is not None else "?"
    return (
        f"Token {client!r} may only read; recording runs needs a token with scope "
        "'write' (`cmf token create --name NAME --scope write`)."
    )
