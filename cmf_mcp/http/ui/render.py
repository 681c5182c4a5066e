"""Templates and the page route class: every error of a page renders as a page.

The Jinja2 environment escapes everything (autoescape on, undefined names are
errors). :class:`PageRoute` turns a library error, a problem, a request
validation error or anything unforeseen into an HTML page with the problem's
status and detail, and a missing sign-in into a redirect, never a traceback.
"""

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cmf_core.errors import CmfError
from cmf_mcp.http.problems import TITLES, Problem, shown, status_of
from cmf_mcp.http.ui.session import SignInNeeded, keep_csrf, may_write

HERE = Path(__file__).parent
log = logging.getLogger("cmf.server")
# No inline script or style can run, whatever a name or path holds.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short"] = lambda text: (text or "")[:12]
    env.filters["digest"] = lambda text: (text or "").removeprefix("md5:")[:10]
    env.filters["q"] = lambda text: quote(str(text), safe=":")
    env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "–"
    env.filters["num"] = _number
    return env


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "–" if value is None else str(value)


ENV = environment()


def page(request: Request, template: str, code: int = 200, **context: Any) -> Response:
    ui = request.app.state.ui
    body = ENV.get_template(template).render(
        request=request,
        is_open=ui.is_open,
        may_write=may_write(request),
        csrf=getattr(request.state, "csrf", ""),
        **context,
    )
    response = HTMLResponse(body, status_code=code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return keep_csrf(request, response)


def error_page(request: Request, status: int, detail: str, **extra: Any) -> Response:
    title = TITLES.get(status, "Error")
    return page(request, "error.html", status, title=title, status=status, detail=detail, **extra)


class PageRoute(APIRoute):
    """An APIRoute whose errors are pages, not JSON problems."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/signin?next={quote(target, safe='')}", 303)
            except CmfError as exc:
                return error_page(
                    request,
                    status_of(exc),
                    shown(exc),
                    matches=list(exc.matches),
                    choices=list(exc.choices),
                )
            except Problem as exc:
                return error_page(request, exc.status, exc.detail, matches=[], choices=[])
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ()))
                detail = f"Invalid value at {where}: {first.get('msg', 'invalid request')}"
                return error_page(request, 422, detail, matches=[], choices=[])
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                detail = "The server failed on this request; it has been logged."
                return error_page(request, 500, detail, matches=[], choices=[])

        return route


__all__ = ["ENV", "PageRoute", "error_page", "page"]
