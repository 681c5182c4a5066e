"""A work tree's root and its ``HEAD`` commit, read from the files of the Git directory.

Loose refs, ``packed-refs``, detached heads, linked work trees and submodules
are followed as Git follows them. No process, no GitPython: it costs
microseconds, so it runs at the start and at the end of every execution. Only a
repository keeping its refs in the reftable format (Git 2.45+, opt-in), which
has no ref files, costs one ``git rev-parse``.
"""

import os
import re
from pathlib import Path

from cmf_core.errors import GitError

# An object id: SHA-1 (40 hex) or SHA-256 (64 hex).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
# Refs that live in a linked work tree's own Git directory; all others are shared.
_PER_WORKTREE_REFS = ("refs/bisect/", "refs/worktree/", "refs/rewritten/")
_MAX_SYMREF_DEPTH = 5
# Applies to every git cmf starts (and any git it starts, for submodules): never write
# the index.
READ_ONLY_ENV = {"GIT_OPTIONAL_LOCKS": "0"}


def find_work_tree(start: Path) -> Path | None:
    """Return the root of the Git work tree containing ``start``, or None outside one.

    Walks up from ``start`` (a folder or a file) to the nearest folder holding a
    ``.git`` directory, or a ``.git`` file as linked work trees and submodules
    have. Reads only the file system; a bare repository is not a work tree.
    """
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            if (dot_git / "HEAD").is_file():
                return folder
        elif dot_git.is_file():
            return folder
    return None


def read_head_commit(work_tree: Path) -> str | None:
    """Return the commit ``HEAD`` points at, read from files; None on an unborn branch.

    Follows ``HEAD`` to its branch, then to the loose ref file or the
    ``packed-refs`` line, as Git does; a detached ``HEAD`` holds the commit
    itself. A ``.git`` file (linked work tree, submodule) is followed to the real
    Git directory and its ``commondir``. Repositories that keep refs in the
    reftable format (Git 2.45+, opt-in) have no ref files, so for them this
    asks ``git rev-parse`` instead.

    Raises GitError when ``work_tree`` has no readable Git directory.
    """
    root = os.fspath(work_tree)
    git_dir = _locate_git_dir(root)
    common_dir = _locate_common_dir(git_dir)
    content = _read_text(os.path.join(git_dir, "HEAD"), work_tree)
    for _ in range(_MAX_SYMREF_DEPTH):
        if not content.startswith("ref:"):
            if _OBJECT_ID.fullmatch(content):
                return content
            raise GitError(
                f"HEAD of the Git work tree {work_tree} holds {content[:80]!r}, which is "
                "neither a branch nor a commit; run `git status` there to see what is wrong."
            )
        ref = content[4:].strip()
        if os.path.isdir(os.path.join(common_dir, "reftable")):
            return _rev_parse_head(work_tree)
        if not ref.startswith("refs/"):
            raise GitError(
                f"HEAD of the Git work tree {work_tree} points at {ref!r}, outside refs/; "
                "run `git status` there to see what is wrong."
            )
        found = _read_ref(ref, git_dir=git_dir, common_dir=common_dir, work_tree=work_tree)
        if found is None:
            return None
        content = found
    raise GitError(
        f"HEAD of the Git work tree {work_tree} is a chain of more than {_MAX_SYMREF_DEPTH} "
        "symbolic refs; run `git rev-parse HEAD` there to see what is wrong."
    )


def _locate_git_dir(root: str) -> str:
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    text = _read_text(dot_git, Path(root))
    if not text.startswith("gitdir:"):
        raise GitError(
            f"{dot_git} is neither a Git directory nor a `gitdir:` file; "
            "run `git status` in that folder to see what is wrong."
        )
    return os.path.join(root, text[len("gitdir:") :].strip())


def _locate_common_dir(git_dir: str) -> str:
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as file:
            return os.path.join(git_dir, file.read().strip())
    except FileNotFoundError:
        return git_dir
    except OSError as exc:
        raise GitError(f"Cannot read {git_dir}/commondir ({exc.strerror}).") from exc


def _read_ref(ref: str, *, git_dir: str, common_dir: str, work_tree: Path) -> str | None:
    """The content of a loose ref, or the object id in packed-refs; None if absent."""
    home = git_dir if ref.startswith(_PER_WORKTREE_REFS) else common_dir
    try:
        with open(os.path.join(home, ref), encoding="utf-8") as file:
            return file.read().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    except OSError as exc:
        raise GitError(f"Cannot read the ref {ref} of {work_tree} ({exc.strerror}).") from exc
    return _find_packed_ref(os.path.join(common_dir, "packed-refs"), ref, work_tree)


def _find_packed_ref(packed_refs: str, ref: str, work_tree: Path) -> str | None:
    try:
        with open(packed_refs, "rb") as file:
            content = file.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GitError(
            f"Cannot read {{path}} of {{root}} ({exc.strerror}).",
            paths={"path": packed_refs, "root": str(work_tree)},
        ) from exc
    if not content.endswith(b"\n"):
        content += b"\n"
    end = content.find(b" " + ref.encode("utf-8") + b"\n")
    if end < 0:
        return None
    start = content.rfind(b"\n", 0, end) + 1
    return content[start:end].decode("ascii", errors="replace")


def _read_text(path: str, work_tree: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError as exc:
        raise GitError(
            f"Cannot read {{path}} ({exc.strerror}): {{root}} is not the root of a readable "
            "Git work tree. Pass the folder that find_work_tree() returns.",
            paths={"path": path, "root": str(work_tree)},
        ) from exc


def _rev_parse_head(work_tree: Path) -> str | None:
    import subprocess  # only for reftable repositories, which have no ref files to read

    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            cwd=work_tree,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **READ_ONLY_ENV},
        )
    except OSError as exc:
        raise GitError(
            f"Cannot run git to read HEAD of {work_tree}, whose refs are in reftable format "
            f"({exc.strerror}); install Git 2.45 or later."
        ) from exc
    return result.stdout.strip() or None
