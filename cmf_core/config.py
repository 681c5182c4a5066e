"""Settings: the only code that reads ``os.environ`` and ``.cmf/config.toml``.

Surfaces (the CLI, the MCP server, the team server) and the ``Cmf`` façade call
:func:`load_settings`; the rest of the library takes plain arguments.

Where things are found:

- **project root** — the nearest folder, upwards from the start folder, that
  contains ``.cmf/`` (made by ``cmf init``); else the root of the Git work tree;
  else the start folder itself.
- **store URL** — ``CMF_STORE_URL``, else ``store_url`` in ``.cmf/config.toml``,
  else the SQLite file ``.cmf/metadata.db`` under the project root.
- **site** — ``CMF_SITE``, else ``site`` in ``.cmf/config.toml``, else the host name.
- **artifact cache** — whether logged inputs and outputs are copied into the
  content store (``CMF_CACHE_INPUTS`` / ``CMF_CACHE_OUTPUTS`` or
  ``cache_inputs`` / ``cache_outputs``: ``"true"`` or ``"false"``, both true by
  default), and how (``CMF_CACHE_TYPE`` or ``cache_type``, like DVC's
  ``cache.type``: ``"reflink,copy"`` by default); see :mod:`cmf_core.artifacts.cache`.
- **stale runs** — ``CMF_STALE_AFTER`` or ``stale_after`` (``"15m"`` by default): how long
  a running execution recorded on another host may stay silent before it shows as stale
  (:mod:`cmf_core.stale`).
- **remotes** — ``[remote.NAME]`` tables (``url = …`` and options) and
  ``default_remote``; see :mod:`cmf_core.artifacts.remotes`.
- **redaction** — ``[redact]`` with ``enabled`` (true by default; ``CMF_REDACT``
  wins) and ``patterns``, regular expressions of more secrets to replace before
  anything is stored; see :mod:`cmf_core.redact`.
- **team servers and federation peers** — ``[server.NAME]`` and ``[peer.NAME]``
  tables (``url``, ``token``) and ``default_server``, in the untracked
  ``config.local.toml``; see :mod:`cmf_core.sync.servers`.

``.cmf/config.toml`` may be committed, so keep passwords out of it: put a
credentialed URL in ``CMF_STORE_URL`` (or in the untracked
``.cmf/config.local.toml``, read after ``config.toml`` and winning over it).
"""

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cmf_core.errors import ConfigError, InvalidInputError, Kind

CMF_DIR = ".cmf"
CONFIG_FILES = ("config.toml", "config.local.toml")
KNOWN_KEYS = frozenset(
    {
        "store_url",
        "site",
        "cache_inputs",
        "cache_outputs",
        "cache_type",
        "default_remote",
        "default_server",
        "default_peer",
        "stale_after",
    }
)
TABLES = frozenset({"remote", "server", "peer"})  # tables of tables, read by read_config_tables
REDACT = "redact"  # [redact] enabled = true|false, patterns = ["regex", …]: see read_redact


@dataclass(frozen=True, slots=True)
class Settings:
    project_root: Path
    store_url: str
    site: str
    cache_inputs: bool = True
    cache_outputs: bool = True
    cache_type: str = "reflink,copy"
    redact_enabled: bool = True
    redact_patterns: tuple[str, ...] = ()
    stale_after: timedelta = timedelta(minutes=15)


def find_project_root(start: Path | None = None) -> Path:
    """The project root for ``start`` (default: the current folder); see the module docstring."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CMF_DIR).is_dir():
            return folder
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file at ``path``; '%', '?' and '#' in folder names are escaped."""
    escaped = str(path).replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    return f"sqlite:///{escaped}"


def default_store_url(project_root: Path) -> str:
    return sqlite_url(project_root / CMF_DIR / "metadata.db")


