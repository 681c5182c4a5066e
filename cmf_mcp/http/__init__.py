"""The team server (FastAPI): REST under /api/v1, the web UI at /, MCP at /mcp. Not built yet."""
