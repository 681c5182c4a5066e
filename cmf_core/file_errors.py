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

from cmf_core.errors import ArtifactError

_SPECIAL_KINDS = {
    stat.S_IFSOCK: "socket",
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def changed_error(path: str) -> ArtifactError:
    return ArtifactError(
        f"'{path}' changed while it was being hashed; wait until whatever writes it "
        "has finished, then hash it again."
    )


def special_error(path: str, mode: int) -> ArtifactError:
    kind = _SPECIAL_KINDS.get(stat.S_IFMT(mode), "special file")
    return ArtifactError(
        f"'{path}' is a {kind}, not a regular file or directory, so it has no content "
        "digest; hash the files it stands for instead, or move it out of the directory."
    )


def os_error(path: str, exc: OSError) -> ArtifactError:
    """Turn an OSError met on ``path`` into a message a person can act on."""
    if exc.errno == errno.ELOOP:
        return ArtifactError(
            f"'{path}' is a symbolic link loop (it leads back to itself); "
            "point the link at a real file or remove it."
        )
    if isinstance(exc, FileNotFoundError):
        with contextlib.suppress(OSError):
            return ArtifactError(
                f"'{path}' is a symbolic link to '{os.readlink(path)}', which does not "
                "exist; point the link at a real file or remove it."
            )
        return ArtifactError(
            f"No file or directory at '{path}'; check the path (or whether something "
            "removed it during hashing)."
        )
    if isinstance(exc, PermissionError):
        return ArtifactError(
            f"Cannot read '{path}': permission denied; give this user read access "
            "(e.g. `chmod u+r`, and `u+x` on directories) or hash a readable copy."
        )
    return ArtifactError(
        f"Cannot read '{path}': {exc.strerror or exc}; check the file system and try again."
    )
