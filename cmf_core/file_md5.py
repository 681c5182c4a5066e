"""The md5 of one listed file, read from the descriptor it opened and checked there.

:mod:`cmf_core.hashing` decides which files to read and in which threads; this
module reads one. A file comes as the walk listed it (:data:`WalkedFile`: path,
inode, mtime_ns, size); it is opened once, the opened descriptor is checked
(:class:`ReadGuard`), its bytes are read from that descriptor only, and one
``fstat`` after the read proves what was read: the inode listed, still a regular
file, its size and mtime as listed, and exactly that many bytes. Anything else
raises :func:`~cmf_core.file_errors.changed_error`.

This is a hand-written loop on ``os.open``/``os.read`` rather than
``hashlib.file_digest(open(path, "rb"))`` because the library path cannot meet
the target for small files: measured over 10,000 files of 4 KiB, ``open()``
makes a buffered reader and costs three system calls more per file (``fstat``
twice, ``ioctl``, ``lseek``) than open, read, fstat, close, and the plain loop
over it was slower than this whole hash including the walk. A file under
:data:`BLOCK_SIZE` is read in one ``read``; a larger one is first checked by
``fstat`` too (a device swapped in is never read) and then read block by block,
``stop`` looked at between blocks.
"""

import hashlib
import io
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cmf_core.dir_walk import WalkedFile
from cmf_core.errors import ArtifactError
from cmf_core.file_errors import changed_error, os_error, stopped_error

BLOCK_SIZE = 1 << 20
"""Bytes read (and hashed) at a time; hashlib releases the GIL on blocks this big."""
# O_NONBLOCK: should the path have become a FIFO since it was listed, opening and
# reading it must not hang; the fstat after the read then refuses it.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
Report = Callable[[int], None]
"""Called with the bytes just hashed, for a progress bar."""


@dataclass(frozen=True, slots=True)
class ReadGuard:
    """What every read looks at: the check of an opened descriptor, and the stop flag."""

    check_opened: Callable[[int, str], None] | None
    stop: threading.Event


def md5_file(
    file: WalkedFile, view: memoryview | None, report: Report | None, guard: ReadGuard
) -> str:
    """Return the md5 of one regular file, checking that it did not change meanwhile.

    ``view`` is a buffer of :data:`BLOCK_SIZE` bytes for files that large (``None``
    when none is); ``report`` hears every byte hashed.
    """
    path, _, inode, mtime_ns, size = file
    if guard.stop.is_set():
        raise stopped_error(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise os_error(path, exc) from exc
    try:
        if view is None or size < BLOCK_SIZE:
            if guard.check_opened is not None:
                guard.check_opened(fd, path)
            data = os.read(fd, size + 1)
            if len(data) < size:  # a short read (network file systems may give one)
                data = _read_on(fd, data, size)
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            nread = len(data)
            if report is not None:
                report(nread)
        else:
            md5, nread = _md5_blocks(fd, file, view, report, guard)
        after = os.fstat(fd)
    except OSError as exc:
        raise _read_error(fd, file, exc) from exc
    finally:
        os.close(fd)
    if (
        after.st_ino != inode
        or after.st_mtime_ns != mtime_ns
        or after.st_size != size
        or nread != size
        or not stat.S_ISREG(after.st_mode)
    ):
        raise changed_error(path)
    return md5


def check_known(file: WalkedFile, guard: ReadGuard) -> None:
    """Open a file the stat cache knows, to check (as the reader would) what it opens."""
    path, _, inode, _, _ = file
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise os_error(path, exc) from exc
    try:
        if os.fstat(fd).st_ino != inode:
            raise changed_error(path)
        if guard.check_opened is not None:
            guard.check_opened(fd, path)
    finally:
        os.close(fd)


def _read_on(fd: int, data: bytes, size: int) -> bytes:
    """Finish a short read: read until end of file or one byte past ``size``."""
    chunks = [data]
    nread = len(data)
    while nread <= size and (more := os.read(fd, size + 1 - nread)):
        chunks.append(more)
        nread += len(more)
    return b"".join(chunks)


def _md5_blocks(
    fd: int, file: WalkedFile, view: memoryview, report: Report | None, guard: ReadGuard
) -> tuple[str, int]:
    """Hash a large file block by block; returns its md5 and the bytes read."""
    path, _, inode, _, _ = file
    opened = os.fstat(fd)
    if opened.st_ino != inode or not stat.S_ISREG(opened.st_mode):
        raise changed_error(path)
    if guard.check_opened is not None:
        guard.check_opened(fd, path)
    hasher = hashlib.md5(usedforsecurity=False)
    nread = 0
    stop = guard.stop
    stream = io.FileIO(fd, "r", closefd=False)
    while count := stream.readinto(view):
        if stop.is_set():
            raise stopped_error(path)
        hasher.update(view[:count])
        nread += count
        if report is not None:
            report(count)
    return hasher.hexdigest(), nread


def _read_error(fd: int, file: WalkedFile, exc: OSError) -> ArtifactError:
    """The error for a read that failed: 'changed' when the descriptor is no longer the
    file listed (a FIFO swapped in refuses a non-blocking read), else what the OS said."""
    path, _, inode, _, _ = file
    try:
        opened = os.fstat(fd)
    except OSError:
        return os_error(path, exc)
    if opened.st_ino != inode or not stat.S_ISREG(opened.st_mode):
        return changed_error(path)
    return os_error(path, exc)
