"""How a library error reads to a model: its message, no path outside the project, a next step.

The message comes from the error itself (:meth:`CmfError.render`), with the
store shown as "the store" and a path shown relative to the project — or as
"a path outside the project", which a remote caller has no business seeing.
The next step names the tool to call, chosen from the error's fields; the
CLI has its own table (``cmf_mcp/cli/support.py``).
"""

from pathlib import Path

from cmf_core.errors import CmfError

OUTSIDE = "<a path outside the project>"
HINTS = {
    "find:execution": "search_executions or list_pipelines finds them.",
    "find:artifact": "search_artifacts finds them (by path or type).",
    "find:reference": "search_executions and search_artifacts find what there is.",
    "find:pipeline": "list_pipelines lists them.",
    "find:stage": "list_pipelines lists them with their stages.",
    "find:metric": "get_execution lists a run's metrics.",
    "token": "Ask for a valid token.",
    "upgrade": "The store's owner must run `cmf db upgrade`.",
    "lineage": "query_lineage shows an execution's lineage.",
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
    """The tool to call next, from the error's own next step ("" when it has none)."""
    return HINTS.get(exc.next_step or "", "")


def model_message(exc: CmfError, project_root: Path, hint: str = "") -> str:
    """The text a model reads for ``exc``: message, then the next step."""
    text = exc.render(path=lambda path: shown_path(path, project_root), store=lambda _: "the store")
    return " ".join(part for part in (text, next_step(exc) or hint) if part)
