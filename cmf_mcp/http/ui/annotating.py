"""Adding a label or a note from a record's page: the UI's one write.

The execution and artifact pages show a form to a viewer signed in with a token
of scope ``write`` (or ``admin``); the annotation is signed with that token's
name, as one made over the MCP server is. ``cmf ui`` reads its store read-only
and shows no form. The POST checks the CSRF value and the Origin like sign-in
does, checks the token's scope again, and sends the browser back to the page.
"""

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from cmf_core.annotate import annotate
from cmf_mcp.http.problems import Problem
from cmf_mcp.http.ui.render import PageRoute
from cmf_mcp.http.ui.session import read_form, signed_in, store_of, writer_name

annotating = APIRouter(route_class=PageRoute, dependencies=[Depends(signed_in)])


@annotating.post("/annotations")
async def add_annotation(request: Request) -> Response:
    """A label (``key`` = ``value``, or ``key`` alone to clear it) and an optional note."""
    form = await read_form(request)
    author = await writer_name(request)
    kind, target = form.get("kind", ""), form.get("target", "")
    if kind not in ("execution", "artifact") or not target:
        raise Problem(400, "The form names no execution or artifact; reload its page.")
    root: Path = request.app.state.project_root
    await run_in_threadpool(
        annotate,
        store_of(request),
        target,
        form.get("key", "").strip(),
        form.get("value", "").strip() or None,
        note=form.get("note", "").strip() or None,
        author=author,
        project_root=root,
        cwd=root,
    )
    if kind == "execution":
        back = f"/executions/{quote(target, safe='')}"
    else:
        back = f"/artifacts/{quote(target, safe=':')}"
    return RedirectResponse(back + "#labels", 303)


__all__ = ["annotating"]
