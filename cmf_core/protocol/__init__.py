"""The line protocol of ``cmf run``: any program records metrics, params and artifacts.

``lines`` says what one JSON line means and records it into a
:class:`~cmf_core.run.Run`; ``reader`` is the pipe ``cmf run`` hands its child
and the thread that reads it as lines arrive; ``client`` is the writer side,
used by ``cmf log`` and by Python programs run under ``cmf run``.
"""
