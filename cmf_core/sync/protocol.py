"""The sync protocol's version: both ends of every sync request state theirs and check it.

A client sends ``Cmf-Sync-Protocol: <n>`` with every request to a server's
``/api/v1/sync/…`` routes (federation peers are clients too), and a server
answers with its own in the same header. Each side refuses a peer of another
version before anything is written, with a message naming both versions and the
side to upgrade — not a 422 about a field one of them does not know, and never a
silent drop of records (annotations, for one, exist only from wire format 2 on).

Cmf before this check stated no version: a request or an answer without the
header comes from such an older cmf (sync protocol 2 or older).

======  =================================================================
 n      what changed
======  =================================================================
 1      pipelines, stages, executions, artifacts, events, metrics
 2      annotations travel too (bundle format 2)
 3      both ends state and check the protocol version
======  =================================================================
"""

SYNC_PROTOCOL = 3
SYNC_PROTOCOL_HEADER = "Cmf-Sync-Protocol"
SUPPORTED = frozenset({SYNC_PROTOCOL})


def stated_version(value: str | None) -> int | None:
    """The version a peer stated in :data:`SYNC_PROTOCOL_HEADER` (None: it stated none, or
    garbage, which no cmf sends)."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 6:
        return None
    return int(value.strip())


def _named(version: int | None) -> str:
    return (
        f"sync protocol {version}"
        if version is not None
        else f"an older sync protocol (it states none: a cmf from before protocol {SYNC_PROTOCOL})"
    )


def refusal_for_client(stated: str | None) -> str | None:
    """Why a server refuses a client that stated ``stated``, or None when it may go on."""
    version = stated_version(stated)
    if version in SUPPORTED:
        return None
    if version is not None and version > SYNC_PROTOCOL:
        todo = "Upgrade cmf on this server (or sync from a cmf of the server's version)."
    else:
        todo = "Upgrade cmf on the client, then sync again."
    return (
        f"This cmf server speaks sync protocol {SYNC_PROTOCOL}; the client speaks "
        f"{_named(version)}. {todo} Nothing was merged."
    )


def refusal_for_server(stated: str | None, server: str) -> str | None:
    """Why a client refuses the server ``server`` that answered ``stated``, or None."""
    version = stated_version(stated)
    if version in SUPPORTED:
        return None
    if version is not None and version > SYNC_PROTOCOL:
        todo = "Upgrade cmf here, on the client, then sync again."
    else:
        todo = "Upgrade cmf on the server (or sync with a cmf of the server's version)."
    return (
        f"The server {server} speaks {_named(version)}; this cmf speaks sync protocol "
        f"{SYNC_PROTOCOL}. {todo} Nothing was merged on either side."
    )


__all__ = [
    "SUPPORTED",
    "SYNC_PROTOCOL",
    "SYNC_PROTOCOL_HEADER",
    "refusal_for_client",
    "refusal_for_server",
    "stated_version",
]
