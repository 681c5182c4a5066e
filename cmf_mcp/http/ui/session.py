"""Signing in to the UI of a team server: a pasted token kept in a cookie.

The token goes in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` over
HTTPS) and is checked with :func:`cmf_core.auth.authenticate` on every request,
so a revoked token stops working at once. Every POST (sign in, sign out, an
annotation) must carry the CSRF value of a second cookie in its form (double
submit) and, when the browser sends one, an ``Origin`` of this server. ``cmf ui``
(``is_open``) needs no token, and reads its store read-only: it cannot annotate.
Annotating needs a token of scope ``write``, whose name signs the annotation.
"""

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from cmf_core.auth import Scope, authenticate
from cmf_core.errors import AuthError
from cmf_core.store import Store
from cmf_mcp.http.problems import Problem

TOKEN_COOKIE = "cmf_ui_token"
CSRF_COOKIE = "cmf_ui_csrf"
MAX_FORM_BYTES = 16 * 1024


class SignInNeeded(Exception):
    """The page needs a signed-in token; the user is sent to the sign-in page."""


@dataclass(frozen=True)
class UiState:
    is_open: bool  # True: no token needed (`cmf ui` on 127.0.0.1)


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def signed_in(request: Request) -> None:
    """A dependency of every page: the cookie's token must be valid, of scope read."""
    new_csrf(request)
    if request.app.state.ui.is_open:
        return
    secret = request.cookies.get(TOKEN_COOKIE)
    if not secret:
        raise SignInNeeded
    try:
        token = await run_in_threadpool(authenticate, store_of(request), secret, needs=Scope.READ)
    except AuthError:
        raise SignInNeeded from None
    request.state.scope = Scope(token.scope)


def may_write(request: Request) -> bool:
    """Whether this page's viewer may annotate: signed in with a write or admin token."""
    scope = getattr(request.state, "scope", None)
    return scope is not None and scope.rank >= Scope.WRITE.rank


async def writer_name(request: Request) -> str:
    """The name of the signed-in token, checked again for scope write; else a 403 problem."""
    if request.app.state.ui.is_open:
        raise Problem(
            403,
            "cmf ui reads the store read-only, so it cannot add labels; use "
            "`cmf annotate REF key=value`, or the team server's UI with a write token.",
        )
    secret = request.cookies.get(TOKEN_COOKIE)
    try:
        token = await run_in_threadpool(authenticate, store_of(request), secret, needs=Scope.WRITE)
    except AuthError as exc:
        raise Problem(403, f"Adding a label needs a write token: {exc}") from None
    return token.name


def new_csrf(request: Request) -> None:
    """The request's CSRF value: the cookie's, or a new one set on the response."""
    value = request.cookies.get(CSRF_COOKIE) or ""
    request.state.new_csrf = not value
    request.state.csrf = value or secrets.token_urlsafe(24)


def keep_csrf(request: Request, response: Response) -> Response:
    if getattr(request.state, "new_csrf", False):
        _cookie(request, response, CSRF_COOKIE, request.state.csrf)
    return response


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST whose Origin and CSRF value check out."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise Problem(403, "This form came from another site; sign in from this server's page.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Problem(413, "The form is too large.")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        raise Problem(403, "The form's check value is missing or stale; reload the page.")
    return form


def check_token(store: Store, secret: str) -> None:
    authenticate(store, secret, needs=Scope.READ)


def _cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def set_token(request: Request, response: Response, secret: str) -> None:
    _cookie(request, response, TOKEN_COOKIE, secret)


def clear_token(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")


__all__ = [
    "SignInNeeded",
    "UiState",
    "check_token",
    "keep_csrf",
    "may_write",
    "read_form",
    "signed_in",
    "store_of",
    "writer_name",
]
