"""What every framework adapter shares: recording that never stops training, JSON params."""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cmf_core.errors import warn_user


class RecordingGuard:
    """Runs recording calls; the first failure warns once, later ones are silent.

    A failed step-metric write leaves the values buffered in the ``Run``, so they
    reach the store at the next flush that succeeds (or the end).
    """

    def __init__(self) -> None:
        self.has_warned = False

    def __call__(self, record: Callable[[], Any]) -> None:
        try:
            record()
        except Exception as exc:
            self.failed(exc)

    def failed(self, exc: Exception) -> None:
        """Report a recording call that raised ``exc`` (warns the first time only)."""
        if not self.has_warned:
            self.has_warned = True
            warn_user(
                f"cmf could not record to its store ({exc}); training goes on and "
                "buffered step metrics are written at the next flush."
            )


def json_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON: numbers, strings and the like as they are, the rest as text."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        try:
            json.dumps(value, allow_nan=False)
            result[str(key)] = value
        except (TypeError, ValueError):
            result[str(key)] = str(value) if isinstance(value, Path) else repr(value)
    return result
