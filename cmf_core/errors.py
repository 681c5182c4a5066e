"""The one exception tree of cmf.

::

    CmfError
    ├── ConfigError         a setting, URL or config file is wrong
    ├── NotFoundError       no record with that id, digest, name or path
    ├── ConflictError       two versions of one record disagree; nothing was overwritten
    ├── InvalidInputError   an argument cannot be used as given (wrong type, bad path, …)
    ├── StoreError          the metadata store cannot be opened, read or written
    ├── GitError            Git state could not be read
    ├── ArtifactError       artifact bytes could not be read or hashed
    ├── SyncError           push / pull / import failed
    └── AuthError           a token is missing, unknown or lacks the scope

Every message is a sentence for a person: what failed, the id or path, and
what to do next. Third-party exceptions are wrapped once, where the library
is called (``raise StoreError(...) from exc``).
"""


class CmfError(Exception):
    """Root of every error cmf raises on purpose."""


class ConfigError(CmfError):
    """A setting, store URL or configuration file cannot be used."""


class NotFoundError(CmfError):
    """No record matches the id, digest, name or path that was asked for."""


class ConflictError(CmfError):
    """Two versions of one record disagree; neither was overwritten."""


class InvalidInputError(CmfError):
    """An argument cannot be used as given."""


class StoreError(CmfError):
    """The metadata store cannot be opened, read or written."""


class GitError(CmfError):
    """The Git state of the project could not be read."""


class ArtifactError(CmfError):
    """Artifact bytes could not be read or hashed."""


class SyncError(CmfError):
    """Metadata could not be pushed, pulled, exported or imported."""


class AuthError(CmfError):
    """A token is missing, unknown, revoked or lacks the needed scope."""


__all__ = [
    "ArtifactError",
    "AuthError",
    "CmfError",
    "ConfigError",
    "ConflictError",
    "GitError",
    "InvalidInputError",
    "NotFoundError",
    "StoreError",
    "SyncError",
]


class CmfWarning(UserWarning):
    """Something was recorded with less than usual (no Git, a path outside the project, …)."""


__all__ += ["CmfWarning"]


def warn_user(message: str) -> None:
    """Issue a :class:`CmfWarning` attributed to the first caller outside cmf_core.

    So the warning names the user's line (``train.py:12``), not cmf's internals,
    however deep in the library it was raised.
    """
    import sys
    import warnings

    package = __name__.rpartition(".")[0] + "."
    frame, level = sys._getframe(1), 2  # stacklevel 2 names warn_user's caller
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        (package, "contextlib")  # cmf's frames, and `with cmf.execution(...)`'s plumbing
    ):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, CmfWarning, stacklevel=level)


__all__ += ["warn_user"]
