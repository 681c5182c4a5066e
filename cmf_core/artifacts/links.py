"""Link types: how bytes go into the cache and come back out, like DVC's ``cache.type``.

``reflink`` is a copy-on-write clone (free where the file system has them:
btrfs, XFS, APFS; not ext4); ``hardlink`` shares the inode (free, but the
workspace file becomes the read-only cache object); ``copy`` always works.
A list is tried in order, the first that works is used.
"""

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Literal, cast

from cmf_core.artifacts import copying
from cmf_core.errors import InvalidInputError

LinkType = Literal["reflink", "hardlink", "copy"]
LINK_TYPES: tuple[LinkType, ...] = ("reflink", "hardlink", "copy")
DEFAULT_LINK_TYPES: tuple[LinkType, ...] = ("reflink", "copy")


def parse_link_types(text: str | Sequence[str]) -> tuple[LinkType, ...]:
    """``"reflink,hardlink,copy"`` (or a sequence) as link types, checked."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    unknown = [n for n in names if n not in LINK_TYPES]
    if unknown or not names:
        raise InvalidInputError(
            f"Unknown cache link type(s) {', '.join(unknown) or '(none)'}; use a comma-separated "
            f"list of {', '.join(LINK_TYPES)}, e.g. 'reflink,copy'."
        )
    return tuple(cast(LinkType, n) for n in names)


def make_folder(final: str) -> None:
    folder = os.path.dirname(final)
    if os.path.isdir(folder):  # a stat: cheaper than a mkdir that fails
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise copying.write_error(folder, exc) from exc


def link(kind: LinkType, source: str, temp: str) -> bool:
    """Try a reflink or hardlink of ``source`` at ``temp``; False when the file system refuses."""
    try:
        if kind == "hardlink":
            os.link(source, temp)
        elif sys.platform.startswith("linux"):
            _clone(source, temp)
        else:
            from dvc_objects.fs.system import reflink

            reflink(source, temp)  # type: ignore[no-untyped-call]
    except (OSError, NotImplementedError):
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    return True


def _clone(source: str, temp: str) -> None:
    """Linux's FICLONE ioctl, which dvc-objects' ``reflink`` issues too. Importing that
    module imports fsspec, about 250 ms measured, on the first artifact a script logs; the
    ioctl alone costs microseconds and fails at once on a file system without reflinks."""
    import fcntl

    ficlone = 0x40049409
    with open(source, "rb") as src:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.ioctl(fd, ficlone, src.fileno())
        finally:
            os.close(fd)


__all__ = [
    "DEFAULT_LINK_TYPES",
    "LINK_TYPES",
    "LinkType",
    "link",
    "make_folder",
    "parse_link_types",
]
