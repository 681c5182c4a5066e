"""What every route depends on: the process's store and a bearer token of enough scope.

A token is checked against the store on every request (one indexed read), never
cached, so a revoked token stops working at once on every server process.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from starlette.concurrency import run_in_threadpool

from cmf_core.auth import Scope, authenticate
from cmf_core.errors import AuthError, Kind
from cmf_core.store import Store
from cmf_mcp.http.problems import Problem

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cmf"'}


def get_store(request: Request) -> Store:
    """The one store of this server process (opened in the app's lifespan)."""
    store: Store = request.app.state.store
    return store


def require(scope: Scope) -> Callable[..., object]:
    """A dependency that returns the request's token if its scope covers ``scope``:
    401 (with ``WWW-Authenticate``) without a valid token, 403 when the scope is too small."""

    async def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Any:  # the store's Token record
        secret = _bearer(authorization)
        store = get_store(request)
        try:
            return await run_in_threadpool(authenticate, store, secret, needs=scope)
        except AuthError as exc:
            # No valid token: 401 and how to authenticate; a valid one too weak: 403.
            if exc.kind is Kind.SCOPE:
                raise Problem(403, str(exc), kind=exc.kind) from None
            raise Problem(401, str(exc), kind=Kind.TOKEN, headers=CHALLENGE) from None

    return dependency


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Problem(
            401,
            "Send the token as `Authorization: Bearer cmf_…`.",
            kind=Kind.TOKEN,
            headers=CHALLENGE,
        )
    return value.strip()


__all__ = ["get_store", "require"]
