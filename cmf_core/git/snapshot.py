"""The full Git state of a work tree — remote, branch, commit, dirty flag, a digest of the
uncommitted changes — by running ``git`` through GitPython.

GitPython is imported inside the functions, because importing it takes tens of
milliseconds that a plain ``import cmf_core`` must not pay. Nothing in the
repository is written, the index included: ``git status`` runs with
``GIT_OPTIONAL_LOCKS=0`` and the patch comes from the plumbing ``git
diff-index``.

* **Untracked files count.** A file that is neither tracked nor ignored makes
the work tree dirty, as ``git status`` shows it: a new ``train_v2.py``
changes what ran as surely as an edit does. Ignored files never count.
* **The diff digest** is ``md5:`` of the bytes of ``git diff-index -p --binary
--full-index HEAD``: the patch that ``git diff --binary --full-index HEAD``
prints under Git's default configuration, with every option that user
configuration could change pinned, so two machines with the same changes
produce the same bytes. When there are untracked files, their sorted paths
follow, each with the md5 of its content (files up to 1 MiB) or its size
(larger files, so a stray dataset is not read at every run). With no
untracked files the digest is exactly the md5 of the patch, so a stored
patch file has the same digest. A work tree whose files equal ``HEAD`` is
clean even when the index holds staged changes that the work tree has
undone: what ran is ``HEAD``.
"""

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import GitError
from cmf_core.git.head import READ_ONLY_ENV
from cmf_core.git.remote import URL_IN_TEXT, strip_credentials
from cmf_core.records import GitSnapshot

if TYPE_CHECKING:  # pragma: no cover - typing only; GitPython is imported lazily
    import git

# Untracked files larger than this contribute their size, not their content.
_MAX_HASHED_UNTRACKED_BYTES = 1 << 20
# Pins everything in a patch that diff configuration could otherwise change (plumbing
# ignores most diff.* settings already; core.quotePath is pinned in _run).
_PATCH_OPTIONS = (
    "-p",
    "--binary",
    "--full-index",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--unified=3",
    "--inter-hunk-context=0",
    "--diff-algorithm=myers",
    "--indent-heuristic",
    f"-O{os.devnull}",
)


def read_git_snapshot(work_tree: Path) -> GitSnapshot:
    """Capture remote URL, branch, commit, dirty flag and diff digest of ``work_tree``.

    ``branch`` is None when ``HEAD`` is detached, ``commit`` None on an unborn
    branch, ``remote_url`` (of ``origin``, else of the first remote) None when
    there is no remote. ``diff_digest`` is None when the tree is clean; see the
    module docstring for what dirty means and what the digest covers. Nothing in
    the repository is written, the index included.

    Raises GitError when Git cannot read the repository or is not installed.
    """
    runner = _open_runner(work_tree)
    status = _run(
        runner,
        work_tree,
        "status",
        "--porcelain=v2",
        "-z",
        "--branch",
        "--untracked-files=all",
        "--no-renames",
    )
    commit, branch, has_tracked_changes, untracked = _parse_status(status)
    patch = b""
    if has_tracked_changes:
        base = commit if commit is not None else _empty_tree(runner, work_tree)
        patch = _run(runner, work_tree, "diff-index", *_PATCH_OPTIONS, base, "--")
    is_dirty = bool(patch or untracked)
    return GitSnapshot(
        remote_url=_read_remote_url(runner, work_tree),
        branch=branch,
        commit=commit,
        is_dirty=is_dirty,
        diff_digest=_digest_changes(work_tree, patch, untracked) if is_dirty else None,
    )


def _open_runner(work_tree: Path) -> "git.Git":
    try:
        import git
    except ImportError as exc:  # GitPython raises ImportError when no git executable works
        raise GitError(
            f"Cannot read the Git state of {work_tree}: the git executable was not found or "
            "does not run. Install Git, or point GIT_PYTHON_GIT_EXECUTABLE at it."
        ) from exc
    if not os.path.isdir(work_tree):
        raise GitError(f"Cannot read the Git state of {work_tree}: no such folder.")
    return git.Git(os.fspath(work_tree))


