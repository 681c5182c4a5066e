"""The metadata store: the only owner of engines, connections and SQL in cmf.

Everything above this package gets frozen records from :mod:`cmf_core.records`.
"""

from cmf_core.store.store import ArtifactRow, Store

__all__ = ["ArtifactRow", "Store"]
