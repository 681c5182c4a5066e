"""Read a DVC repository's own settings: its cache folder and its remotes.

A project that is a DVC repository (it has a ``.dvc/`` folder) keeps its bytes
where DVC does: the cache in ``.dvc/cache`` (or the folder ``cache.dir`` names)
and the remotes of ``.dvc/config`` and the untracked ``.dvc/config.local``
(which wins, as in DVC). The files are configobj INI; DVC writes section names
as ``['remote "name"']`` and indents keys, which :mod:`configparser` reads once
the indentation is stripped (DVC's config never continues a value on a second
line). Nothing here imports DVC.
"""

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from cmf_core.errors import ConfigError

DVC_DIR = ".dvc"
DVC_CONFIG_FILES = ("config", "config.local")


@dataclass(frozen=True, slots=True)
class DvcConfig:
    cache_dir: Path | None
    """The cache folder ``cache.dir`` names (absolute), or None for the default."""
    default_remote: str | None
    remotes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Remote name → its options (``url``, ``endpointurl``, ``access_key_id``, …)."""


def is_dvc_repo(project_root: Path) -> bool:
    return (project_root / DVC_DIR).is_dir()


def read_dvc_config(project_root: Path) -> DvcConfig:
    """The merged ``.dvc/config`` and ``.dvc/config.local`` of ``project_root``."""
    sections: dict[str, dict[str, str]] = {}
    for name in DVC_CONFIG_FILES:
        path = project_root / DVC_DIR / name
        if not path.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            text = "\n".join(line.strip() for line in path.read_text("utf-8").splitlines())
            parser.read_string(text, source=str(path))
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise ConfigError(f"Cannot read DVC's config {path}: {exc}.") from exc
        for section in parser.sections():
            key = section.strip().strip("'").strip()
            sections.setdefault(key, {}).update(
                {option: _unquote(value) for option, value in parser.items(section)}
            )
    remotes = {
        key.split(" ", 1)[1].strip().strip('"'): options
        for key, options in sections.items()
        if key.startswith("remote ")
    }
    core = sections.get("core", {})
    cache = sections.get("cache", {}).get("dir")
    cache_dir = None
    if cache:
        given = Path(cache).expanduser()
        cache_dir = given if given.is_absolute() else project_root / DVC_DIR / given
    return DvcConfig(
        cache_dir=cache_dir, default_remote=core.get("remote") or None, remotes=remotes
    )


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


__all__ = ["DVC_DIR", "DvcConfig", "is_dvc_repo", "read_dvc_config"]
