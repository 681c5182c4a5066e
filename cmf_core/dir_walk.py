"""The files of a directory that DVC 3 puts in the directory's manifest, listed by stat.

What counts follows dvc-data's walk (``os.walk`` in
``hashfile.build._build_tree``) and ``dvc.ignore.DvcIgnoreFilter``'s defaults:

- Only files are listed, so empty directories leave no trace; a directory with
  no file at all is :data:`~cmf_core.hashing.EMPTY_DIR_DIGEST` (the md5 of ``[]``), size 0.
- Anything named ``.git``, directories named ``.hg`` or ``.dvc``, and every
  subdirectory holding a ``.dvc`` entry (DVC takes it for a nested repository)
  are left out, contents and all, at every depth.
- A symbolic link to a file is listed under its own name with its target's
  bytes. A symbolic link to a *directory* is skipped silently, contents and all,
  as ``os.walk`` does not follow it: odd, but it is what DVC records.
- A ``.dvcignore`` inside the directory makes DVC refuse it, so hash_path
  refuses too. ``.dvcignore`` patterns *above* it, in a DVC repo, are not
  applied: this module knows nothing of repositories.
- Dangling links and link loops fail in both. Sockets, FIFOs and devices are
  refused (DVC would open a FIFO and hang).
- Unlike ``dvc add``, a top-level symbolic link to a directory is followed.

Nothing here reads a file's bytes: the walk lists names and stat values, and
:mod:`cmf_core.hashing` reads the bytes.
"""

import contextlib
import os
import stat
from collections.abc import Iterator

from cmf_core.errors import ArtifactError, Kind
from cmf_core.file_errors import os_error, special_error

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
_SCANDIR_TAKES_FD = os.scandir in os.supports_fd
_SKIPPED_NAMES = frozenset({".git"})  # any type, any depth
_SKIPPED_DIRS = frozenset({".hg", ".dvc"})  # directories only, any depth
_SUBREPO_MARK = ".dvc"  # a subdirectory with this entry is a nested DVC repo
_DVCIGNORE = ".dvcignore"

# A file to hash: (absolute path, posix relpath, inode, mtime_ns, size). Plain
# tuples keep the walk of a large unchanged directory cheap.
WalkedFile = tuple[str, str, int, int, int]


def walk_dir(root: str) -> list[WalkedFile]:
    """List the regular files under ``root`` that DVC would put in the manifest."""
    files: list[WalkedFile] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with _scan_folder(folder) as entries:
                _walk_folder(root, folder, prefix, entries, files, pending)
        except OSError as exc:
            raise os_error(folder, exc) from exc
    return files


def _walk_folder(
    root: str,
    folder: str,
    prefix: str,
    entries: list[os.DirEntry[str]],
    files: list[WalkedFile],
    pending: list[tuple[str, str]],
) -> None:
    """Add the files of one folder to ``files`` and its subfolders to ``pending``."""
    if prefix and any(entry.name == _SUBREPO_MARK for entry in entries):
        return
    head = folder + os.sep
    is_regular = stat.S_ISREG
    add = files.append
    for entry in entries:
        name = entry.name
        if name in _SKIPPED_NAMES:
            continue
        path = head + name
        try:
            if entry.is_dir(follow_symlinks=False):
                if name not in _SKIPPED_DIRS:
                    pending.append((path, f"{prefix}{name}/"))
                continue
            info = entry.stat()
        except OSError as exc:
            raise os_error(path, exc) from exc
        mode = info.st_mode
        if is_regular(mode):
            if name == _DVCIGNORE:
                raise ArtifactError(
                    "'{path}' is a .dvcignore file inside '{root}'; DVC refuses to track "
                    "such a directory, so it has no DVC digest. Move the patterns to a "
                    ".dvcignore above '{root}', or delete the file.",
                    kind=Kind.PATH,
                    paths={"path": path, "root": root},
                )
            add((path, prefix + name, info.st_ino, info.st_mtime_ns, info.st_size))
        elif not stat.S_ISDIR(mode):  # a symlink to a directory is skipped, as DVC does
            raise special_error(path, mode)


@contextlib.contextmanager
def _scan_folder(folder: str) -> Iterator[list[os.DirEntry[str]]]:
    """Yield the entries of ``folder``; scanned from a descriptor where the OS allows,
    each ``stat()`` is an ``fstatat`` of a bare name, a sixth cheaper than a full path."""
    if not _SCANDIR_TAKES_FD:
        with os.scandir(folder) as scan:
            yield list(scan)
        return
    fd = os.open(folder, _DIR_FLAGS)
    try:
        with os.scandir(fd) as scan:
            yield list(scan)
    finally:
        os.close(fd)
