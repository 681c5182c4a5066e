"""Reading a step's params file (``params.yaml``, ``params.json``, ``params.toml``)."""

import json
import tomllib
from pathlib import Path
from typing import Any

from cmf_core.errors import InvalidInputError, Kind


def read_params_file(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML, JSON or TOML file (by its suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"Cannot read the params file {{path}}: {getattr(exc, 'strerror', None) or exc}.",
            kind=Kind.PATH,
            path=str(path),
        ) from exc
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InvalidInputError(
                "A params file is .yaml, .yml, .json or .toml; {path} is none of them.",
                kind=Kind.PATH,
                path=str(path),
            )
    except InvalidInputError:
        raise
    except Exception as exc:  # yaml, toml and json each raise their own parse error
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(
            f"The params file {{path}} cannot be parsed: {first_line}.",
            kind=Kind.PATH,
            path=str(path),
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(
            "The params file {path} must hold a mapping of name -> value at its top level.",
            kind=Kind.PATH,
            path=str(path),
        )
    return {str(key): value for key, value in data.items()}
