"""What ``tools/list`` shows, and which tools a caller may see and call.

The server lists every tool as written, then polished once (:func:`polish`):

- descriptions dedented and each paragraph on one line (a docstring's indentation
  and line breaks are noise to a model), each
  parameter's limits and default stated in its description's prose, and the
  output budget (``truncated`` / ``clipped``) stated in the tool's;
- no untyped schema: an "any JSON value" (``{}``, as pydantic writes
  ``JsonValue`` or ``Any``) becomes a reference to one typed, recursive
  ``JsonValue`` definition (string, number, boolean, null, array, object);
- short (the whole listing stays under :data:`LISTING_BUDGET` characters, a
  model reads all of it before every conversation): no title pydantic made
  from a field's name, an optional parameter shown as its one type (leaving
  it out is how a model says "none"), the length caps of names, ids and
  cursors left to the schema's ``maxLength``, a read tool's hints that the
  protocol ignores left out (:func:`hints`), and the output schema listed as
  just "an object" (:data:`OUTLINE`): the full one was two thirds of the
  listing, and clients do not show it to a model. The server still checks
  every result against the tool's full output model, and each result's text
  says what it holds, what was cut and what to call next.

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
from mcp_types import Tool, ToolAnnotations

from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET

JSON_VALUE_REF = {"$ref": "#/$defs/JsonValue"}
JSON_VALUE = {
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
BUDGET_NOTE = "Output: at most {limit:,} characters; {flags} true: cut, the text says what to do."
# Length caps of free text (filters, commands, notes, paths) are stated in prose; the
# shorter caps of names, ids, cursors and sort keys only in the schema's maxLength.
LONG_TEXT = 1_000
LISTING_BUDGET = 24_000  # characters of the tools/list result's JSON, every tool included
NULL = {"type": "null"}
OUTLINE = {"type": "object"}  # the output schema as listed: structured content, an object


def polish(tool: Tool) -> Tool:
    """The tool as listed: dedented, limits and defaults in prose, every schema typed, short."""
    inputs = typed(tool.input_schema)
    for schema in inputs.get("properties", {}).values():
        if isinstance(schema, dict):
            facts = limits_in_prose(schema)
            if facts:
                schema["description"] = (schema.get("description", "") + " " + facts).strip()
    outputs = typed(tool.output_schema) if tool.output_schema is not None else None
    description = reflowed(tool.description or "")
    note = budget_note(outputs)
    if note:
        description += "\n\n" + note
    return tool.model_copy(
        update={
            "description": description,
            "input_schema": lean(inputs),
            "output_schema": dict(OUTLINE) if outputs is not None else None,
            "annotations": hints(tool.annotations),
        }
    )


def hints(annotations: ToolAnnotations | None) -> ToolAnnotations | None:
    """The annotations as listed: a read tool's destructive and idempotent hints left out,
    since the protocol gives them meaning only when ``readOnlyHint`` is false."""
    if annotations is None or not annotations.read_only_hint:
        return annotations
    return annotations.model_copy(update={"destructive_hint": None, "idempotent_hint": None})


def reflowed(docstring: str) -> str:
    """The docstring dedented, each paragraph joined into one line."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)


def lean(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without generated titles, each optional parameter shown as its one type.

    An optional parameter whose default is None (``X | None = None``) is listed as ``X``
    with no default: leaving it out means none, and its description says "Optional.".
    """
    result = untitled(schema)
    required = set(result.get("required", []))
    for param in result.get("properties", {}).values():
        items = param.get("items")
        if isinstance(items, dict) and "description" in param:
            items.pop("description", None)  # the list's own description says what goes in it
    for name, model in result.get("$defs", {}).items():
        if name != "JsonValue":
            model.pop("description", None)  # a docstring; the parameter's description says it
    for name, param in result.get("properties", {}).items():
        if name in required or "default" not in param or param["default"] is not None:
            continue
        del param["default"]
        options = param.get("anyOf", [])
        if len(options) == 2 and NULL in options:
            del param["anyOf"]
            param.update(next(o for o in options if o != NULL))
    return result


def untitled(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` without the titles pydantic writes for every model and field."""
    result = {k: v for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    for key in SUBSCHEMA:
        if isinstance(result.get(key), dict):
            result[key] = untitled(result[key])
    for key in SUBSCHEMAS:
        if isinstance(result.get(key), list):
            result[key] = [untitled(s) if isinstance(s, dict) else s for s in result[key]]
    for group in NAMED:
        if isinstance(result.get(group), dict):
            result[group] = {
                name: untitled(s) if isinstance(s, dict) else s for name, s in result[group].items()
            }
    return result


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


def limits_in_prose(schema: dict[str, Any]) -> str:
    """The parameter's limits and default as a sentence, leaving out what it already says.

    Whether it may be left out, the schema's ``required`` says.
    """
    said = (schema.get("description") or "").replace(",", "")
    parts = []
    for branch in _branches(schema):
        parts += _bounds(branch)
    if "default" in schema and schema["default"] is not None:
        parts.append(f"Default: {_shown(schema['default'])}.")
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
        if unit == "characters" and (high is None or high < LONG_TEXT):
            continue  # a name, id, cursor or sort key: no real one comes near its cap
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
    default, when the description already speaks of it)."""
    if fact.startswith("Default:"):
        value = fact[len("Default: ") : -1]
        return "default" in said.lower() and (value in said or value.strip("'") in said)
    numbers = re.findall(r"\d+", fact.replace(",", ""))
    return bool(numbers) and all(re.search(rf"(?<!\d){n}(?!\d)", said) for n in numbers)


def budget_note(outputs: dict[str, Any] | None) -> str:
    """How the output is bounded, for a tool whose output says when it was cut."""
    props = (outputs or {}).get("properties", {})
    flags = [f"`{flag}`" for flag in ("truncated", "clipped") if flag in props]
    if not flags:
        return ""
    said = " or ".join(flags) + " is"
    return BUDGET_NOTE.format(limit=STRUCTURED_BUDGET, flags=said)


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
