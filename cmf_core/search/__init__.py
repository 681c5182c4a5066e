"""Finding runs and artifacts: the filter language, searches and the one cursor codec.

``tree`` holds the filter nodes and field table, ``parser`` turns text into
them, ``filters`` is the language's public face (``parse_filter``, ``parse_sort``),
``help`` describes it, ``search`` runs a search through the store and pages it,
``cursor`` encodes its pages. Imports
``errors``, ``records`` and the store; the SQL for a filter is built in
``cmf_core.store.search``, so nothing here imports SQLAlchemy.
"""
