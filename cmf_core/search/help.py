"""The filter language explained in one paragraph, written from its own tables.

Every surface that takes a filter (``cmf ls --where``, the MCP tools'
``where``) shows this text, so the fields, operators and sort keys listed
there are always the ones :mod:`cmf_core.search.filters` accepts. Imports no
pydantic and no SQLAlchemy: the CLI builds its ``--help`` from it at start-up.
"""

from cmf_core.search.filters import FIELDS, GROUPS, MAX_FILTER_LENGTH, SORTABLE, Kind, Target

EXAMPLES: dict[Target, str] = {
    "executions": 'metrics.accuracy >= 0.9 and (params.lr < 0.01 or stage = "train")',
    "artifacts": 'type = "model" and path glob "models/*"',
}
DEFAULT_SORTS: dict[Target, str] = {"executions": "-started_at", "artifacts": "-created_at"}
OPERATORS = "= != < <= > >= like glob in, is [not] null, and or not, ( )"


def field_list(target: Target) -> str:
    """The fields of ``target`` as one line: plain names, then ``group.NAME``."""
    groups = [f"{group}.NAME" for group in GROUPS[target]]
    return " ".join([*FIELDS[target], *groups])


def filter_help(target: Target | None = None) -> str:
    """What a filter of ``target`` (both when None) may say, with an example."""
    targets: tuple[Target, ...] = (target,) if target else ("executions", "artifacts")
    fields = "; ".join(
        f"{name} — {field_list(name)}" if target is None else field_list(name) for name in targets
    )
    prefixes = sorted(
        {field for name in targets for field, kind in FIELDS[name].items() if kind is Kind.PREFIX}
    )
    return (
        f"Filter (at most {MAX_FILTER_LENGTH:,} characters), e.g. '{EXAMPLES[targets[0]]}'. "
        f"Fields: {fields}. Operators: {OPERATORS}. Times are ISO dates or date-times "
        f"('2024-05-01'); {', '.join(prefixes)} {'match' if len(prefixes) > 1 else 'matches'} "
        "by prefix."
    )


def sort_help(target: Target | None = None) -> str:
    """The keys ``target`` (both when None) may be sorted by; ``-`` for descending."""
    targets: tuple[Target, ...] = (target,) if target else ("executions", "artifacts")
    keys = "; ".join(
        f"{name} by {', '.join(SORTABLE[name])} (default {DEFAULT_SORTS[name]})" for name in targets
    )
    return f"Sort key, '-' for descending: {keys}."
