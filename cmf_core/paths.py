"""Which files a remote caller may have cmf read: the path policy of the MCP and HTTP surfaces.

A training script may log any path its user can read. A caller on the other
side of a protocol (an assistant over MCP, a client over HTTP) may not: it
names paths, cmf reads and hashes them, so :func:`check_readable` confines
those reads to a set of *roots* — the project root, and on a local connection
the folders the client declares as its roots.

A path is accepted when all of these hold:

- it is a non-empty string without NUL bytes; a relative path is taken from
  the first root (the project root), never from the server's working folder;
- written out (``..`` collapsed, symlinks not yet followed) it lies inside a
  root, so ``data/../../etc/passwd`` is refused before anything is touched;
- with every symlink followed it still lies inside a root, so a link
  ``data/x -> /etc`` is refused;
- for a directory, no symlink anywhere under it points outside the roots
  (hashing reads the target of a symlink to a file);
- it is not inside a ``.cmf`` or ``.git`` folder, and a directory holds neither
  (so ``.``, the project root, is refused: hashing would read the live store
  and ``config.local.toml``);
- it exists.

These checks are made on names, so a link swapped after them could still send
the read elsewhere. The hasher therefore also checks every file *as opened*
(:class:`OpenedFileCheck`): the real path of the open descriptor must lie inside
a root and outside ``.cmf``/``.git``, and the bytes are read from that
descriptor only.

Messages never show where an escaping path or link leads, nor any absolute
path outside the roots: only the path as the caller wrote it, when it was
relative.
"""

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cmf_core.errors import InvalidInputError, NotFoundError

MAX_PATH_CHARS = 4096
PRIVATE = frozenset({".cmf", ".git"})  # never read: the live store, local secrets, Git's internals
_SHOWN_CHARS = 200


def check_readable(path: str, *, roots: Sequence[Path]) -> Path:
    """The absolute path (symlinks kept) that ``path`` names, if the policy above allows it.

    ``roots`` must not be empty; the first one anchors relative paths. Raises
    :class:`InvalidInputError` for a refused path and :class:`NotFoundError`
    for one that does not exist.
    """
    if not roots:
        raise InvalidInputError("No folder is open for reading; start the server in a project.")
    if not isinstance(path, str) or not path.strip():
        raise InvalidInputError(
            "Give the path of a file or directory, relative to the project root (e.g. "
            "'data/train.csv')."
        )
    if "\x00" in path or len(path) > MAX_PATH_CHARS:
        raise InvalidInputError(
            f"That path is not usable (a NUL byte, or over {MAX_PATH_CHARS} characters); "
            "give a path relative to the project root."
        )
    shown = _shown(path)
    anchors = [Path(os.path.normpath(os.path.abspath(root))) for root in roots]
    given = Path(path)
    absolute = Path(os.path.normpath(given if given.is_absolute() else anchors[0] / given))
    if not _inside(absolute, anchors):
        raise InvalidInputError(
            f"{shown} is outside the project, so it cannot be read. Log files inside the "
            "project root (relative paths start there); copy or move the file into the "
            "project first if it lives elsewhere."
        )
    _check_private(absolute, anchors, shown)
    real_roots = [Path(os.path.realpath(root)) for root in anchors]
    try:
        real = Path(os.path.realpath(absolute))
        exists = real.exists()
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{shown} cannot be resolved: {_reason(exc)}.") from None
    if not _inside(real, real_roots):
        raise InvalidInputError(
            f"{shown} is a symbolic link (or lies under one) that leads outside the project, "
            "so it cannot be read. Log the file it points to from inside the project instead."
        )
    _check_private(real, real_roots, shown)
    if not exists:
        raise NotFoundError(
            f"{shown} does not exist. Paths are relative to the project root; check the "
            "spelling, or create the file before logging it."
        )
    if real.is_dir():
        _check_links_under(real, real_roots, shown)
    return absolute


