"""What every `cmf` command shares: the one error translation, settings, the store, JSON output.

Errors are translated once, by :class:`CmfGroup` (and :class:`CmfCommand` for the
stand-alone ``cmf-mcp``): a ``CmfError`` raised anywhere under a command prints
``Error: …`` on stderr and exits 1; click's own usage errors exit 2.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from cmf_core.errors import CmfError

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.store import Store

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


HINTS = {
    "find:execution": "`cmf ls executions` lists them.",
    "find:artifact": "`cmf ls artifacts` lists them with their paths.",
    "find:reference": "`cmf ls executions` and `cmf ls artifacts` list what there is.",
    "find:pipeline": "`cmf ls pipelines` lists them.",
    "find:stage": "`cmf ls stages` lists them.",
    "find:token": "`cmf token list` lists them.",
    "token": "`cmf token list` shows the tokens; `cmf token create` makes one.",
    "upgrade": "Run `cmf db upgrade` (back up the database first).",
    "lineage": "`cmf lineage {reference}` shows an execution's lineage.",
}


def next_step(exc: CmfError) -> str:
    """The command to run next, from the error's own next step ("" when it has none)."""
    hint = HINTS.get(exc.next_step or "", "")
    return hint.replace("{reference}", (exc.reference or "ID")[:13])


def cli_error(exc: CmfError) -> click.ClickException:
    """The click error for a library error: message and next step, printed as ``Error: …``."""
    return click.ClickException(" ".join(part for part in (str(exc), next_step(exc)) if part))


class CmfCommand(click.Command):
    """A command whose library errors print as one ``Error: …`` line (``cmf-mcp``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CmfError as exc:
            raise cli_error(exc) from None


class CmfGroup(click.Group):
    """The ``cmf`` group: every subcommand's library errors are translated here, once."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CmfError as exc:
            raise cli_error(exc) from None


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
    from datetime import datetime

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
        if isinstance(obj, datetime):
            return obj.isoformat()
        return obj

    click.echo(json.dumps(plain(value), indent=2, ensure_ascii=False, allow_nan=False))
