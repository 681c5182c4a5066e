"""Store reads for what compare, metric history and reproduce read."""

from cmf_core.store.base import StoreBase


class HistoryReads(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""
