"""Finding runs and artifacts: the filter language, searches and the one cursor codec.

``filters`` holds the filter nodes and field table, ``parser`` turns text into
them, ``search`` runs a search through the store and pages it. Imports
``errors``, ``records`` and the store; the SQL for a filter is built in
``cmf_core.store.search``, so nothing here imports SQLAlchemy.
"""
