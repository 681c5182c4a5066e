"""Store reads for lineage: batched event lookups, one query per hop."""

from cmf_core.store.base import StoreBase


class GraphReads(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""
