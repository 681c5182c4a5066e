"""What the MCP tools return: ``schemas`` (output models), ``budget`` (clipping, pages, text).

``query`` and ``compare`` turn ``cmf_core`` records into bounded output models
and their short text for the model.
"""
