"""The Git state of a work tree: the only module in cmf that talks to Git.

Two speeds, for two moments of an execution:

* :func:`read_head_commit` reads ``HEAD`` straight from the files of the Git
  directory (loose refs, ``packed-refs``, detached heads, linked work trees and
  submodules). No process, no GitPython: it costs microseconds, so it can run at
  the start and at the end of every execution.
* :func:`read_git_snapshot` captures the full state (remote, branch, commit,
  dirty flag and a digest of the uncommitted changes) by running ``git``
  through GitPython, which is imported inside the function because importing
  it takes tens of milliseconds that a plain ``import cmf_core`` must not pay.

Read only, always. cmf never changes the user's repository, and that includes
the stat cache in ``.git/index``, which ``git status``, ``git diff`` and
GitPython's ``Repo.is_dirty()`` all rewrite as a side effect when a file was
touched without being changed. So the snapshot runs ``git status`` with
``GIT_OPTIONAL_LOCKS=0`` (it then refreshes the index in memory only) and takes
the patch from the plumbing ``git diff-index``, which never writes the index.

Decisions:

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
* **Credentials are stripped** from the remote URL. For ``http(s)``, ``ftp``
  and every other ``scheme://`` URL the whole user-info part goes
  (``https://user:token@host/x.git`` and ``https://token@host/x.git`` both
  become ``https://host/x.git``) together with any query or fragment, where
  access tokens are also passed. For ``ssh://`` URLs only a password goes: the
  user name (``ssh://git@host/x.git``) is part of the address, not a secret,
  and ssh authenticates with keys. scp-like addresses (``git@github.com:org/
  repo.git``) cannot carry a password and are returned unchanged.
"""

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import GitError
from cmf_core.records import GitSnapshot

if TYPE_CHECKING:  # pragma: no cover - typing only; GitPython is imported lazily
    import git

__all__ = ["find_work_tree", "read_git_snapshot", "read_head_commit", "strip_credentials"]

# An object id: SHA-1 (40 hex) or SHA-256 (64 hex).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
# Refs that live in a linked work tree's own Git directory; all others are shared.
_PER_WORKTREE_REFS = ("refs/bisect/", "refs/worktree/", "refs/rewritten/")
_MAX_SYMREF_DEPTH = 5
# Untracked files larger than this contribute their size, not their content.
_MAX_HASHED_UNTRACKED_BYTES = 1 << 20
# Applies to `git status` and to any git it starts (submodules): never write the index.
_READ_ONLY_ENV = {"GIT_OPTIONAL_LOCKS": "0"}
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
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)
_URL_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})


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


def strip_credentials(url: str) -> str:
    """Return ``url`` without the secrets it may carry (see the module docstring).

    >>> strip_credentials("https://user:token@example.com/org/repo.git")
    'https://example.com/org/repo.git'
    >>> strip_credentials("git@github.com:org/repo.git")
    'git@github.com:org/repo.git'
    """
    match = _URL.fullmatch(url)
    if match is None:
        return url  # scp-like address or local path: no place for a password
    scheme, authority, rest = match["scheme"], match["authority"], match["rest"]
    userinfo, at, host = authority.rpartition("@")
    if scheme.lower() in _SSH_SCHEMES:
        user = userinfo.partition(":")[0]
        return f"{scheme}://{user}{at}{host}{rest}"
    path = re.split(r"[?#]", rest, maxsplit=1)[0]
    return f"{scheme}://{host}{path}"


# --- fast path: files only -------------------------------------------------------------


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
            env={**os.environ, **_READ_ONLY_ENV},
        )
    except OSError as exc:
        raise GitError(
            f"Cannot run git to read HEAD of {work_tree}, whose refs are in reftable format "
            f"({exc.strerror}); install Git 2.45 or later."
        ) from exc
    return result.stdout.strip() or None


# --- full snapshot: git through GitPython -----------------------------------------------


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
            env=_READ_ONLY_ENV,
        )
    except (git.exc.GitError, OSError) as exc:
        raise GitError(
            f"Cannot run `git {args[0]}` in {work_tree} ({type(exc).__name__}); "
            "check that Git is installed and on PATH, or set GIT_PYTHON_GIT_EXECUTABLE."
        ) from exc
    if code not in ok_codes:
        detail = _URL_IN_TEXT.sub(r"\g<scheme>", str(stderr)).strip()[:500]
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
