"""Comparing runs: parameter, metric and input diffs, lineage divergence, metric history.

``compare`` builds a :class:`Comparison` (the record and its change rule are in
``records``), ``divergence`` finds where two runs' lineage parts, ``text`` says
it in sentences, ``metrics`` reads a metric's history. Imports ``errors``,
``records`` and the store only; within the package the arrows point one way:
``compare`` → ``text`` → ``divergence`` → ``records``.
"""
