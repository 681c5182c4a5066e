"""A value the database refuses is bad input to change, not a store failure to retry.

Each case is refused by the backend itself (PostgreSQL refuses NUL characters
in text and names over 255 characters; both refuse integers beyond 64 bits),
so retrying the same call could never succeed: the error must say so.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cmf_core import Cmf
from cmf_core.errors import InvalidInputError
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow

TOO_LONG = "s" * 300


@pytest.fixture
def cmf(project: Path, store_url: str) -> Iterator[Cmf]:
    with Cmf(
        pipeline="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as instance:
        yield instance


def artifact(size: int) -> ArtifactRow:
    return ArtifactRow(
        digest="md5:" + "0" * 32, type="dataset", size=size, nfiles=None, properties={}
    )


REFUSED_BY_BOTH: list[tuple[str, Callable[[Cmf], object]]] = [
    (
        "a step beyond 64 bits",
        lambda cmf: cmf.store.add_metrics(
            cmf.start_execution("train").id, [("loss", 2**63, 0.5, 0.0)]
        ),
    ),
    (
        "a size beyond 64 bits",
        lambda cmf: cmf.store.record_artifact(
            artifact(2**64),
            execution_id=cmf.start_execution("train").id,
            direction=EventDirection.INPUT,
            path="data.csv",
        ),
    ),
]
REFUSED_BY_POSTGRESQL: list[tuple[str, Callable[[Cmf], object]]] = [
    ("a stage name over 255 characters", lambda cmf: cmf.store.ensure_stage("p", TOO_LONG)),
    ("a stage name with a NUL", lambda cmf: cmf.store.ensure_stage("p", "a\x00b")),
    # A command or error with a NUL is escaped, not refused: test_store_unstorable_text.py.
    (
        "a site name over 255 characters",
        lambda cmf: Cmf(
            pipeline="fraud", store=cmf.store, site=TOO_LONG, capture_environment=False
        ).start_execution("t"),
    ),
    (
        "a params key with a NUL",
        lambda cmf: cmf.store.update_execution(cmf.start_execution("t").id, params={"a\x00": 1}),
    ),
]


def assert_refused_as_bad_input(cmf: Cmf, call: Callable[[Cmf], object]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        call(cmf)
    message = str(refused.value)
    assert "retry" not in message
    assert "change the value" in message
    with cmf.execution("train") as run:  # the store is as usable as before
        run.log_metrics({"accuracy": 0.9})
    assert cmf.store.get_execution(run.id).status is ExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    "call", [c[1] for c in REFUSED_BY_BOTH], ids=[c[0] for c in REFUSED_BY_BOTH]
)
def test_a_value_no_backend_can_hold_is_bad_input_not_a_failure_to_retry(
    cmf: Cmf, call: Callable[[Cmf], object]
) -> None:
    assert_refused_as_bad_input(cmf, call)


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "call", [c[1] for c in REFUSED_BY_POSTGRESQL], ids=[c[0] for c in REFUSED_BY_POSTGRESQL]
)
def test_a_value_postgresql_refuses_is_bad_input_not_a_failure_to_retry(
    cmf: Cmf, call: Callable[[Cmf], object]
) -> None:
    assert_refused_as_bad_input(cmf, call)


def test_a_metric_name_postgresql_cannot_hold_is_refused_when_logged_not_at_flush(cmf: Cmf) -> None:
    with cmf.execution("train") as run:
        run.log_metric("loss", 0.9, step=0)
        with pytest.raises(InvalidInputError, match="NUL"):
            run.log_metric("lo\x00ss", 0.8, step=0)
        run.log_metric("loss", 0.7, step=1)
    assert cmf.store.get_execution(run.id).status is ExecutionStatus.COMPLETED
    assert [m.value for m in cmf.store.get_metrics(run.id, name="loss")] == [0.9, 0.7]
