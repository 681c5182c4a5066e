"""The web UI: server-rendered pages (Jinja2) and SVG drawn on the server, at ``/``.

::

    install(app)                    # the team server: every page needs a signed-in token
    install(app, is_open=True)      # `cmf ui`: 127.0.0.1 only, the local store, no token

Pages call cmf_core's query functions directly (never the REST API); every page
is read-only. Pages work without JavaScript; ``static/ui.js`` only adds zoom,
pan and path highlighting to the lineage graph.
"""

from cmf_mcp.http.ui.pages import install

__all__ = ["install"]
