"""What exists only for cmflib scripts: its method names on ``Cmf`` and its ``CmfQuery``.

``session`` keeps cmflib's current stage and execution, ``writer`` maps cmflib's
logging calls onto :mod:`cmf_core.run` (with ``arguments``, ``files`` and
``unsupported`` beside it); ``query`` returns the pandas DataFrames cmflib
scripts expect, ``columns`` naming their columns as cmflib does. Built on
:mod:`cmf_core.recorder`; nothing in ``cmf_core`` imports this package except
``tracking``, which assembles ``Cmf`` from it.
"""
