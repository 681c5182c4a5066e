"""The Agent Skill cmf ships (``cmf/SKILL.md``, in the agentskills format) and its installer.

The skill teaches a coding agent (Claude Code and the like) to instrument a training
script with cmf, to record the runs it drives through the MCP tools, and to answer
lineage and comparison questions with the fewest calls. ``cmf skill install`` copies
it to ``.claude/skills/cmf/`` of the project (or of the user); the Claude Code plugin
at the repository's root (``.claude-plugin/plugin.json``) points at this folder.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from cmf_core.errors import ConflictError, Kind

SKILL_NAME = "cmf"
Outcome = Literal["installed", "updated", "unchanged"]


def skill_files() -> dict[str, bytes]:
    """The skill's files (name -> bytes), as shipped in the package."""
    folder: Traversable = files(__name__) / SKILL_NAME
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file()}


def install_skill(skills_dir: Path, *, force: bool = False) -> tuple[Path, Outcome]:
    """Copy the skill into ``skills_dir/cmf/``; returns that folder and what was done.

    A folder already holding the same files is left as it is; one holding other
    content is replaced only with ``force`` (it may be the user's own edit).
    """
    target = skills_dir / SKILL_NAME
    shipped = skill_files()
    present = {name: target / name for name in shipped if (target / name).is_file()}
    changed = [name for name, path in present.items() if path.read_bytes() != shipped[name]]
    if not changed and len(present) == len(shipped):
        return target, "unchanged"
    if changed and not force:
        raise ConflictError(
            "{path} already holds another version of the cmf skill; "
            "pass --force to replace it with this cmf's.",
            kind=Kind.PATH,
            path=str(target / changed[0]),
        )
    target.mkdir(parents=True, exist_ok=True)
    for name, data in shipped.items():
        (target / name).write_bytes(data)
    return target, "updated" if present else "installed"


__all__ = ["SKILL_NAME", "install_skill", "skill_files"]
