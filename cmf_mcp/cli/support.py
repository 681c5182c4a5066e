"""What every `cmf` command shares: the one error translation, settings, the store, JSON output.

Errors are translated once, by :class:`CmfGroup` (and :class:`CmfCommand` for the
stand-alone ``cmf-mcp``): a ``CmfError`` raised anywhere under a command prints
``Error: …`` on stderr and exits 1; click's own usage errors exit 2. An ``OSError``
(a file name too long, a folder that cannot be made) prints as one such line too,
and so, as a last resort, does any other exception: no traceback reaches the user.
Output never fails on a name that is not UTF-8: it is printed escaped.
"""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


def escape_unencodable_output() -> None:
    """Print a surrogate (a file name that is not UTF-8) as ``\\udcXX`` instead of failing."""
    import io

    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


@contextmanager
def one_error_line() -> Iterator[None]:
    """Library errors, OS errors and (last resort) anything else as one ``Error: …`` line."""
    try:
        yield
    except CmfError as exc:
        raise cli_error(exc) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}.") from None
    except Exception as exc:
        raise click.ClickException(
            f"cmf failed unexpectedly ({type(exc).__name__}: {str(exc)[:300]}). This is a bug "
            "in cmf: please report it with the command you ran."
        ) from None


class CmfCommand(click.Command):
    """A command whose errors print as one ``Error: …`` line (``cmf-mcp``)."""

    def invoke(self, ctx: click.Context) -> Any:
        escape_unencodable_output()
        with one_error_line():
            return super().invoke(ctx)


class CmfGroup(click.Group):
    """The ``cmf`` group: every subcommand's errors are translated here, once."""

    def invoke(self, ctx: click.Context) -> Any:
        escape_unencodable_output()
        with one_error_line():
            return super().invoke(ctx)


def settings(ctx: click.Context) -> "Settings":
    """The project's settings (with ``--store``), read once per command."""
    root = ctx.find_root()
    if "cmf.settings" not in root.meta:
        from dataclasses import replace

        from cmf_core.config import load_settings

        loaded = load_settings()
        url = root.params.get("store")
        if url:
            url = store_url(url, loaded.project_root)
        root.meta["cmf.settings"] = replace(loaded, store_url=url) if url else loaded
    found: Settings = root.meta["cmf.settings"]
    return found


def store_url(given: str, project_root: "Path") -> str:
    """``--store``: a URL as it is, or a plain file path (cmflib's ``-f mlmd``) resolved
    against the project root."""
    if "://" in given:
        return given
    from cmf_core.config import sqlite_url

    return sqlite_url((project_root / Path(given).expanduser()).resolve())


# Commands that only read the store: they open it read-only, so they never create a store,
# a folder or a file, never switch a database's journal mode and never run DDL.
READ_COMMANDS = frozenset(
    {
        "ls",
        "show",
        "lineage",
        "trace",
        "impact",
        "compare",
        "metrics",
        "reproduce",
        "export",
        "card",
        "audit",
        "stats",
    }
)
# Commands that may only read (``artifact status`` writes just the md5s it read to its
# cache; ``runs close-stale --dry-run`` nothing): they open the store for writing where
# they can, and read-only where they cannot.
READ_MOSTLY_COMMANDS = frozenset({"status", "close-stale"})
NO_STORE = "No cmf store here — `cmf init` makes one."


@contextmanager
def open_store(ctx: click.Context) -> Iterator["Store"]:
    """The project's store; read commands (:data:`READ_COMMANDS`) open it read-only."""
    from cmf_core.config import default_store_url, prepare_default_store
    from cmf_core.errors import Kind, NotFoundError, StoreError
    from cmf_core.redact import Redactor
    from cmf_core.store import Store

    found = settings(ctx)
    if ctx.info_name not in READ_COMMANDS:
        try:
            prepare_default_store(found)
            writable = Store(found.store_url, redactor=Redactor.from_settings(found))
        except (StoreError, OSError):
            if ctx.info_name not in READ_MOSTLY_COMMANDS:
                raise
        else:
            with writable as store:
                yield store
            return

    root = found.project_root
    is_default = found.store_url == default_store_url(root)
    if is_default and root == Path(root.anchor):
        raise NotFoundError(f"{NO_STORE} A filesystem root is not a project.", kind=Kind.PROJECT)
    try:
        opened = Store(found.store_url, read_only=True)
    except NotFoundError as exc:
        if exc.kind is Kind.PROJECT:
            _hint_mlmd(root)
        raise
    with opened as store:
        yield store
        if store.count("executions") == 0:
            _hint_mlmd(root)


def _hint_mlmd(project_root: "Path") -> None:
    """When a read finds nothing, name a cmflib mlmd file found at the project root."""
    from cmf_core.cmflib.mlmd import find_mlmd_file

    found = find_mlmd_file(project_root)
    if found is not None:
        click.echo(
            f"The project holds {found.name}, earlier runs recorded by cmflib: this is an HPE "
            f"CMF file: `cmf import-mlmd {found.name}` brings them in.",
            err=True,
        )


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
