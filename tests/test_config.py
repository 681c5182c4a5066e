"""Settings: project root discovery, config files, environment variables."""

from pathlib import Path

import pytest

from cmf_core.config import (
    default_store_url,
    find_project_root,
    init_project,
    load_settings,
    prepare_default_store,
)
from cmf_core.errors import ConfigError


def test_the_project_root_is_the_nearest_folder_with_cmf(tmp_path: Path) -> None:
    (tmp_path / "outer" / ".git").mkdir(parents=True)
    (tmp_path / "outer" / "inner" / ".cmf").mkdir(parents=True)
    (tmp_path / "outer" / "inner" / "src").mkdir()
    assert find_project_root(tmp_path / "outer" / "inner" / "src") == tmp_path / "outer" / "inner"


def test_without_cmf_the_git_work_tree_is_the_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "repo" / "a" / "b") == tmp_path / "repo"


def test_with_neither_the_start_folder_is_the_root(tmp_path: Path) -> None:
    assert find_project_root(tmp_path) == tmp_path


def test_settings_come_from_files_then_the_environment(tmp_path: Path) -> None:
    init_project(tmp_path)
    (tmp_path / ".cmf" / "config.toml").write_text(
        'store_url = "sqlite:////tmp/team.db"\nsite = "edge-7"\n'
    )
    (tmp_path / ".cmf" / "config.local.toml").write_text('site = "edge-8"\n')
    settings = load_settings(tmp_path, environ={})
    assert (settings.store_url, settings.site) == ("sqlite:////tmp/team.db", "edge-8")
    from_env = load_settings(
        tmp_path, environ={"CMF_STORE_URL": "postgresql+psycopg://db/cmf", "CMF_SITE": "dc"}
    )
    assert (from_env.store_url, from_env.site) == ("postgresql+psycopg://db/cmf", "dc")


def test_the_default_store_is_in_the_project(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.store_url == default_store_url(tmp_path)
    assert settings.site


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("store_url = ", "Cannot read"),
        ('colour = "blue"', "Unknown setting"),
        ("site = 3", "must be a non-empty string"),
    ],
)
def test_a_bad_config_file_names_the_file_and_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    init_project(tmp_path)
    (tmp_path / ".cmf" / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(tmp_path, environ={})
    assert "config.toml" in str(caught.value)


def test_init_is_idempotent_and_keeps_the_store_out_of_git(tmp_path: Path) -> None:
    init_project(tmp_path)
    (tmp_path / ".cmf" / ".gitignore").write_text("custom\n")
    init_project(tmp_path)
    assert (tmp_path / ".cmf" / ".gitignore").read_text() == "custom\n"


def test_the_default_store_gets_a_gitignore_before_it_is_made(tmp_path: Path) -> None:
    prepare_default_store(load_settings(tmp_path, environ={}))
    assert "metadata.db" in (tmp_path / ".cmf" / ".gitignore").read_text()
    other = tmp_path / "other"
    other.mkdir()
    prepare_default_store(load_settings(other, environ={"CMF_STORE_URL": "sqlite:////x.db"}))
    assert not (other / ".cmf").exists()


def test_an_unwritable_project_folder_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="Cannot create"):
        init_project(blocker)


def test_a_project_folder_with_url_characters_keeps_its_store_inside(tmp_path: Path) -> None:
    from cmf_core.store import Store

    root = tmp_path / "odd?dir" / "pct%41 #x"
    root.mkdir(parents=True)
    with Store(default_store_url(root)) as store:
        store.ensure_stage("p", "s")
    assert (root / ".cmf" / "metadata.db").is_file()


def test_a_relative_store_path_in_config_is_relative_to_the_project(tmp_path: Path) -> None:
    init_project(tmp_path)
    (tmp_path / ".cmf" / "config.toml").write_text('store_url = "sqlite:///.cmf/team.db"\n')
    (tmp_path / "src").mkdir()
    settings = load_settings(tmp_path / "src", environ={})
    assert settings.store_url == f"sqlite:///{tmp_path}/.cmf/team.db"
