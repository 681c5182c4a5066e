"""Bearer tokens: created once, stored hashed, scoped, revocable — on both backends."""

import pytest

from cmf_core.auth import Scope, authenticate, create_token, hash_secret
from cmf_core.errors import AuthError, ConflictError, InvalidInputError, Kind, NotFoundError
from cmf_core.store import Store


def test_a_token_authenticates_for_its_scope_and_below(store_url: str) -> None:
    with Store(store_url) as store:
        token, secret = create_token(store, "ci", "write")
        assert secret.startswith("cmf_") and len(secret) > 40
        assert authenticate(store, secret, needs="read").name == "ci"
        assert authenticate(store, secret, needs=Scope.WRITE).id == token.id
        with pytest.raises(AuthError, match="scope 'write'; this needs 'admin'"):
            authenticate(store, secret, needs="admin")
        [listed] = store.list_tokens()
        assert listed.last_used_at is not None
        authenticate(store, secret, needs="read")  # within a minute: no second write
        assert store.list_tokens()[0].last_used_at == listed.last_used_at


def test_only_the_hash_of_a_secret_is_stored(store_url: str) -> None:
    with Store(store_url) as store:
        _, secret = create_token(store, "alice", "read")
        from sqlalchemy import text

        with store._read() as conn:
            stored = conn.execute(text("SELECT secret_sha256 FROM tokens")).scalar_one()
    assert stored == hash_secret(secret) and secret not in stored


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "A bearer token is required"),
        ("", "A bearer token is required"),
        ("Bearer abc", "not a cmf token"),
        ("cmf_unknown", "Unknown token"),
    ],
)
def test_missing_and_unknown_tokens_are_refused(
    store_url: str, secret: str | None, message: str
) -> None:
    with Store(store_url) as store, pytest.raises(AuthError, match=message) as caught:
        authenticate(store, secret, needs="read")
    assert "cmf_unknown" not in str(caught.value)


def test_a_revoked_token_no_longer_works(store_url: str) -> None:
    with Store(store_url) as store:
        _, secret = create_token(store, "temp", "admin")
        assert store.revoke_token("temp").revoked_at is not None
        with pytest.raises(AuthError, match="was revoked"):
            authenticate(store, secret, needs="read")
        with pytest.raises(ConflictError, match="was revoked .*; pick another name"):
            create_token(store, "temp", "read")
        with pytest.raises(NotFoundError, match="No token 'nobody'") as missing:
            store.revoke_token("nobody")
        assert (missing.value.kind, missing.value.reference) == (Kind.TOKEN, "nobody")


def test_token_names_are_unique_and_scopes_known(store_url: str) -> None:
    with Store(store_url) as store:
        create_token(store, "bot", "read")
        with pytest.raises(ConflictError, match="exists already"):
            create_token(store, "bot", "write")
        with pytest.raises(InvalidInputError, match="use read, write or admin"):
            create_token(store, "other", "root")
        with pytest.raises(InvalidInputError, match="needs a name"):
            create_token(store, "  ", "read")
