"""The files of a directory as DVC lists them, for copying into the cache.

The rules are :mod:`cmf_core.hashing`'s (its module docstring): ``.git`` of
any type and ``.hg`` / ``.dvc`` folders are skipped at every depth, as is a
subfolder holding a ``.dvc`` entry; a symlink to a file counts with its
target's bytes, one to a folder is skipped. The cache checks the manifest it
builds against the recorded digest, so a difference could never be stored.
"""

import os
import stat
from dataclasses import dataclass

from cmf_core.errors import ArtifactError

_SKIPPED_NAMES = frozenset({".git"})
_SKIPPED_DIRS = frozenset({".hg", ".dvc"})


@dataclass(frozen=True, slots=True)
class FileToStore:
    path: str
    relpath: str
    md5: str | None  # known from the stat cache, or None (hashed while copying)
    size: int


def walk(root: str) -> list[tuple[FileToStore, tuple[int, int]]]:
    """The files of a directory as DVC lists them (see cmf_core.hashing's module docstring),
    each with its (inode, mtime_ns) for the stat cache."""
    found: list[tuple[FileToStore, tuple[int, int]]] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise ArtifactError(f"Cannot list '{folder}': {exc.strerror}.") from exc
        if prefix and any(entry.name == ".dvc" for entry in entries):
            continue
        for entry in entries:
            if entry.name in _SKIPPED_NAMES:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIPPED_DIRS:
                    pending.append((entry.path, f"{prefix}{entry.name}/"))
                continue
            try:
                info = entry.stat()
            except OSError as exc:
                raise ArtifactError(f"Cannot read '{entry.path}': {exc.strerror}.") from exc
            if stat.S_ISREG(info.st_mode):
                file = FileToStore(entry.path, prefix + entry.name, None, info.st_size)
                found.append((file, (info.st_ino, info.st_mtime_ns)))
    return found


__all__ = ["FileToStore", "walk"]
