"""The UI's pages that need no sign-in: signing in and out of a team server, static files.

Sign-in takes a pasted token (checked, then kept in a cookie: :mod:`.session`) and
sends the browser back only to a page of this server.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from cmf_core.errors import CmfError
from cmf_mcp.http.problems import Problem
from cmf_mcp.http.ui import session
from cmf_mcp.http.ui.render import HERE, PageRoute, page
from cmf_mcp.http.ui.session import read_form, store_of

STATIC = {"ui.css": "text/css", "ui.js": "text/javascript"}

public = APIRouter(route_class=PageRoute)


@public.get("/signin")
async def signin_page(
    request: Request, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    session.new_csrf(request)
    return page(request, "signin.html", next=_local(next), failed=None)


@public.post("/signin")
async def signin(request: Request) -> Response:
    session.new_csrf(request)
    form = await read_form(request)
    secret = form.get("token", "").strip()
    target = _local(form.get("next", "/"))
    try:
        await run_in_threadpool(session.check_token, store_of(request), secret)
    except CmfError as exc:
        return page(request, "signin.html", 401, next=target, failed=str(exc))
    response = RedirectResponse(target, 303)
    session.set_token(request, response, secret)
    return response


@public.post("/signout")
async def signout(request: Request) -> Response:
    await read_form(request)
    response = RedirectResponse("/signin", 303)
    session.clear_token(response)
    return response


@public.get("/ui/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        raise Problem(404, "No such file.")
    body = (HERE / "static" / name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=300"})


def _local(target: str) -> str:
    """Only a path on this server (no scheme, no host, no //), else the overview."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


__all__ = ["public"]
