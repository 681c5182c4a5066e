"""Bearer tokens with scopes, shared by the MCP server over HTTP and the team server.

A token is ``cmf_`` followed by 43 random URL-safe characters (256 bits). Only
its SHA-256 is stored — a fast hash is enough for a secret that long — so a
leaked database does not leak tokens. Scopes are ordered: ``read`` may call
read tools and routes, ``write`` also records runs, ``admin`` also manages
tokens. A token may expire (``expires_in``): from then on every check refuses it.
"""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cmf_core.errors import AuthError, InvalidInputError, Kind
from cmf_core.store import Store
from cmf_core.store.tokens import Token

PREFIX = "cmf_"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Scope).index(self)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scope(scope: str | Scope) -> Scope:
    try:
        return Scope(scope)
    except ValueError:
        raise InvalidInputError(f"Unknown scope {scope!r}; use read, write or admin.") from None


def create_token(
    store: Store, name: str, scope: str | Scope, *, expires_in: timedelta | None = None
) -> tuple[Token, str]:
    """Make a token, valid for ``expires_in`` if given (else until revoked); returns its
    record and the secret, which is shown this once only."""
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInputError("A token needs a name (1–255 characters), e.g. 'ci' or 'alice'.")
    if expires_in is not None and expires_in.total_seconds() < 1:
        raise InvalidInputError("A token must live at least a second, e.g. --expires 30d.")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = store.insert_token(
        id=str(uuid.uuid4()),
        name=name.strip(),
        scope=parse_scope(scope).value,
        secret_sha256=hash_secret(secret),
        expires_at=datetime.now(UTC) + expires_in if expires_in is not None else None,
    )
    return token, secret


def authenticate(store: Store, secret: str | None, *, needs: str | Scope) -> Token:
    """The token ``secret`` names, if it is valid and its scope covers ``needs``; else AuthError.

    The messages never repeat the secret.
    """
    required = parse_scope(needs)
    if not secret:
        raise AuthError(
            "A bearer token is required: send `Authorization: Bearer cmf_…`.", kind=Kind.TOKEN
        )
    if not secret.startswith(PREFIX):
        raise AuthError("That is not a cmf token (they start with 'cmf_').", kind=Kind.TOKEN)
    # Looked up by the hash of the secret: timing reveals nothing about a stored secret.
    token = store.find_token(hash_secret(secret))
    if token is None:
        raise AuthError("Unknown token.", kind=Kind.TOKEN)
    if token.revoked_at is not None:
        raise AuthError(f"Token {token.name!r} was revoked; ask for a new one.", kind=Kind.TOKEN)
    if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        raise AuthError(
            f"Token {token.name!r} expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask for a new one.",
            kind=Kind.TOKEN,
        )
    if Scope(token.scope).rank < required.rank:
        raise AuthError(
            f"Token {token.name!r} has scope {token.scope!r}; this needs {required.value!r}.",
            kind=Kind.SCOPE,
        )
    return token
