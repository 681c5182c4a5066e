"""The lineage graph: walks, trace and impact, reference lookup, exports.

``lineage`` walks the graph of artifacts and executions breadth first, one
batched query per hop; ``trace`` and ``impact`` answer "what produced it" and
"what depends on it"; ``lookup`` resolves an id, digest or path; the package
``export`` writes JSON, Mermaid, DOT, OpenLineage and PROV, one module per
format. Imports ``errors``,
``records`` and the store only. (Named ``graph`` rather than ``lineage`` so
that ``from cmf_core import lineage`` stays the function.)
"""
