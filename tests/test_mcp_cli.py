"""`cmf token create|list|revoke` and `cmf mcp --help`."""

import json
from pathlib import Path

from click.testing import CliRunner

from cmf_core.auth import authenticate
from cmf_core.errors import AuthError
from cmf_core.store import Store
from cmf_mcp.cli.main import cli


def invoke(store_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", store_url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_token_is_shown_once_listed_without_its_secret_and_revoked(
    bare_project: Path, sqlite_url: str
) -> None:
    code, secret, note = invoke(sqlite_url, "token", "create", "--name", "ci", "--scope", "write")
    secret = secret.strip()
    assert code == 0 and secret.startswith("cmf_") and "cannot be shown again" in note
    with Store(sqlite_url) as store:
        assert authenticate(store, secret, needs="write").name == "ci"

    code, listed, _ = invoke(sqlite_url, "token", "list", "--json")
    (row,) = json.loads(listed)
    assert code == 0 and (row["name"], row["scope"], row["revoked_at"]) == ("ci", "write", None)
    assert secret not in listed
    code, table, _ = invoke(sqlite_url, "token", "list")
    assert code == 0 and "ci" in table and "write" in table and secret not in table

    code, out, _ = invoke(sqlite_url, "token", "revoke", "ci")
    assert code == 0 and "revoked" in out
    with Store(sqlite_url) as store:
        try:
            authenticate(store, secret, needs="read")
        except AuthError as exc:
            assert "revoked" in str(exc)
        else:
            raise AssertionError("a revoked token still authenticates")


def test_token_commands_explain_their_mistakes(bare_project: Path, sqlite_url: str) -> None:
    assert invoke(sqlite_url, "token", "list")[1].startswith("No tokens;")
    invoke(sqlite_url, "token", "create", "--name", "ci")
    code, _, error = invoke(sqlite_url, "token", "create", "--name", "ci")
    assert code == 1 and "exists already" in error
    code, _, error = invoke(sqlite_url, "token", "revoke", "nobody")
    assert code == 1 and "No token 'nobody'" in error
    code, _, error = invoke(sqlite_url, "token", "create", "--name", "x", "--scope", "root")
    assert code == 2 and "'root' is not one of" in error
    code, created, _ = invoke(sqlite_url, "token", "create", "--name", "j", "--json")
    assert json.loads(created)["scope"] == "read"


def test_cmf_mcp_is_a_command_with_its_transports(sqlite_url: str) -> None:
    code, out, _ = invoke(sqlite_url, "mcp", "--help")
    assert code == 0
    for option in ("--transport [stdio|http]", "--port", "--read-only", "--project"):
        assert option in out
