"""Every error of the team server as an RFC 9457 problem (``application/problem+json``).

A :class:`~cmf_core.errors.CmfError` maps to a status by its class (not found 404,
bad input 400, conflict 409, token 401/403, store 503) and keeps its ``kind``,
``reference`` and ``choices``; its message is shown with paths as file names
only and the store as "the store", so no folder of the server or database URL
leaks. Request validation answers 422 with each problem's place, a body over
the cap 413, and anything unforeseen a plain 500 with no traceback.
"""

import logging
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmf_core.errors import (
    AuthError,
    CmfError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    Kind,
    NotFoundError,
    StoreError,
    SyncError,
)

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}
log = logging.getLogger("cmf.server")


class Problem(Exception):
    """Raise in a route or dependency to answer ``status`` with a problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: Kind | str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers
        self.extra = {"kind": str(kind) if kind else None, **extra}


def problem_response(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **{key: value for key, value in extra.items() if value not in (None, [], ())},
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def status_of(exc: CmfError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AuthError):
        return 403 if exc.kind is Kind.SCOPE else 401
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InvalidInputError | ConfigError | SyncError):
        return 400
    if isinstance(exc, StoreError):
        return 503
    return 400


def shown(exc: CmfError) -> str:
    """The message with paths as bare file names and the store as "the store"."""
    return exc.render(
        path=lambda path: PurePath(path).name or "the path", store=lambda _: "the store"
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem body."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(CmfError)
    async def _cmf(_request: Request, exc: CmfError) -> JSONResponse:
        return problem_response(
            status_of(exc),
            shown(exc),
            kind=str(exc.kind) if exc.kind else None,
            reference=exc.reference,
            choices=list(exc.choices),
            matches=list(exc.matches),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])
        return problem_response(
            422,
            f"{len(exc.errors())} invalid value(s); first at {where}: {first['msg']}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unforeseen(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "The server failed on this request; it has been logged.")


__all__ = ["MEDIA_TYPE", "Problem", "install", "problem_response", "shown", "status_of"]
