"""The ``cmf`` command and ``cmf-mcp``: parse, call one ``cmf_core`` function, print.

``main`` is the group and the commands of the store (init, run, ls, show, db);
``search``, ``lineage``, ``compare`` and ``serve`` add their families;
``render`` prints tables; ``support`` holds the one error translation, the
settings and the store. May import click, rich and ``cmf_core``'s public names;
``serve`` starts the MCP server from ``cmf_mcp.mcp`` lazily.
"""
