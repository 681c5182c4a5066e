"""The one cursor codec: an opaque, URL-safe token saying where the next page starts.

A cursor carries the *scope* it was made for (a digest of the search, or the
name of a listing) and a *position* (any JSON value: a keyset ``[key, tie]``
for searches, an offset for the MCP server's in-memory pages). A cursor is
refused when it is not one of ours or belongs to another scope, so a model or
a user that mixes up cursors gets a clear error instead of a wrong page.
"""

import base64
import binascii
import json
from typing import Any

from cmf_core.errors import InvalidInputError, Kind

MAX_LENGTH = 4096  # far beyond any cursor cmf makes; longer text is refused unread


def encode_cursor(scope: str, position: Any) -> str:
    """The cursor for ``position`` in ``scope``."""
    payload = json.dumps({"q": scope, "p": position}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> Any:
    """The position a cursor made by :func:`encode_cursor` for ``scope`` holds."""
    text = cursor.strip()
    try:
        if len(text) > MAX_LENGTH:
            raise ValueError(text[:40])
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        made_for, position = payload["q"], payload["p"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInputError(
            f"{text[:40]!r} is not a cursor from cmf; pass the next_cursor of the previous "
            "page unchanged, or leave the cursor out to start from the first page.",
            kind=Kind.CURSOR,
            reference=text[:40],
        ) from None
    if made_for != scope:
        raise InvalidInputError(
            "This cursor belongs to a different search or listing (another filter, keyword "
            "filter or sort); repeat the search that gave it to continue, or leave the cursor "
            "out to start this one from the first page.",
            kind=Kind.CURSOR,
            reference=text[:40],
        )
    return position
