"""What every `cmf` command shares: error translation, settings, the store, JSON output."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from cmf_core.errors import CmfError

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.store import Store

P = ParamSpec("P")
R = TypeVar("R")


def translate_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn every CmfError into ``Error: message`` on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CmfError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def settings(ctx: click.Context) -> "Settings":
    """The project's settings (with ``--store``), read once per command."""
    root = ctx.find_root()
    if "cmf.settings" not in root.meta:
        from dataclasses import replace

        from cmf_core.config import load_settings

        loaded = load_settings()
        url = root.params.get("store")
        root.meta["cmf.settings"] = replace(loaded, store_url=url) if url else loaded
    found: Settings = root.meta["cmf.settings"]
    return found


@contextmanager
def open_store(ctx: click.Context) -> Iterator["Store"]:
    from cmf_core.config import prepare_default_store
    from cmf_core.store import Store

    found = settings(ctx)
    prepare_default_store(found)
    with Store(found.store_url) as store:
        yield store


def print_json(value: Any) -> None:
    """Print records as JSON; NaN and infinities (invalid in JSON) become null."""
    import math

    from pydantic import BaseModel

    def plain(obj: Any) -> Any:
        if isinstance(obj, BaseModel):
            return plain(obj.model_dump(mode="json"))
        if isinstance(obj, dict):
            return {key: plain(item) for key, item in obj.items()}
        if isinstance(obj, list | tuple):
            return [plain(item) for item in obj]
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        return obj

    click.echo(json.dumps(plain(value), indent=2, ensure_ascii=False, allow_nan=False))
