"""Tokens may expire: `cmf token create --expires 30d`; every check refuses them afterwards."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import update

from cmf_core.auth import authenticate, create_token
from cmf_core.errors import AuthError, InvalidInputError
from cmf_core.store import Store
from cmf_core.store.schema import tokens
from cmf_mcp.cli.main import cli
from cmf_mcp.http.app import create_app


def age_token(store: Store, name: str, by: timedelta) -> None:
    """Move a token's expiry into the past, as time passing would (tests do not sleep)."""
    (token,) = [t for t in store.list_tokens() if t.name == name]
    assert token.expires_at is not None
    with store._engine.begin() as conn:
        conn.execute(
            update(tokens).where(tokens.c.name == name).values(expires_at=token.expires_at - by)
        )


def test_a_token_works_until_it_expires_then_every_check_refuses_it(store_url: str) -> None:
    with Store(store_url) as store:
        made, secret = create_token(store, "ci", "write", expires_in=timedelta(days=30))
        assert made.expires_at is not None
        assert timedelta(days=29) < made.expires_at - datetime.now(UTC) <= timedelta(days=30)
        assert authenticate(store, secret, needs="write").name == "ci"
        _, forever = create_token(store, "alice", "read")
        age_token(store, "ci", timedelta(days=31))
        with pytest.raises(AuthError, match=r"Token 'ci' expired at \d{4}-\d\d-\d\d"):
            authenticate(store, secret, needs="read")
        assert authenticate(store, forever, needs="read").expires_at is None


def test_an_expired_token_is_refused_by_the_server(store_url: str, tmp_path: Path) -> None:
    with Store(store_url) as store:
        _, secret = create_token(store, "ci", "read", expires_in=timedelta(hours=1))
    with TestClient(create_app(store_url, project_root=tmp_path, mcp=False)) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/pipelines", headers=headers).status_code == 200
        with Store(store_url) as store:
            age_token(store, "ci", timedelta(hours=2))
        refused = client.get("/api/v1/pipelines", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.text


def cmf(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cmf_token_create_expires_and_list_shows_when(bare_project: Path) -> None:
    code, out = cmf("token", "create", "--name", "ci", "--expires", "30d", "--json")
    assert code == 0, out
    made = json.loads(out)
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    code, out = cmf("token", "create", "--name", "alice")
    assert code == 0 and "expires" not in out.splitlines()[-1]
    code, out = cmf("token", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert expires.astimezone().strftime("%Y-%m-%d") in rows["ci"]
    assert "never" in rows["alice"]
    with Store(f"sqlite:///{bare_project / '.cmf' / 'metadata.db'}") as store:
        age_token(store, "ci", timedelta(days=31))
    assert "expired" in cmf("token", "list")[1]


@pytest.mark.parametrize("given", ["soon", "0", "-1d", "200y"])
def test_a_bad_expiry_is_one_error_line(bare_project: Path, given: str) -> None:
    code, out = cmf("token", "create", "--name", "ci", "--expires", given)
    assert code == 1
    assert "Traceback" not in out
    assert [line for line in out.splitlines() if line.startswith("Error:")]
    assert cmf("token", "list")[1].startswith("No tokens")


def test_create_token_refuses_a_lifetime_under_a_second(sqlite_url: str) -> None:
    with Store(sqlite_url) as store, pytest.raises(InvalidInputError, match="at least a second"):
        create_token(store, "ci", "read", expires_in=timedelta(0))