def _anchored(url: str, project_root: Path) -> str:
    """A relative SQLite path in a config file is relative to the project root, not the cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return f"{prefix}{project_root}/{url.removeprefix(prefix)}"
    return url


def read_config_files(project_root: Path) -> dict[str, str]:
    """The merged ``[config.toml, config.local.toml]`` of a project (later files win)."""
    merged: dict[str, str] = {}
    for name in CONFIG_FILES:
        path = project_root / CMF_DIR / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"Cannot read {{path}}: {exc}. Fix or delete the file.",
                kind=Kind.PATH,
                path=str(path),
            ) from exc
        unknown = set(data) - KNOWN_KEYS - TABLES - {REDACT}
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) {', '.join(sorted(unknown))} in {{path}}; "
                f"known settings are {', '.join(sorted(KNOWN_KEYS | TABLES | {REDACT}))}.",
                kind=Kind.VALUE,
                choices=sorted(KNOWN_KEYS | TABLES | {REDACT}),
                path=str(path),
            )
        for key, value in data.items():
            if key in TABLES or key == REDACT:
                continue
            if not isinstance(value, str) or not value:
                raise ConfigError(
                    f"Setting {key!r} in {{path}} must be a non-empty string.",
                    kind=Kind.VALUE,
                    path=str(path),
                )
            merged[key] = value
    return merged


def load_settings(
    start: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings for the project around ``start`` from files and ``CMF_*`` variables."""
    env = os.environ if environ is None else environ
    root = find_project_root(start)
    files = read_config_files(root)
    from_file = files.get("store_url")
    store_url = (
        env.get("CMF_STORE_URL")
        or (from_file and _anchored(from_file, root))
        or default_store_url(root)
    )
    site = env.get("CMF_SITE") or files.get("site") or socket.gethostname()
    redact_enabled, redact_patterns = read_redact(root)
    if env.get("CMF_REDACT"):
        redact_enabled = _flag(env["CMF_REDACT"])
    return Settings(
        project_root=root,
        store_url=store_url,
        site=site,
        cache_inputs=_flag(env.get("CMF_CACHE_INPUTS") or files.get("cache_inputs", "true")),
        cache_outputs=_flag(env.get("CMF_CACHE_OUTPUTS") or files.get("cache_outputs", "true")),
        cache_type=env.get("CMF_CACHE_TYPE") or files.get("cache_type") or "reflink,copy",
        stale_after=_duration(env.get("CMF_STALE_AFTER") or files.get("stale_after") or "15m"),
        redact_enabled=redact_enabled,
        redact_patterns=redact_patterns,
    )


