"""The ``@step`` decorator: one recorded execution per call of a function.

``paths`` holds the path types a signature is annotated with (``Dataset``,
``Model``, ``Metrics``, ``Output[...]``), ``signature`` reads a function's
signature and a call's arguments into params, inputs and outputs, and
``decorator`` wraps plain, generator and async functions around one
:class:`~cmf_core.run.Run` each.
"""
