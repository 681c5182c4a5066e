"""What the file system refused while cmf listed or read an artifact, as an ArtifactError
a person can act on: a dangling link, a link loop, a missing file, no permission, a
special file (socket, FIFO, device), a file that changed while it was read.

The walker (:mod:`cmf_core.dir_walk`) and the hasher (:mod:`cmf_core.hashing`)
both raise these; the message names the path as the caller wrote it or as it was
found under the directory given.
"""

import contextlib
import errno
import os
import stat

from cmf_core.errors import ArtifactError, Kind

_SPECIAL_KINDS = {
    stat.S_IFSOCK: "socket",
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def changed_error(path: str) -> ArtifactError:
    return ArtifactError(
        "'{path}' changed while it was being hashed; wait until whatever writes it "
        "has finished, then hash it again.",
        kind=Kind.PATH,
        path=path,
    )


def stopped_error(path: str) -> ArtifactError:
    return ArtifactError(
        "Hashing '{path}' was stopped before it finished (cancelled or interrupted); "
        "nothing was recorded for it.",
        kind=Kind.PATH,
        path=path,
    )


def special_error(path: str, mode: int) -> ArtifactError:
    kind = _SPECIAL_KINDS.get(stat.S_IFMT(mode), "special file")
    return ArtifactError(
        f"'{{path}}' is a {kind}, not a regular file or directory, so it has no content "
        "digest; hash the files it stands for instead, or move it out of the directory.",
        kind=Kind.PATH,
        path=path,
    )


def os_error(path: str, exc: OSError) -> ArtifactError:
    """Turn an OSError met on ``path`` into a message a person can act on."""
    if exc.errno == errno.ELOOP:
        return ArtifactError(
            "'{path}' is a symbolic link loop (it leads back to itself); "
            "point the link at a real file or remove it.",
            kind=Kind.PATH,
            path=path,
        )
    if isinstance(exc, FileNotFoundError):
        with contextlib.suppress(OSError):
            return ArtifactError(
                "'{path}' is a symbolic link to '{target}', which does not "
                "exist; point the link at a real file or remove it.",
                kind=Kind.PATH,
                paths={"path": path, "target": _absolute(path, os.readlink(path))},
            )
        return ArtifactError(
            "No file or directory at '{path}'; check the path (or whether something "
            "removed it during hashing).",
            kind=Kind.PATH,
            path=path,
        )
    if isinstance(exc, PermissionError):
        return ArtifactError(
            "Cannot read '{path}': permission denied; give this user read access "
            "(e.g. `chmod u+r`, and `u+x` on directories) or hash a readable copy.",
            kind=Kind.PATH,
            path=path,
        )
    return ArtifactError(
        f"Cannot read '{{path}}': {exc.strerror or exc}; check the file system and try again.",
        kind=Kind.PATH,
        path=path,
    )


def _absolute(link: str, target: str) -> str:
    """A link's target as an absolute path (a relative target counts from the link's folder)."""
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(link)), target))