def read_redact(project_root: Path) -> tuple[bool, tuple[str, ...]]:
    """``[redact]`` of the config files: (enabled, extra patterns). Redaction is on unless a
    file says ``enabled = false``; the files' patterns add up (see :mod:`cmf_core.redact`)."""
    enabled, patterns = True, ()
    for name in CONFIG_FILES:
        path = project_root / CMF_DIR / name
        if not path.is_file():
            continue
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get(REDACT, {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {exc}. Fix or delete the file.") from exc
        given = table.get("patterns", []) if isinstance(table, dict) else None
        if (
            not isinstance(table, dict)
            or set(table) - {"enabled", "patterns"}
            or not isinstance(table.get("enabled", True), bool)
            or not isinstance(given, list)
            or not all(isinstance(p, str) and p for p in given)
        ):
            raise ConfigError(
                f'[redact] in {path} takes `enabled = true|false` and `patterns = ["regex", '
                "…]` (regular expressions of more secrets to replace with ***).",
                kind=Kind.VALUE,
            )
        enabled = table.get("enabled", enabled)
        patterns = (*patterns, *given)
    return enabled, patterns


def _duration(text: str) -> timedelta:
    from cmf_core.duration import parse_duration

    try:
        return parse_duration(text, what="stale_after")
    except InvalidInputError as exc:
        raise ConfigError(str(exc)) from None


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{text!r} is not a yes/no setting; use 'true' or 'false'.")


def read_config_tables(
    project_root: Path, table: str
) -> tuple[dict[str, tuple[dict[str, str], str]], str | None]:
    """The ``[table.NAME]`` entries of the config files, later files winning, and the
    ``default_remote`` setting: ({NAME: (options, file it came from)}, default)."""
    found: dict[str, tuple[dict[str, str], str]] = {}
    default: str | None = None
    for name in CONFIG_FILES:
        path = project_root / CMF_DIR / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {exc}. Fix or delete the file.") from exc
        default = data.get("default_remote", default)
        entries = data.get(table, {})
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise ConfigError(f"[{table}] in {path} must hold tables: [{table}.NAME] url = …")
        for entry, options in entries.items():
            found[entry] = ({str(k): str(v) for k, v in options.items()}, f"{CMF_DIR}/{name}")
    return found, default


def write_remote_table(
    project_root: Path,
    name: str,
    options: Mapping[str, str],
    *,
    default: bool,
    table: str = "remote",
) -> str:
    """Add ``[TABLE.NAME]`` to the untracked ``.cmf/config.local.toml`` (made if missing);
    with ``default``, set ``default_TABLE``. Returns the file written (relative)."""
    import json

    cmf_dir = init_project(project_root)
    path = cmf_dir / CONFIG_FILES[1]
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        current = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}. Fix or delete the file.") from exc
    if name in current.get(table, {}):
        raise ConfigError(
            f"A {table} named {name!r} is already defined in {path}; edit or remove it there."
        )
    lines = text.splitlines()
    if default:  # a top-level key must come before the first table
        lines = [line for line in lines if not line.strip().startswith(f"default_{table}")]
        lines.insert(0, f"default_{table} = {json.dumps(name)}")
    entry = [f"[{table}.{json.dumps(name)}]"]
    entry += [f"{json.dumps(key)} = {json.dumps(value)}" for key, value in options.items()]
    body = "\n".join(lines).rstrip("\n")
    text = (body + "\n\n" if body else "") + "\n".join(entry) + "\n"
    try:
        tomllib.loads(text)
        path.write_text(text, encoding="utf-8")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot write {path}: {exc}.") from exc
    return f"{CMF_DIR}/{CONFIG_FILES[1]}"


def remove_config_table(project_root: Path, table: str, name: str) -> bool:
    """Remove ``[TABLE.NAME]`` (and ``default_TABLE`` if it names it) from the untracked
    ``.cmf/config.local.toml``; False when it is not there."""
    import json

    path = project_root / CMF_DIR / CONFIG_FILES[1]
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        current = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}. Fix or delete the file.") from exc
    if name not in current.get(table, {}):
        return False
    kept: list[str] = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            header = stripped.strip("[]").strip()
            inside = header in (f"{table}.{json.dumps(name)}", f"{table}.{name}")
        if inside:
            continue
        if current.get(f"default_{table}") == name and stripped.startswith(f"default_{table}"):
            continue
        kept.append(line)
    text = "\n".join(kept).rstrip("\n") + "\n"
    if name in tomllib.loads(text).get(table, {}):
        raise ConfigError(f"Cannot remove [{table}.{name}] from {path}; edit the file by hand.")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write {path}: {exc}.") from exc
    return True


def prepare_default_store(settings: Settings) -> None:
    """Before the project's own SQLite store is first made, give it a ``.cmf/`` that Git ignores."""
    if settings.store_url == default_store_url(settings.project_root):
        cmf_dir = settings.project_root / CMF_DIR
        if not (cmf_dir / ".gitignore").exists():
            init_project(settings.project_root)


def init_project(folder: Path) -> Path:
    """Make ``folder/.cmf`` (idempotent) with a ``.gitignore`` that keeps the store out of Git."""
    cmf_dir = folder / CMF_DIR
    try:
        cmf_dir.mkdir(parents=True, exist_ok=True)
        ignore = cmf_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text(
                "# Written by `cmf init`: the store, caches and local secrets stay out of Git.\n"
                "metadata.db*\ncache/\nconfig.local.toml\n",
                encoding="utf-8",
            )
    except OSError as exc:
        raise ConfigError(f"Cannot create {cmf_dir}: {exc.strerror}. Check permissions.") from exc
    return cmf_dir
