"""The MCP server: ``server.create_server()``, its tools, resources and prompts.

``tools/record`` and ``tools/read`` are the tools, ``resources`` and
``prompts`` the rest of the protocol surface, ``state`` what they share (the
store, error translation, the write check), ``output/`` the bounded output
models and their text. May import the ``mcp`` SDK and ``cmf_core``'s public
names; never click.
"""
