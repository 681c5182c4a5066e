"""Store reads and writes for bearer tokens (see :mod:`cmf_core.auth`)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from cmf_core.errors import ConflictError, Kind, NotFoundError
from cmf_core.records import Record
from cmf_core.store.base import StoreBase
from cmf_core.store.schema import tokens, utcnow

USED_EVERY_S = 60


class Token(Record):
    """A bearer token as stored: never the secret, only its name, scope and dates."""

    id: str
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None


def _token(row: Any) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
    )


class TokenRecords(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""

    def insert_token(
        self,
        *,
        id: str,
        name: str,
        scope: str,
        secret_sha256: str,
        expires_at: datetime | None = None,
    ) -> Token:
        with self._read() as conn:
            taken = conn.execute(select(tokens.c.revoked_at).where(tokens.c.name == name)).first()
        if taken is not None:
            state = (
                "was revoked (names stay taken, for the record)"
                if taken.revoked_at
                else ("exists already")
            )
            raise ConflictError(f"A token named {name!r} {state}; pick another name.")
        values = {
            "id": id,
            "name": name,
            "scope": scope,
            "secret_sha256": secret_sha256,
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
        with self._write() as conn:
            conn.execute(tokens.insert().values(values))
            return _token(conn.execute(select(tokens).where(tokens.c.id == id)).one())

    def list_tokens(self) -> list[Token]:
        with self._read() as conn:
            return [_token(r) for r in conn.execute(select(tokens).order_by(tokens.c.created_at))]

    def revoke_token(self, name_or_id: str) -> Token:
        with self._write() as conn:
            found = select(tokens).where(
                (tokens.c.name == name_or_id) | (tokens.c.id == name_or_id)
            )
            row = conn.execute(found).first()
            if row is None:
                raise NotFoundError(
                    f"No token {name_or_id!r}.", kind=Kind.TOKEN, reference=name_or_id
                )
            if row.revoked_at is None:
                conn.execute(
                    update(tokens).where(tokens.c.id == row.id).values(revoked_at=utcnow())
                )
            return _token(conn.execute(select(tokens).where(tokens.c.id == row.id)).one())

    def find_token(self, secret_sha256: str) -> Token | None:
        """The token with this secret hash (revoked or not).

        Its ``last_used_at`` is refreshed at most once a minute, so checking a token
        on every request is a read, not a write.
        """
        with self._read() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.secret_sha256 == secret_sha256)
            ).first()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > USED_EVERY_S:
            with self._write() as conn:
                conn.execute(update(tokens).where(tokens.c.id == row.id).values(last_used_at=now))
        return _token(row)
