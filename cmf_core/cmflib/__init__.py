"""What exists only for cmflib scripts: its method names on ``Cmf`` and its ``CmfQuery``.

``writer`` maps cmflib's logging calls onto :mod:`cmf_core.tracking`; ``query``
returns the pandas DataFrames cmflib scripts expect. Imports the rest of
``cmf_core``; nothing in ``cmf_core`` imports this package except ``tracking``,
which exposes the cmflib names on ``Cmf``.
"""
