"""How cmflib's arguments become cmf's: properties made JSON-ready, metric rows checked as
numbers, names that become file names, local paths only, and the script's stage name.

cmflib accepts values JSON cannot hold and stores their ``str()``; so does cmf.
Metric values must be numbers (a bool is not one). A dataslice or metrics name
becomes a file name under ``cmf_artifacts/``, so it may not hold a path. A
remote URL is refused: cmf names an artifact by the digest of bytes it reads.
"""

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cmf_core.errors import InvalidInputError

Props = Mapping[str, Any] | None


def script_stage() -> str:
    """cmflib's default stage and execution name: the running script's name without suffix."""
    name = Path(sys.argv[0]).stem if sys.argv else ""
    return name if name and not name.startswith("-") else "default"


def check_local(url: str, method: str) -> None:
    if "://" in str(url):
        raise InvalidInputError(
            f"{method} needs a local file or folder, not {url}: cmf names an artifact by the "
            f"digest of its bytes. Fetch it first (e.g. `dvc import-url {url} data/`) and log "
            "the local copy."
        )


def file_name(name: str, what: str) -> str:
    if (
        not isinstance(name, str)
        or name.strip() in {"", ".", ".."}
        or any(c in name for c in "/\\")
    ):
        raise InvalidInputError(
            f"A {what} name becomes a file name; use a plain one such as 'training', not {name!r}."
        )
    return name


def plain(values: Props) -> dict[str, Any]:
    """JSON-ready properties: values JSON cannot hold become their str(), as in cmflib."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInputError(f"Properties must be a mapping of name -> value, not {values!r}.")
    return {str(key): json.loads(json.dumps(value, default=str)) for key, value in values.items()}


def numbers(values: Props, method: str, metrics_name: str) -> dict[str, float]:
    if not isinstance(metrics_name, str) or not metrics_name.strip():
        raise InvalidInputError(f"{method} needs a metrics_name, e.g. 'training_metrics'.")
    if values is not None and not isinstance(values, Mapping):
        raise InvalidInputError(f"{method} takes a mapping of name -> number, not {values!r}.")
    found: dict[str, float] = {}
    for key, value in (values or {}).items():
        try:
            if isinstance(value, bool):
                raise TypeError
            found[str(key)] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{method}({metrics_name!r}, …): {key!r} must be a number, not "
                f"{type(value).__name__} {value!r}; put other values in update_execution()."
            ) from None
    return found


def separate_store(filepath: str | Path) -> str | None:
    """The store cmflib's ``filepath`` asks for: a URL (``sqlite:///…``,
    ``postgresql+psycopg://…``) or a path ending in ``.db`` names one; anything
    else — cmflib's ``"mlmd"`` — means the project's own store (None)."""
    from cmf_core.config import sqlite_url

    text = str(filepath)
    if "://" in text:
        return text
    if Path(text).suffix == ".db":
        return sqlite_url(Path(text).expanduser().resolve())
    return None
