"""What exists only for cmflib users: its method names on ``Cmf``, ``CmfQuery``, mlmd import.

``session`` keeps cmflib's current stage and execution, ``writer`` maps cmflib's
logging calls onto :mod:`cmf_core.run` (with ``arguments``, ``files`` and
``unsupported`` beside it); ``query`` returns the pandas DataFrames cmflib
scripts expect, ``columns`` naming their columns as cmflib does. Built on
:mod:`cmf_core.recorder`; nothing in ``cmf_core`` imports this package except
``tracking``, which assembles ``Cmf`` from it.

``importer`` brings a cmflib project's history in from its mlmd file: ``mlmd``
reads ML Metadata's SQLite schema, ``mapping`` turns it into cmf's records,
``step_metrics`` reads ``commit_metrics`` Parquet files; the records are merged
by :mod:`cmf_core.store.merge`.
"""
