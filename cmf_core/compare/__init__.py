"""Comparing runs: parameter, metric and input diffs, lineage divergence, metric history.

``compare`` builds a :class:`Comparison`, ``divergence`` finds where two runs'
lineage parts, ``text`` says it in sentences, ``metrics`` reads a metric's
history. Imports ``errors``, ``records`` and the store only.
"""
