"""Store reads for search of executions and artifacts with filters, sorting and cursors."""

from cmf_core.store.base import StoreBase


class SearchReads(StoreBase):
    """Mixed into :class:`cmf_core.store.Store`."""
