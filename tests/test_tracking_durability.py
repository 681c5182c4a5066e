"""Nothing acknowledged is lost when the store fails under a run, on both backends.

The store is made to fail for real: another connection renames the ``metrics``
table away (as a botched migration or a restore would), so every write of
step values fails in the database itself, while the rest of the store keeps
working. Renaming it back lets a later write succeed.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cmf_core import Cmf
from cmf_core.errors import StoreError
from cmf_core.records import ExecutionStatus


@pytest.fixture
def cmf(project: Path, store_url: str) -> Iterator[Cmf]:
    with Cmf(pipeline="fraud", store=store_url, capture_git=False) as instance:
        yield instance


@contextmanager
def metrics_table_gone(store_url: str) -> Iterator[None]:
    """While inside, the store has no ``metrics`` table: writing a metric fails in the database."""
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE metrics RENAME TO metrics_away"))
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE metrics_away RENAME TO metrics"))
        engine.dispose()


def steps(cmf: Cmf, run_id: str, name: str = "loss") -> list[tuple[int | None, float]]:
    return [(m.step, m.value) for m in cmf.store.get_metrics(run_id, name=name)]


def test_buffered_step_values_survive_a_failed_flush_and_reach_the_store_later(
    cmf: Cmf, store_url: str
) -> None:
    run = cmf.start_execution("train")
    run.log_metric("loss", 0.9, step=0)
    run.log_metric("loss", 0.7, step=1)
    with metrics_table_gone(store_url), pytest.raises(StoreError, match="retry"):
        run.flush()
    assert steps(cmf, run.id) == []  # nothing was half-written
    run.log_metric("loss", 0.5, step=2)  # logging goes on after the failure
    run.flush()
    assert steps(cmf, run.id) == [(0, 0.9), (1, 0.7), (2, 0.5)]
    run.end()
    assert cmf.store.get_execution(run.id).status is ExecutionStatus.COMPLETED


def test_a_due_flush_that_fails_inside_log_metric_keeps_the_value_it_was_given(
    cmf: Cmf, store_url: str
) -> None:
    from cmf_core import tracking
    from cmf_core.run_guard import GUARD

    run = cmf.start_execution("train")
    GUARD.forget(run)  # the flush thread would write the due value before the table goes
    run.log_metric("loss", 0.9)
    run._buffered_since -= tracking.METRIC_MAX_AGE_S  # as if a second had passed: due
    with metrics_table_gone(store_url), pytest.raises(StoreError):
        run.log_metric("loss", 0.8)
    run.log_metric("loss", 0.7)
    run.end()
    assert steps(cmf, run.id) == [(0, 0.9), (1, 0.8), (2, 0.7)]


def test_a_run_whose_final_flush_fails_ends_failed_and_keeps_what_was_written(
    cmf: Cmf, project: Path, store_url: str
) -> None:
    (project / "data.csv").write_text("a,b\n1,2\n")
    with (
        pytest.raises(StoreError, match="retry"),
        ExitStack() as afterwards,
        cmf.execution("train", params={"lr": 0.1}) as run,
    ):
        run.log_dataset("data.csv")
        run.log_metrics({"accuracy": 0.93})  # written through at once
        run.log_metric("loss", 0.9, step=0)
        run.flush()  # acknowledged: in the store
        run.log_metric("loss", 0.8, step=1)  # still buffered when the block ends
        afterwards.enter_context(metrics_table_gone(store_url))  # until after the block
    detail = cmf.store.get_execution_detail(run.id)
    assert detail.execution.status is ExecutionStatus.FAILED
    assert detail.execution.error is not None
    assert "writing buffered metrics failed" in detail.execution.error
    assert detail.execution.params == {"lr": 0.1}
    assert [e.path for e in detail.inputs] == ["data.csv"]
    assert [(m.name, m.value) for m in detail.metrics] == [("accuracy", 0.93)]
    assert steps(cmf, run.id) == [(0, 0.9)]


def test_a_failing_block_whose_final_flush_fails_records_both_errors(
    cmf: Cmf, store_url: str
) -> None:
    with (
        pytest.raises(StoreError) as raised,
        metrics_table_gone(store_url),
        cmf.execution("train") as run,
    ):
        run.log_metric("loss", 0.9, step=0)
        raise ZeroDivisionError("division by zero")
    assert "no such table" in str(raised.value) or "does not exist" in str(raised.value)
    execution = cmf.store.get_execution(run.id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None
    assert execution.error.startswith("ZeroDivisionError: division by zero; ")
    assert "writing buffered metrics failed" in execution.error
