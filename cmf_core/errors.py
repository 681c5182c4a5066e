"""The one exception tree of cmf, and the fields every error carries.

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

A message is a sentence that is true on every surface: what failed, and the
id or path. What to do next differs by surface (the CLI says "`cmf ls
executions` lists them", the MCP server "call search_executions"), so the
message does not say it; the error carries fields each surface turns into its
own hint:

- ``kind``: what the error is about — a :class:`Kind` (``execution``,
  ``artifact``, ``schema``, …);
- ``reference``: the id, digest, name or path that was asked for;
- ``matches``: recorded values near it (or the candidates an ambiguous
  prefix matches);
- ``choices``: the valid values, when the input had to be one of them;
- ``paths`` and ``store``: the file-system paths and the store URL the
  message names. The message writes them as placeholders — ``{path}`` (the
  ``path=`` argument), any other name given in ``paths=`` (``{target}``), and
  ``{store}``; ``str(error)`` fills in the values, and a surface that must not
  show them (the MCP server shows no path outside the project and no store
  URL) renders the error with its own stand-ins through
  :meth:`CmfError.render`.

Third-party exceptions are wrapped once, where the library is called
(``raise StoreError(...) from exc``).
"""

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum


class Kind(StrEnum):
    """What an error is about; each surface keys its next-step hint on it."""

    EXECUTION = "execution"
    ARTIFACT = "artifact"
    REFERENCE = "reference"  # an execution id, a digest or a path: any of them
    PIPELINE = "pipeline"
    STAGE = "stage"
    METRIC = "metric"
    TOKEN = "token"
    SCOPE = "scope"
    PATH = "path"
    PROJECT = "project"
    STORE = "store"
    SCHEMA = "schema"  # the store's schema is older than this cmf: it needs an upgrade
    FILTER = "filter"
    CURSOR = "cursor"
    VALUE = "value"


def _shown(value: str) -> str:
    return value


class CmfError(Exception):
    """Root of every error cmf raises on purpose.

    ``CmfError("No execution matches {path}.", path="/x")`` — see the module
    docstring for the fields.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: Kind | None = None,
        reference: str | None = None,
        matches: Sequence[str] = (),
        choices: Sequence[str] = (),
        path: str | None = None,
        paths: Mapping[str, str] | None = None,
        store: str | None = None,
    ) -> None:
        self.message = message
        self.kind = kind
        self.reference = reference
        self.matches = tuple(matches)
        self.choices = tuple(choices)
        self.paths = {**(paths or {}), **({"path": path} if path is not None else {})}
        self.store = store
        super().__init__(self.render())

    @property
    def path(self) -> str | None:
        """The main path the message names (``{path}``), if any."""
        return self.paths.get("path")

    def render(
        self,
        *,
        path: Callable[[str], str] = _shown,
        store: Callable[[str], str] = _shown,
    ) -> str:
        """The message with its paths and ``{store}`` shown by the given functions."""
        text = self.message
        for name, value in self.paths.items():
            text = text.replace("{" + name + "}", path(value))
        if self.store is not None:
            text = text.replace("{store}", store(self.store))
        return text

    def __str__(self) -> str:
        return self.render()

    @property
    def next_step(self) -> str | None:
        """What to do next, named apart from how a surface says it (its hint table's key).

        ``find:<kind>`` — look among the records there are; ``token`` — get a
        valid token; ``upgrade`` — upgrade the store's schema; ``lineage`` — an
        execution was given where an artifact was needed, so show its lineage.
        """
        if isinstance(self, NotFoundError) and self.kind is not None:
            return f"find:{self.kind}"
        if isinstance(self, AuthError) and self.kind is Kind.TOKEN:
            return "token"
        if isinstance(self, StoreError) and self.kind is Kind.SCHEMA:
            return "upgrade"
        if isinstance(self, InvalidInputError) and self.kind is Kind.EXECUTION and not self.matches:
            return "lineage"
        return None


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


class CmfWarning(UserWarning):
    """Something was recorded with less than usual (no Git, a path outside the project, …)."""


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


__all__ = [
    "ArtifactError",
    "AuthError",
    "CmfError",
    "CmfWarning",
    "ConfigError",
    "ConflictError",
    "GitError",
    "InvalidInputError",
    "Kind",
    "NotFoundError",
    "StoreError",
    "SyncError",
    "warn_user",
]
