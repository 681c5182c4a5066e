"""Copying bytes into an object store: hash while copying, never a partial file under its name.

Every object is written to a temporary name beside its final one
(``<name>.<random>.tmp``, the pattern dvc-objects uses), its md5 computed from
the same read pass, its bytes made durable, and only then renamed into place
and made read-only. A process killed at any moment leaves at most a ``.tmp``
file (``cmf gc`` removes old ones); the object under its final name is always
whole, so a rerun skips it and copies the rest.

One read pass. :func:`write_temp` reads a block, hands it to a writer thread
and hashes it while the previous block is being written: hashlib and
``os.write`` both release the GIL on blocks this big, so on two cores a copy
with verification costs about what the slower of reading+hashing and writing
costs alone (see bench/bench_artifacts.py: pull of a 1 GiB object).

Durability. ``fsync`` costs about 6 ms a file on the disks we measured, which
for 10,000 small objects is a minute. :func:`make_durable` therefore syncs a
batch at once: one ``syncfs`` of the file system on Linux (what ``sync -f``
does), else one ``fsync`` per file.
"""

import contextlib
import errno
import functools
import hashlib
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from cmf_core.errors import ArtifactError

BLOCK_SIZE = 1 << 20
READ_ONLY = 0o444
"""The mode of every cached object, as DVC protects its cache: a hardlink to it cannot be
written through, so a workspace file linked from the cache cannot corrupt it."""
_SMALL = 4 * BLOCK_SIZE  # below this, no writer thread: the copy is one or two writes
RING = 8  # buffers in flight between the reading (hashing) thread and the writer
WRITEBACK = 32 * BLOCK_SIZE  # bytes written between two requests to start writeback
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class CorruptObjectError(ArtifactError):
    """The bytes read do not have the md5 they were named by; nothing was placed."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


def temp_name(final: str) -> str:
    """A temporary path beside ``final`` that no other writer will pick."""
    return f"{final}.{secrets.token_urlsafe(12)}.tmp"


def write_temp(
    source: BinaryIO,
    final: str,
    *,
    expected_md5: str | None = None,
    report: Callable[[int], None] | None = None,
) -> tuple[str, str, int]:
    """Copy ``source`` to a temporary file beside ``final``; return (temp path, md5, size).

    With ``expected_md5``, bytes of another md5 raise :class:`CorruptObjectError`
    and leave nothing behind. The temporary file is not yet durable: pass it to
    :func:`make_durable`, then :func:`place` it.
    """
    temp = temp_name(final)
    try:
        try:
            fd = os.open(temp, _FLAGS, 0o644)
        except FileNotFoundError:  # the folder is new: make it (rarely needed, so not first)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            fd = os.open(temp, _FLAGS, 0o644)
    except OSError as exc:
        raise write_error(final, exc) from exc
    try:
        md5, size = _copy(source, fd, report)
    except BaseException as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise write_error(final, exc) from exc
        raise
    os.close(fd)
    if expected_md5 is not None and md5 != expected_md5:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise CorruptObjectError(
            f"The bytes read for object {expected_md5} have md5 {md5}: the copy is "
            "corrupt, so it was not placed.",
            expected=expected_md5,
            actual=md5,
        )
    return temp, md5, size


def _copy(source: BinaryIO, fd: int, report: Callable[[int], None] | None) -> tuple[str, int]:
    """Hash ``source`` into md5 while writing it to ``fd``, in one read pass.

    Past a few blocks, a writer thread writes while this one reads and hashes, through
    a ring of buffers, and asks the kernel to start writing back every
    :data:`WRITEBACK` bytes, so the final sync finds little left to do.
    """
    hasher = hashlib.md5(usedforsecurity=False)
    first = bytearray(min(BLOCK_SIZE, _size_hint(source) + 1))  # small files: a small buffer
    buffers = [first]
    pending: list[Future[None] | None] = [None]
    total = 0
    writer: ThreadPoolExecutor | None = None
    flushed = [0]  # bytes handed to writeback so far (the writer thread's own counter)

    def write(chunk: memoryview, end: int) -> None:
        _write_all(fd, chunk)
        if end - flushed[0] >= WRITEBACK:
            _start_writeback(fd, flushed[0], end - flushed[0])
            flushed[0] = end

    try:
        index = 0
        while True:
            slot = index % len(buffers)
            waiting = pending[slot]
            if waiting is not None:  # the writer is done with this buffer before it is reused
                waiting.result()
                pending[slot] = None
            view = memoryview(buffers[slot])
            count = _read_into(source, view)
            if not count:
                break
            chunk = view[:count]
            total += count
            if writer is None and total >= _SMALL:
                writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmf-write")
                buffers = [bytearray(BLOCK_SIZE) for _ in range(RING)]
                pending = [None] * RING
                slot = index = 0
                pending[slot] = writer.submit(write, chunk, total)
            elif writer is None:
                write(chunk, total)
            else:
                pending[slot] = writer.submit(write, chunk, total)
            hasher.update(chunk)
            if report is not None:
                report(count)
            index += 1
        for waiting in pending:
            if waiting is not None:
                waiting.result()
    finally:
        if writer is not None:
            writer.shutdown(wait=True)
    return hasher.hexdigest(), total


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Linux's ``sync_file_range(…, SYNC_FILE_RANGE_WRITE)``: start writing, do not wait."""
    function = _sync_file_range()
    if function is not None:
        function(fd, offset, length, 2)


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint)
    found: Callable[[int, int, int, int], int] = function
    return found


