"""What recording one execution costs the store: statements, commits, and CPU time.

Used by bench_logging.py (run as a script, with the repository root on ``sys.path``).
Statements and commits are counted with listeners on the store's own engine
(``before_cursor_execute`` and ``commit``), around one execution recorded as
the benchmark records them, after the stage, the input artifact and the caches
exist. CPU time (``time.process_time``) is reported beside wall time: the
machine is shared, and waiting for it shows in wall time only.
"""

import statistics
from collections.abc import Callable
from typing import Any


def count_one(store: Any, record: Callable[[], None]) -> dict[str, Any]:
    """Statements (by first word) and commits while ``record()`` runs on ``store``."""
    from sqlalchemy import event

    statements: list[str] = []
    commits = [0]

    def on_statement(*args: Any) -> None:
        statements.append(str(args[2]).split()[0].upper())

    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    engine = store._engine  # the store's own engine: what recording really runs
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        record()
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)
    kinds = {kind: statements.count(kind) for kind in sorted(set(statements))}
    return {"statements": len(statements), "by_kind": kinds, "commits": commits[0]}


def cpu_summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "cpu_median_ms": round(statistics.median(ms), 3),
        "cpu_p90_ms": round(statistics.quantiles(ms, n=10, method="inclusive")[8], 3),
    }
