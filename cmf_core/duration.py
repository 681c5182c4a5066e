"""Durations as people write them: ``90s``, ``15m``, ``2h``, ``30d``, ``1w`` (or a bare
number of seconds), for settings and command options such as ``--older-than 2h``."""

import re
from datetime import timedelta

from cmf_core.errors import InvalidInputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
MAX_SECONDS = 100 * 365 * 86400  # a hundred years: anything longer is a typo


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """The duration ``text`` names; a clear error for anything else."""
    match = _PATTERN.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"{what} {text!r} is not a duration; write a number and a unit, "
            "e.g. 90s, 15m, 2h, 30d or 1w."
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds > MAX_SECONDS:
        raise InvalidInputError(f"{what} {text!r} is longer than a hundred years.")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A short reading of ``delta``: ``45s``, ``12m``, ``3h 5m``, ``2d 4h``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


__all__ = ["format_duration", "parse_duration"]
