"""Every way into cmf from outside: the ``cmf`` command, the MCP server, (soon) the team server.

::

    cli/    the `cmf` command and `cmf-mcp` (click; errors translated once, in the group)
    mcp/    the MCP server: tools/ (record, read), resources, prompts, output/ (schemas, text)
    http/   the team server: REST /api/v1, web UI, MCP at /mcp (empty until it lands)

Each surface imports only ``cmf_core``'s public names and its own framework:
``click`` only under ``cli/``, ``mcp`` only under ``mcp/``.
"""
