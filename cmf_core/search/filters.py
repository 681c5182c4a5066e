"""The filter language of searches: text in, a frozen syntax tree out (no SQL here).

::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" filter ")" | condition
    condition  := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | field ["not"] ("like" | "glob") string
                | field ["not"] "in" "(" value ("," value)* ")"
                | field "is" ["not"] "null"
    field      := name | group "." key | group "." string      params."learning rate"
    value      := number | string | true | false | null

Example: ``metrics.accuracy >= 0.9 and (params.lr < 0.01 or stage = "train")``.

- Keywords are case-insensitive; field names are not. Strings take double or
  single quotes; ``\\"``, ``\\'``, ``\\\\``, ``\\n`` and ``\\t`` are escapes, any
  other backslash is kept as written (so ``like "50\\%"`` works).
- ``like`` is SQL LIKE: ``%`` any run of characters, ``_`` one character,
  ``\\`` makes the next one literal. ``glob`` is the shell's: ``*`` any run
  (``/`` included), ``?`` one character. Both are case-sensitive on every store.
- ``x = null`` means ``x is null``. A comparison with a value that is missing
  (or of another type) is false, ``!=`` included; ``not`` is the exact
  complement, so ``not site = "edge"`` also matches executions without a site.
- Times (``started_at``, ``ended_at``, ``created_at``) compare with ISO strings:
  ``"2024-05-01"`` (a whole UTC day: ``= "2024-05-01"`` is that day,
  ``<= "2024-05-01"`` includes it) or ``"2024-05-01T12:00:00+02:00"`` (UTC if
  no offset is given).
- ``id``, ``git_commit`` and ``digest`` match by prefix with ``=``, ``!=`` and
  ``in`` (``digest = "3f2a"`` finds ``md5:3f2a…``).
- ``params.<name>`` and ``properties.<name>`` are top-level JSON keys (a dot
  in the name is part of the key); their values are compared by the literal's
  type: numbers with JSON numbers, strings with JSON strings, true/false with
  booleans. A param recorded as the string "0.01" is text: ``params.lr = "0.01"``.
- ``metrics.<name>`` is the execution-level value (not a step series).
- ``labels.<key>`` is a record's current label (the newest annotation of that
  key, :mod:`cmf_core.annotate`), text: ``labels.quality = "bad"``;
  ``labels.stage is null`` holds where there is none (or it was cleared).
- For artifacts, ``path`` is any path the artifact was logged under, and
  ``stage`` / ``pipeline`` those of any execution that produced it.

This module is the language's public face: :func:`parse_filter` and
:func:`parse_sort`, and (re-exported from :mod:`cmf_core.search.tree`) the
fields, the syntax tree and the helpers the store uses. The tokenizer and
recursive-descent parser behind :func:`parse_filter` live in
:mod:`cmf_core.search.parser`.
"""

from cmf_core.errors import InvalidInputError
from cmf_core.search.parser import parse
from cmf_core.search.tree import (
    CHOICES,
    FIELDS,
    GROUPS,
    LOGGED_IN_PIPELINE,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_IN_VALUES,
    SORTABLE,
    And,
    Compare,
    Field,
    FilterSyntaxError,
    In,
    IsNull,
    Kind,
    Match,
    Node,
    Not,
    Operator,
    Or,
    Sort,
    Target,
    Value,
    all_of,
    field_names,
    glob_to_like,
    normalise_prefix,
    parse_moment,
)


def parse_filter(text: str, target: Target) -> Node:
    """Parse a filter on ``target``; raises :class:`FilterSyntaxError` pointing at the problem."""
    return parse(text, target)


def parse_sort(text: str, target: Target) -> Sort:
    """``"-metrics.accuracy"`` → a descending sort on that field; InvalidInputError if unknown."""
    raw = text.strip()
    descending = raw.startswith("-")
    name, dot, key = raw.lstrip("+-").partition(".")
    groups = {g.partition(".")[0] for g in SORTABLE[target] if "." in g}
    if (not dot and name in SORTABLE[target]) or (dot and key and name in groups):
        return Sort(Field(name, key or None), descending)
    raise InvalidInputError(
        f"Cannot sort {target} by {text!r}; sort by one of {', '.join(SORTABLE[target])}, "
        "with a leading - for descending (e.g. -started_at)."
    )


__all__ = [
    "CHOICES",
    "FIELDS",
    "GROUPS",
    "LOGGED_IN_PIPELINE",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_IN_VALUES",
    "SORTABLE",
    "And",
    "Compare",
    "Field",
    "FilterSyntaxError",
    "In",
    "IsNull",
    "Kind",
    "Match",
    "Node",
    "Not",
    "Operator",
    "Or",
    "Sort",
    "Target",
    "Value",
    "all_of",
    "field_names",
    "glob_to_like",
    "normalise_prefix",
    "parse_filter",
    "parse_moment",
    "parse_sort",
]
