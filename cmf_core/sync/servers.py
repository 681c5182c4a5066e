"""Which team server to sync with, and with which token; federation peers of a server.

A client finds its server and token in this order, the first that gives one winning:

1. what the caller passes (``--server`` — a URL or a configured name — and ``--token``);
2. ``CMF_SERVER_URL`` and ``CMF_SERVER_TOKEN``;
3. ``[server.NAME]`` in the untracked ``.cmf/config.local.toml`` (``url``, ``token``):
   the one named by ``default_server``, or the only one there is.

A token is a secret: it is read from a tracked file never. A ``token`` in
``.cmf/config.toml`` (which may be committed) is refused with the way out.
Federation peers are the same kind of entry under ``[peer.NAME]``.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cmf_core.config import (
    CMF_DIR,
    CONFIG_FILES,
    read_config_files,
    read_config_tables,
    remove_config_table,
    write_remote_table,
)
from cmf_core.errors import ConfigError, Kind, SyncError
from cmf_core.sync.client import server_identity

SERVER, PEER = "server", "peer"


@dataclass(frozen=True)
class ServerEntry:
    """A configured server or peer: its name, URL, whether a token is kept, and if default."""

    name: str
    url: str
    has_token: bool
    default: bool


@dataclass(frozen=True)
class Target:
    """A server to talk to: its URL and token, and the configured name if it has one."""

    url: str
    token: str | None
    name: str | None = None


def list_servers(project_root: Path, table: str = SERVER) -> list[ServerEntry]:
    entries, _ = read_config_tables(project_root, table)
    default = read_config_files(project_root).get(f"default_{table}")
    return [
        ServerEntry(
            name=name,
            url=options.get("url", ""),
            has_token=bool(options.get("token")),
            default=name == default,
        )
        for name, (options, _source) in sorted(entries.items())
    ]


def add_server(
    project_root: Path,
    name: str,
    url: str,
    *,
    token: str | None = None,
    default: bool = False,
    table: str = SERVER,
) -> str:
    """Keep ``[TABLE.NAME] url, token`` in ``.cmf/config.local.toml`` (Git ignores it);
    returns the file written."""
    if not name or not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise ConfigError(
            f"{name!r} is not a usable name; use letters, digits, '-' and '_' (e.g. 'team').",
            kind=Kind.VALUE,
        )
    options = {"url": server_identity(url)}
    if token:
        options["token"] = token
    first = not list_servers(project_root, table)
    return write_remote_table(project_root, name, options, default=default or first, table=table)


def remove_server(project_root: Path, name: str, table: str = SERVER) -> None:
    if not remove_config_table(project_root, table, name):
        known = [entry.name for entry in list_servers(project_root, table)]
        raise ConfigError(
            f"No {table} named {name!r} in {CMF_DIR}/{CONFIG_FILES[1]}"
            + (f"; known: {', '.join(known)}." if known else "."),
            kind=Kind.VALUE,
            choices=known,
        )


def resolve_server(
    project_root: Path,
    server: str | None = None,
    token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    table: str = SERVER,
) -> Target:
    """The server and token to use; see the module docstring for the order."""
    # Peers are named only in the config: the CMF_SERVER_* variables are a client's.
    env = (os.environ if environ is None else environ) if table == SERVER else {}
    entries, _ = read_config_tables(project_root, table)
    _refuse_tracked_tokens(entries)
    if server and "://" not in server:
        if server not in entries:
            raise SyncError(
                f"No {table} named {server!r} is configured"
                + (f"; known: {', '.join(sorted(entries))}." if entries else ".")
                + " Give a URL (https://…) or add the name first.",
                kind=Kind.VALUE,
                choices=sorted(entries),
            )
        options = entries[server][0]
        return Target(
            options["url"], token or env.get("CMF_SERVER_TOKEN") or options.get("token"), server
        )
    url = server or env.get("CMF_SERVER_URL")
    if url:
        named = next(
            (n for n, (o, _) in entries.items() if o.get("url") == server_identity(url)), None
        )
        stored = entries[named][0].get("token") if named else None
        return Target(url, token or env.get("CMF_SERVER_TOKEN") or stored, named)
    if not entries:
        raise SyncError(
            "No team server is given: name one by URL, set CMF_SERVER_URL, or configure one "
            f"in {CMF_DIR}/{CONFIG_FILES[1]}."
        )
    default = read_config_files(project_root).get(f"default_{table}")
    name = default if default in entries else (next(iter(entries)) if len(entries) == 1 else None)
    if name is None:
        raise SyncError(
            f"Several servers are configured ({', '.join(sorted(entries))}) and none is the "
            "default: name one.",
            kind=Kind.VALUE,
            choices=sorted(entries),
        )
    options = entries[name][0]
    return Target(
        options["url"], token or env.get("CMF_SERVER_TOKEN") or options.get("token"), name
    )


def _refuse_tracked_tokens(entries: Mapping[str, tuple[dict[str, str], str]]) -> None:
    for name, (options, source) in entries.items():
        if options.get("token") and source.endswith(CONFIG_FILES[0]):
            raise ConfigError(
                f"The token of [{name}] is in {source}, a file Git may track. Move it to "
                f"{CMF_DIR}/{CONFIG_FILES[1]} (Git ignores it) or to CMF_SERVER_TOKEN, and "
                "revoke it if it was ever committed.",
                kind=Kind.VALUE,
            )


__all__ = [
    "PEER",
    "SERVER",
    "ServerEntry",
    "Target",
    "add_server",
    "list_servers",
    "remove_server",
    "resolve_server",
]
