"""Remotes: where artifact bytes are kept away from this machine, through DVC's file systems.

A remote is a name and a URL (plus options such as ``endpointurl``): a local
folder or ``file://`` URL, ``s3://bucket/path`` (an S3-compatible store such as
MinIO with ``endpointurl``), ``ssh://host/path``, ``gs://``, ``azure://``,
``http(s)://``. Each is opened with the dvc-objects file system DVC itself
uses (``dvc-s3``, ``dvc-ssh``, … — installed by cmf's ``s3``, ``ssh``, ``gs``,
``azure`` extras), and holds objects in DVC 3's layout (``files/md5/…``), so
``dvc pull`` from the same URL finds what cmf pushed.

Where remotes are defined, later winning: in a DVC repository, DVC's own
``.dvc/config`` and ``.dvc/config.local``; then the ``[remote.NAME]`` tables
of ``.cmf/config.toml`` and ``.cmf/config.local.toml``. ``cmf remote add``
writes to ``.cmf/config.local.toml``, which ``cmf init`` keeps out of Git.
Credentials come only from environment variables (``AWS_ACCESS_KEY_ID``, …,
read by the cloud libraries themselves) or from untracked local config: a
remote in ``.cmf/config.toml`` whose URL holds a password, or whose options
name a secret, is refused.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cmf_core.artifacts.dvc_config import DVC_DIR, is_dvc_repo, read_dvc_config
from cmf_core.config import read_config_tables, write_remote_table
from cmf_core.errors import ConfigError, NotFoundError

SCHEMES = {
    "": "a local folder",
    "file": "a local folder",
    "s3": "dvc-s3 (pip install 'cmf[s3]')",
    "ssh": "dvc-ssh (pip install 'cmf[ssh]')",
    "gs": "dvc-gs (pip install 'cmf[gs]')",
    "azure": "dvc-azure (pip install 'cmf[azure]')",
    "http": "dvc-http",
    "https": "dvc-http",
}
SECRET_OPTIONS = frozenset(
    {
        "password",
        "secret_access_key",
        "access_key_id",
        "session_token",
        "key_secret",
        "connection_string",
        "sas_token",
        "account_key",
        "client_secret",
        "credentialpath",
        "keyfile",
    }
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class Remote:
    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)
    source: str = ""
    """The file that defined it (``.cmf/config.local.toml``, ``.dvc/config``, …)."""

    @property
    def scheme(self) -> str:
        return scheme_of(self.url)

    @property
    def is_local(self) -> bool:
        return self.scheme in ("", "file")

    @property
    def shown_url(self) -> str:
        """The URL with any password replaced by ``***``."""
        return redact_url(self.url)


def scheme_of(url: str) -> str:
    if re.match(r"^[A-Za-z]:[\\/]", url):  # a Windows drive letter, not a scheme
        return ""
    return urlsplit(url).scheme.lower() if "://" in url else ""


def redact_url(url: str) -> str:
    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else "***@"
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


def check_url(url: str) -> str:
    """``url`` if cmf can use it as a remote, else ConfigError saying what is wrong."""
    if not isinstance(url, str) or not url.strip() or "\x00" in url:
        raise ConfigError("A remote needs a URL or a folder, e.g. /mnt/store or s3://bucket/cmf.")
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
        usable = ", ".join(f"{s}://" for s in SCHEMES if s not in ("", "file"))
        raise ConfigError(
            f"Remote URL {redact_url(url)!r} has the scheme {scheme!r}, which cmf cannot use; "
            f"use a folder, file://, {usable}."
        )
    if scheme in ("", "file"):
        return url
    parts = urlsplit(url)
    if not parts.netloc or (scheme in ("s3", "gs", "azure") and not parts.hostname):
        what = {"s3": "bucket", "gs": "bucket", "azure": "container"}.get(scheme, "host")
        raise ConfigError(
            f"Remote URL {redact_url(url)!r} names no {what}; write it as {scheme}://{what}/path."
        )
    return url


def check_name(name: str) -> str:
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ConfigError(
            f"{name!r} cannot name a remote: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def list_remotes(project_root: Path) -> tuple[list[Remote], str | None]:
    """(every remote the project defines, the default one's name); see the module docstring."""
    found: dict[str, Remote] = {}
    default: str | None = None
    if is_dvc_repo(project_root):
        dvc = read_dvc_config(project_root)
        for name, options in dvc.remotes.items():
            url = options.get("url", "")
            if scheme_of(url) == "" and url and not Path(url).expanduser().is_absolute():
                url = str((project_root / DVC_DIR / url).resolve())  # DVC: relative to .dvc/
            rest = {k: v for k, v in options.items() if k != "url"}
            found[name] = Remote(name, url, rest, source=f"{DVC_DIR}/config")
        default = dvc.default_remote
    tables, default_from_cmf = read_config_tables(project_root, "remote")
    for name, (options, source) in tables.items():
        url = options.get("url", "")
        rest = {k: v for k, v in options.items() if k != "url"}
        if source.endswith("config.toml") and not source.endswith("local.toml"):
            _refuse_secrets(name, url, rest, source)
        found[name] = Remote(name, url, rest, source=source)
    return sorted(found.values(), key=lambda r: r.name), default_from_cmf or default


def get_remote(project_root: Path, name: str | None = None) -> Remote:
    """The remote called ``name``, or the default one; NotFoundError naming the known ones."""
    remotes, default = list_remotes(project_root)
    by_name = {r.name: r for r in remotes}
    wanted = name or default or (remotes[0].name if len(remotes) == 1 else None)
    if wanted is None:
        known = ", ".join(by_name) or "none"
        raise NotFoundError(
            f"No remote given and no default remote set (remotes: {known}). Add one with "
            "`cmf remote add NAME URL --default`."
        )
    if wanted not in by_name:
        raise NotFoundError(
            f"No remote named {wanted!r}; the project's remotes are: "
            f"{', '.join(by_name) or 'none'}."
        )
    remote = by_name[wanted]
    check_url(remote.url)
    return remote


def add_remote(
    project_root: Path,
    name: str,
    url: str,
    *,
    options: dict[str, str] | None = None,
    default: bool = False,
) -> Remote:
    """Define a remote in ``.cmf/config.local.toml`` (untracked); returns it."""
    check_name(name)
    check_url(url)
    if scheme_of(url) == "" and not Path(url).expanduser().is_absolute():
        url = str((Path.cwd() / Path(url).expanduser()).resolve())
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    source = write_remote_table(project_root, name, {"url": url, **opts}, default=default)
    return Remote(name, url, opts, source=source)


def _refuse_secrets(name: str, url: str, options: dict[str, str], source: str) -> None:
    secrets = sorted(SECRET_OPTIONS & set(options))
    has_password = "://" in url and urlsplit(url).password is not None
    if secrets or has_password:
        what = ", ".join(secrets) if secrets else "a password in its URL"
        raise ConfigError(
            f"Remote {name!r} in {source} holds {what}; that file may be committed to Git. "
            "Move the secret to .cmf/config.local.toml or to environment variables."
        )


def local_root(remote: Remote) -> str:
    """The absolute folder of a local remote (a path or a ``file://`` URL)."""
    url = check_url(remote.url)
    path = urlsplit(url).path if remote.scheme == "file" else url
    return str(Path(path).expanduser().resolve())


def filesystem_config(remote: Remote) -> tuple[type[Any], dict[str, Any], str]:
    """(dvc-objects file system class, its keyword arguments, the root path) for ``remote``."""
    from dvc_objects.fs import get_fs_cls

    url = check_url(remote.url)
    scheme = remote.scheme
    if scheme in ("", "file"):
        from dvc_objects.fs.local import LocalFileSystem

        return LocalFileSystem, {}, local_root(remote)
    try:
        cls: type[Any] = get_fs_cls({"url": url})  # type: ignore[no-untyped-call]
    except ImportError as exc:
        raise ConfigError(
            f"Remote {remote.name!r} ({remote.shown_url}) needs {SCHEMES[scheme]}: {exc}."
        ) from exc
    kwargs = {**cls._get_kwargs_from_urls(url), **remote.options}
    return cls, kwargs, cls._strip_protocol(url)


__all__ = [
    "SCHEMES",
    "Remote",
    "add_remote",
    "check_url",
    "filesystem_config",
    "get_remote",
    "list_remotes",
    "redact_url",
]
