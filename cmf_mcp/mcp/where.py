"""Which store the server reads, said in its instructions and in every empty answer.

An empty answer from the wrong store looks just like an empty project, so the
server names the store it reads — a path relative to the project for a SQLite
file inside it, "a SQLite file outside the project" otherwise, a URL with its
password hidden for PostgreSQL — how to point it at another (``--store``,
``CMF_STORE_URL``, ``store_url`` in ``.cmf/config.toml``), and a cmflib-era
``mlmd`` file found in the project.
"""

from collections.abc import Sized
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from cmf_core.cmflib.mlmd import find_mlmd_file
from cmf_mcp.mcp.errors import OUTSIDE, shown_path

if TYPE_CHECKING:
    from cmf_mcp.mcp.state import ServerState

ELSEWHERE = (
    "to read another, start the server with --store URL (or set CMF_STORE_URL, or store_url "
    "in .cmf/config.toml)"
)


def store_name(store_url: str, project_root: Path) -> str:
    """The store as it may be shown to a model: never a password, nor a path outside."""
    if store_url.startswith("sqlite:"):
        location = unquote(store_url.partition(":///")[2].split("?")[0])
        if not location or location == ":memory:":
            return "an in-memory SQLite store"
        shown = shown_path(location, project_root)
        return "a SQLite file outside the project" if shown == OUTSIDE else shown
    from cmf_core.store.engine import safe_url  # not at import: the store package loads SQLAlchemy

    return safe_url(store_url)


def mlmd_note(project_root: Path) -> str:
    """A sentence about cmflib's ``mlmd`` file in the project ("" when there is none)."""
    found = find_mlmd_file(project_root)
    if found is None:
        return ""
    return (
        f"The project also holds {found.name}, runs recorded by cmflib (HPE CMF): "
        f"`cmf import-mlmd {found.name}` (run by the user) brings them into this store."
    )


def store_note(store_url: str, project_root: Path, *, mlmd: bool = True) -> str:
    """What an empty answer adds: the store read, how to read another, and any mlmd file."""
    note = f"Store read: {store_name(store_url, project_root)}; {ELSEWHERE}."
    extra = mlmd_note(project_root) if mlmd else ""
    return f"{note} {extra}" if extra else note


def instructions_line(store_url: str, project_root: Path) -> str:
    """The line the server's instructions end with."""
    return (
        f"This server reads the store {store_name(store_url, project_root)} (project "
        f"{project_root.name or '/'}); {ELSEWHERE}. " + mlmd_note(project_root)
    ).strip()


def empty_note(state: "ServerState", items: Sized, *, mlmd: bool = True) -> str:
    """For a tool's text: a new line naming the store when ``items`` is empty, else ""."""
    if len(items):
        return ""
    return "\n" + store_note(state.settings.store_url, state.project_root, mlmd=mlmd)
