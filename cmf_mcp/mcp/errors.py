"""How a library error reads to a model: its message, no path outside the project, a next step.

The message comes from the error itself (:meth:`CmfError.render`), with the
store shown as "the store" and a path shown relative to the project — or as
"a path outside the project", which a remote caller has no business seeing.
The next step names the tool to call, chosen from the error's fields; the
CLI has its own table (``cmf_mcp/cli/support.py``).
"""

from pathlib import Path

from cmf_core.errors import AuthError, CmfError, InvalidInputError, Kind, NotFoundError, StoreError

OUTSIDE = "<a path outside the project>"
NOT_FOUND_HINTS = {
    Kind.EXECUTION: "search_executions or list_pipelines finds them.",
    Kind.ARTIFACT: "search_artifacts finds them (by path or type).",
    Kind.REFERENCE: "search_executions and search_artifacts find what there is.",
    Kind.PIPELINE: "list_pipelines lists them.",
    Kind.STAGE: "list_pipelines lists them with their stages.",
    Kind.METRIC: "get_execution lists a run's metrics.",
}


def shown_path(path: str, project_root: Path) -> str:
    """``path`` relative to the project root, or a stand-in when it lies outside."""
    given = Path(path)
    for root in (project_root, project_root.resolve()):
        try:
            inside = given.relative_to(root)
        except ValueError:
            continue
        return inside.as_posix() if inside.parts else "."
    return path if not given.is_absolute() else OUTSIDE


def next_step(exc: CmfError) -> str:
    """The tool to call next, from what the error is about ("" when the message says enough)."""
    if isinstance(exc, NotFoundError) and exc.kind in NOT_FOUND_HINTS:
        return NOT_FOUND_HINTS[exc.kind]
    if isinstance(exc, AuthError) and exc.kind is Kind.TOKEN:
        return "Ask for a valid token."
    if isinstance(exc, StoreError) and exc.kind is Kind.SCHEMA:
        return "The store's owner must run `cmf db upgrade`."
    if isinstance(exc, InvalidInputError) and exc.kind is Kind.EXECUTION and not exc.matches:
        return "query_lineage shows an execution's lineage."
    return ""


def model_message(exc: CmfError, project_root: Path, hint: str = "") -> str:
    """The text a model reads for ``exc``: message, then the next step."""
    text = exc.render(path=lambda path: shown_path(path, project_root), store=lambda _: "the store")
    return " ".join(part for part in (text, next_step(exc) or hint) if part)