class OpenedFileCheck:
    """Called by the hasher with each descriptor it opened: refuses one whose file
    lies outside ``roots`` (symlinks followed) or inside their ``.cmf``/``.git``.

    The file the descriptor names is found through ``/proc/self/fd`` on Linux and
    ``F_GETPATH`` on macOS; elsewhere the path is resolved again and must name the
    same device and inode as the descriptor.
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        self._roots = [os.path.realpath(root) for root in roots]
        self._anchor = os.path.abspath(roots[0]) if roots else ""

    def __call__(self, fd: int, path: str) -> None:
        real = _opened_path(fd, path)
        if real is not None:
            for root in self._roots:
                if real == root:
                    return
                if real.startswith(root + os.sep):
                    if PRIVATE.isdisjoint(real[len(root) + 1 :].split(os.sep)):
                        return
                    raise InvalidInputError(_private_message(self._shown(path), None))
        raise InvalidInputError(
            f"{self._shown(path)} led outside the project when it was opened (a link "
            "changed after the path was checked), so nothing was read or recorded. "
            "Log it again once the link points inside the project."
        )

    def _shown(self, path: str) -> str:
        anchor = self._anchor
        inside = path.startswith(anchor + os.sep)
        return _shown(os.path.relpath(path, anchor) if inside else path)


def _opened_path(fd: int, path: str) -> str | None:
    """The real path of the file open as ``fd``, or None when it cannot be told."""
    if sys.platform.startswith("linux"):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    if sys.platform == "darwin":
        import fcntl

        try:
            named = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))  # type: ignore[attr-defined]
            return os.fsdecode(named.rstrip(b"\0"))
        except OSError:
            pass
    try:
        real = os.path.realpath(path)
        found, opened = os.stat(real), os.fstat(fd)
    except (OSError, ValueError):
        return None
    return real if (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino) else None


def _check_links_under(folder: Path, real_roots: list[Path], shown: str) -> None:
    """Refuse a directory holding a symlink that leads outside ``real_roots``."""
    pending = [str(folder)]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name in PRIVATE:
                        inner = os.path.relpath(entry.path, folder)
                        raise InvalidInputError(_private_message(shown, inner))
                    if entry.is_symlink():
                        target = Path(os.path.realpath(entry.path))
                        if not _inside(target, real_roots):
                            inner = os.path.relpath(entry.path, folder)
                            raise InvalidInputError(
                                f"{shown} holds a symbolic link ({_shown(inner)}) that leads "
                                "outside the project, so it cannot be read. Remove the link or "
                                "log the folder's other contents separately."
                            )
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
        except OSError as exc:
            raise InvalidInputError(f"{shown} cannot be listed: {_reason(exc)}.") from None


def _check_private(path: Path, roots: Sequence[Path], shown: str) -> None:
    """Refuse a path inside a ``.cmf`` or ``.git`` folder of a root."""
    for root in roots:
        if path == root or path.is_relative_to(root):
            parts = path.relative_to(root).parts
            if any(part in PRIVATE for part in parts):
                raise InvalidInputError(_private_message(shown, None))


def _private_message(shown: str, inner: str | None) -> str:
    where = f"holds {_shown(inner)}, which is" if inner else "is"
    return (
        f"{shown} {where} cmf's own store and settings (.cmf) or Git's internals (.git): "
        "these are never logged as artifacts (they change with every run and may hold "
        "secrets). Log the data files or folders themselves, e.g. 'data/' rather than '.'."
    )


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _shown(path: str) -> str:
    """The path as the caller wrote it, unless it is absolute (then it is not repeated)."""
    if os.path.isabs(path) or path.startswith("~"):
        return "The path given"
    text = path if len(path) <= _SHOWN_CHARS else path[:_SHOWN_CHARS] + "…"
    return repr(text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return "it is not a valid path"


__all__ = ["MAX_PATH_CHARS", "OpenedFileCheck", "check_readable"]
