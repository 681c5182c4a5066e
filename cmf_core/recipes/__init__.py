"""Running an execution again: its recipe (``recipe``) and a checked shell script (``script``).

(Named ``recipes`` rather than ``reproduce`` so that ``from cmf_core import
reproduce`` stays the function.) Imports ``records`` and the store only.
"""
