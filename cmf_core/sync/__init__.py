"""Metadata sync between stores: push and pull through a team server, federation between
servers, offline bundles.

- :mod:`~cmf_core.sync.wire` — records as JSON, offers and fingerprints;
- :mod:`~cmf_core.sync.service` — what a server does with pushes and pulls;
- :mod:`~cmf_core.sync.client` — the HTTP client of a team server;
- :mod:`~cmf_core.sync.transfer` — push and pull, resumable, with cursors;
- :mod:`~cmf_core.sync.bundle` — export and import of bundle files;
- :mod:`~cmf_core.sync.servers` — where servers and peers are configured.

The merge itself — natural keys, no-op repeats, ended beats running, conflicts
kept with both versions — is the store's (:mod:`cmf_core.store.merge`); the
journal that orders changes by sequence number is :mod:`cmf_core.store.journal`.
May import the rest of cmf_core and httpx; never the CLI, the HTTP app or MCP.
"""