def _run(runner: "git.Git", work_tree: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> bytes:
    """Run ``git <args>`` in the work tree; return its raw stdout or raise GitError."""
    import git

    # core.quotePath=true (Git's default) so paths print the same whatever the user set.
    command = [str(git.Git.GIT_PYTHON_GIT_EXECUTABLE), "-c", "core.quotePath=true", *args]
    try:
        code, stdout, stderr = runner.execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=READ_ONLY_ENV,
        )
    except (git.exc.GitError, OSError) as exc:
        raise GitError(
            f"Cannot run `git {args[0]}` in {work_tree} ({type(exc).__name__}); "
            "check that Git is installed and on PATH, or set GIT_PYTHON_GIT_EXECUTABLE."
        ) from exc
    if code not in ok_codes:
        detail = URL_IN_TEXT.sub(r"\g<scheme>", str(stderr)).strip()[:500]
        raise GitError(
            f"`git {args[0]}` failed in {work_tree} (exit {code}): {detail or 'no message'}. "
            "Run `git status` there to see what is wrong."
        )
    return stdout if isinstance(stdout, bytes) else b""


def _parse_status(output: bytes) -> tuple[str | None, str | None, bool, list[bytes]]:
    """(commit, branch, has tracked changes, untracked paths) from ``status --porcelain=v2 -z``."""
    commit: str | None = None
    branch: str | None = None
    has_tracked_changes = False
    untracked: list[bytes] = []
    fields = iter(output.split(b"\0"))
    for field in fields:
        if field.startswith(b"# branch.oid "):
            oid = field[len(b"# branch.oid ") :].decode("ascii")
            commit = None if oid == "(initial)" else oid
        elif field.startswith(b"# branch.head "):
            head = field[len(b"# branch.head ") :].decode("utf-8", errors="replace")
            branch = None if head == "(detached)" else head
        elif field.startswith(b"? "):
            untracked.append(field[2:])
        elif field[:2] in (b"1 ", b"2 ", b"u "):
            has_tracked_changes = True
            if field.startswith(b"2 "):
                next(fields, None)  # a rename's second field is the original path
    return commit, branch, has_tracked_changes, untracked


def _empty_tree(runner: "git.Git", work_tree: Path) -> str:
    """The id of the empty tree in this repository's hash (SHA-1 or SHA-256); writes nothing."""
    output = _run(runner, work_tree, "hash-object", "-t", "tree", os.devnull)
    return output.decode("ascii").strip()


def _read_remote_url(runner: "git.Git", work_tree: Path) -> str | None:
    output = _run(
        runner,
        work_tree,
        "config",
        "-z",
        "--get-regexp",
        r"^remote\..+\.url$",
        ok_codes=(0, 1),  # 1: no remote configured
    )
    urls: dict[str, str] = {}
    for entry in output.split(b"\0"):
        key, _, value = entry.decode("utf-8", errors="replace").partition("\n")
        if key:
            urls.setdefault(key[len("remote.") : -len(".url")], value)
    url = urls.get("origin", next(iter(urls.values()), None))
    return None if url is None else strip_credentials(url)


def _digest_changes(work_tree: Path, patch: bytes, untracked: list[bytes]) -> str:
    digest = hashlib.md5(patch, usedforsecurity=False)
    if untracked:
        digest.update(b"\0untracked\0")
        for path in sorted(untracked):
            digest.update(path + b"\0" + _describe_untracked(work_tree, path) + b"\0")
    return f"md5:{digest.hexdigest()}"


def _describe_untracked(work_tree: Path, path: bytes) -> bytes:
    full = os.path.join(os.fsencode(work_tree), path)
    try:
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            return b"symlink:" + os.readlink(full)
        if not stat.S_ISREG(info.st_mode):
            return b"other"  # e.g. a nested repository, listed as a folder
        if info.st_size > _MAX_HASHED_UNTRACKED_BYTES:
            return b"size:%d" % info.st_size
        with open(full, "rb") as file:
            content = file.read(_MAX_HASHED_UNTRACKED_BYTES + 1)
        return b"md5:" + hashlib.md5(content, usedforsecurity=False).hexdigest().encode("ascii")
    except OSError:
        return b"unreadable"  # vanished or locked since `git status` listed it
