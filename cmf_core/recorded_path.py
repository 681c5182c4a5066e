"""Where a logged file is read from, and the path an event records for it.

A script names an artifact by any path its user can read: relative to the
working folder, absolute, with ``~``, through a symlinked folder. An event
records it relative to the project root, in posix form, so the same file has
the same path on every machine that checks the project out. A path outside the
project root is recorded as given, with a warning. A trailing slash is kept on
the path to read, so the hasher can refuse a file named as a directory.

Paths are recorded as text, so a path that is not valid UTF-8 (a name written in
another encoding) is refused, naming its bytes. Files with such names *inside* a
logged directory are fine: they are hashed as DVC hashes them.
"""

import os
from pathlib import Path

from cmf_core.errors import InvalidInputError, warn_user


def resolve_path(path: str | Path, project_root: Path) -> tuple[Path, str]:
    """(absolute path to read, path to record): relative to the project root when inside it."""
    if not isinstance(path, str | Path) or not str(path).strip():
        raise InvalidInputError("An artifact needs a path to a file or a directory.")
    given = Path(path).expanduser()
    absolute = given if given.is_absolute() else Path.cwd() / given
    absolute = Path(os.path.normpath(absolute))
    recorded = _inside(absolute, project_root)
    if recorded is None:
        # Reached through a symlinked folder (/link/to/project/data.csv)?
        real = Path(os.path.realpath(absolute.parent)) / absolute.name
        recorded = _inside(real, project_root)
        absolute = real if recorded is not None else absolute
    if recorded is None:
        warn_user(
            f"{path} is outside the project root {project_root}; it is recorded "
            "as given. Keep artifacts inside the project so paths match across machines."
        )
        recorded = str(path)
    _check_text(recorded)
    if str(path).endswith(("/", "\\")) and not recorded.endswith("/"):
        absolute = Path(str(absolute) + "/")  # keep the trailing slash for the hasher's check
    return absolute, recorded or "."


def _check_text(recorded: str) -> None:
    """Refuse a path that cannot be recorded as UTF-8 text."""
    try:
        recorded.encode()
    except UnicodeEncodeError:
        raw = os.fsencode(recorded)
        raise InvalidInputError(
            f"The path {raw!r} is not valid UTF-8, so it cannot be recorded; rename it "
            "(e.g. to its UTF-8 spelling), or log the directory that holds it."
        ) from None


def _inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` in posix form, or None when it is not inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None