def copy_unchanged(source: str, final: str, *, stat: tuple[int, int, int]) -> str:
    """Copy ``source`` (whose md5 is known) beside ``final`` in the kernel; returns the temp.

    For bytes just hashed, whose (inode, mtime_ns, size) the stat cache recorded with
    their md5: hashing them again while copying would be a second hash pass. The
    copy is ``copy_file_range`` (cp's speed), and the stat is checked before and
    after, so a file rewritten meanwhile raises :class:`CorruptObjectError`.
    """
    temp = temp_name(final)
    try:
        with open(source, "rb") as src:
            if _stat_of(os.fstat(src.fileno())) != stat:
                raise CorruptObjectError(f"'{source}' changed.", expected="", actual="")
            fd = os.open(temp, _FLAGS, 0o644)
            try:
                copied = _kernel_copy(src.fileno(), fd, stat[2])
            finally:
                os.close(fd)
        if copied != stat[2] or _stat_of(os.stat(source)) != stat:
            raise CorruptObjectError(f"'{source}' changed.", expected="", actual="")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise write_error(final, exc) from exc
        raise
    return temp


def _stat_of(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_ino, info.st_mtime_ns, info.st_size


def _kernel_copy(src: int, dst: int, size: int) -> int:
    copied = 0
    copy_range = getattr(os, "copy_file_range", None)
    while copied < size:
        try:
            if copy_range is None:
                raise OSError(errno.ENOSYS, "no copy_file_range")
            count = copy_range(src, dst, size - copied)
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            copy_range = None
            data = os.pread(src, BLOCK_SIZE, copied)
            count = len(data)
            if count:
                _write_all(dst, memoryview(data))
        if not count:
            break
        copied += count
    return copied


def _size_hint(source: BinaryIO) -> int:
    """The bytes left to read from ``source`` when it is a plain file, else a block."""
    try:
        return max(0, os.fstat(source.fileno()).st_size - source.tell())
    except (OSError, AttributeError, ValueError):
        return BLOCK_SIZE


def _read_into(source: BinaryIO, view: memoryview) -> int:
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        return int(readinto(view) or 0)
    data = source.read(len(view))
    view[: len(data)] = data
    return len(data)


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        written = os.write(fd, chunk)
        chunk = chunk[written:]


def make_durable(paths: Sequence[str]) -> None:
    """Flush the bytes of ``paths`` (temporary files on one file system) to disk."""
    if not paths:
        return
    syncfs = _syncfs()
    try:
        if syncfs is not None and len(paths) > 1:
            fd = os.open(os.path.dirname(paths[0]), os.O_RDONLY)
            try:
                if syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise write_error(paths[0], exc) from exc


def _syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return function


def place(temp: str, final: str, *, mode: int = READ_ONLY) -> None:
    """Rename a durable temporary file to its final name, read-only."""
    try:
        os.chmod(temp, mode)
        os.replace(temp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise write_error(final, exc) from exc


def discard(temps: Sequence[str]) -> None:
    for temp in temps:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def write_error(path: str, exc: OSError) -> ArtifactError:
    """An OSError met writing ``path`` as an ArtifactError a person can act on."""
    if exc.errno == errno.ENOSPC:
        return ArtifactError(
            f"The disk is full writing '{path}'; free some space and run the command again "
            "(objects already written are kept, nothing partial was placed)."
        )
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return ArtifactError(
            f"Cannot write '{path}': {exc.strerror or 'permission denied'}; give this user "
            "write access to the folder, or choose another cache or remote."
        )
    return ArtifactError(f"Cannot write '{path}': {exc.strerror or exc}.")


__all__ = [
    "BLOCK_SIZE",
    "READ_ONLY",
    "CorruptObjectError",
    "discard",
    "make_durable",
    "place",
    "temp_name",
    "write_error",
    "write_temp",
]
