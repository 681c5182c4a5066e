"""Real fixtures: SQLite files in tmp_path, a throwaway PostgreSQL database, real Git repos."""

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "CMF_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's CMF_* settings or Git identity."""
    for name in list(os.environ):
        if name.startswith("CMF_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "cmf tests")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "tests@cmf.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "cmf tests")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "tests@cmf.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database made for this test run on CMF_TEST_POSTGRES_URL, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set; the PostgreSQL cases need a server")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cmf_test_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(base).set(drivername="postgresql")
    dsn = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_schema_url(database_url: str) -> str:
    """A fresh schema in the run's database, so each test gets an empty store cheaply."""
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = make_url(database_url)
    with psycopg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'metadata.db'}"
    return _postgres_schema_url(request.getfixturevalue("postgres_database"))


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """A URL of an empty store on PostgreSQL (its own schema); skipped without a server."""
    return _postgres_schema_url(postgres_database)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'metadata.db'}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder that is a Git repository with one commit; the current folder."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('training')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    (root / ".cmf").mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def bare_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder outside any Git repository; the current folder."""
    root = tmp_path / "bare"
    (root / ".cmf").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def root(bare_project: Path) -> Path:
    """The web UI tests' project (:func:`bare_project`): no Git, a ``.cmf`` folder, the cwd."""
    return bare_project
