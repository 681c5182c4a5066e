"""Federation: a server's store syncing with peer servers (edge ↔ cloud ↔ datacenter).

A peer is a server this store pulls from and pushes to, exactly as a client
does (:mod:`cmf_core.sync.transfer`): the same sequence-number cursors, kept
per peer, and the same merge rules. Records pulled from a peer are journaled
here with that peer as their origin, so they are not pushed back to it but do
travel on to the other peers: three servers that each sync with the next
converge, whatever their clocks say.
"""

from pathlib import Path

from cmf_core.errors import SyncError
from cmf_core.store import Store
from cmf_core.sync.client import SyncClient
from cmf_core.sync.servers import PEER, list_servers, resolve_server
from cmf_core.sync.transfer import SyncReport, pull_metadata, push_metadata


def federate(store: Store, project_root: Path, name: str | None = None) -> list[SyncReport]:
    """Pull from, then push to, each configured peer (or only ``name``)."""
    names = [name] if name else [entry.name for entry in list_servers(project_root, PEER)]
    if not names:
        raise SyncError("No federation peers are configured; add one first.")
    reports = []
    for peer in names:
        target = resolve_server(project_root, peer, table=PEER)
        with SyncClient(target.url, target.token) as client:
            reports.append(pull_metadata(store, client))
            reports.append(push_metadata(store, client))
    return reports


__all__ = ["federate"]
