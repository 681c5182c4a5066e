"""Rare matches are found from an index first (cmf_core.store.candidates), on both backends:
the plans use the index for each filterable field, and the answers — rows, order, pages,
totals — are exactly those of the plain newest-first walk, ties and missing values included."""

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from test_search import add, postgres_schema

import cmf_core.store.candidates as candidates_module
from cmf_core.search.search import search_executions
from cmf_core.store import Store

T0 = datetime(2024, 5, 1, tzinfo=UTC)
PIPELINES = ("fraud", "churn", "vision")
STAGES = ("prepare", "train", "evaluate")
STATUSES = ("completed", "completed", "failed", "completed", "running")


def build(store: Store) -> None:
    """60 executions: shared stage names, equal start times, equal and NaN and missing
    metrics, labels set, superseded and cleared."""
    for n in range(60):
        at = T0 + timedelta(minutes=n // 3 * 10)  # three at a time start together
        metrics: dict[str, float] = {}
        if n % 4:
            metrics["acc"] = math.nan if n % 13 == 0 else round(0.5 + (n % 7) / 20, 2)
        if n % 9 == 0:
            metrics["loss"] = 1.0
        add(
            store,
            f"e{n:02d}",
            pipeline=PIPELINES[n % 3],
            stage=STAGES[n // 3 % 3],
            at=at,
            status=STATUSES[n % 5],
            metrics=metrics,
            params={"lr": n / 100},
        )
    for n in range(0, 60, 7):
        store.insert_annotation(
            target_kind="execution", target_key=f"e{n:02d}", key="q", value="good",
            note=None, author="ana",
        )  # fmt: skip
    for n, value in ((7, "bad"), (14, None), (21, "bad"), (50, "bad")):
        store.insert_annotation(
            target_kind="execution", target_key=f"e{n:02d}", key="q", value=value,
            note=None, author="bo",
        )  # fmt: skip


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def many(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('plans')) / 'metadata.db'}"
    else:
        url = postgres_schema(request.getfixturevalue("postgres_database"))
    with Store(url) as store:
        build(store)
        yield store


FILTERS = [
    "metrics.acc > 2",  # nothing
    "metrics.acc >= 0",  # every run with the metric
    "metrics.acc = 0.6",
    "metrics.acc < 0.6",
    "metrics.acc in (0.55, 0.8)",
    "metrics.acc is not null",
    "metrics.acc is null",  # not from an index: the walk
    "metrics.acc != 0.6",
    "metrics.nope > 0",
    "metrics.loss <= 1 or metrics.acc > 0.75",
    'pipeline = "churn"',
    'pipeline = "nope"',
    'pipeline in ("churn", "vision")',
    'stage = "train"',
    'stage = "nope"',
    'status = "failed"',
    'status = "running" or status = "failed"',
    'status = "completed" and metrics.acc > 0.75',
    'labels.q = "good"',
    'labels.q = "bad"',
    "labels.q is not null",
    "labels.q is null",
    'labels.q = "nope"',
    'labels.q > "c"',
    'stage = "train" and labels.q = "good" and metrics.acc >= 0.6',
    'not pipeline = "churn"',
]
SORTS = ["-started_at", "started_at", "-metrics.acc", "metrics.acc", "-metrics.loss"]


def walk(store: Store, where: str, sort: str) -> list[tuple[list[str], int | None, int | None]]:
    """Every page of the search, 7 rows at a time: ids, total, total_at_least."""
    pages, cursor = [], None
    while True:
        page = search_executions(store, where, sort=sort, limit=7, cursor=cursor)
        pages.append(([e.id for e in page.items], page.total, page.total_at_least))
        if not page.has_more:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("where", FILTERS)
def test_candidates_from_an_index_give_exactly_the_pages_of_the_walk(
    many: Store, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = {sort: walk(many, where, sort) for sort in SORTS}
    monkeypatch.setattr(candidates_module, "PROBE_LIMIT", 0)  # never a short list: the walk
    assert {sort: walk(many, where, sort) for sort in SORTS} == found
    monkeypatch.setattr(candidates_module, "PROBE_LIMIT", 5)  # short lists for rare matches
    assert {sort: walk(many, where, sort) for sort in SORTS} == found


class Statements:
    """The SELECTs a store sends, and their plans (read on a connection of its own)."""

    def __init__(self, store: Store) -> None:
        self.engine = store._engine
        self.sent: list[tuple[str, Any]] = []
        event.listen(self.engine, "before_cursor_execute", self._grab)

    def _grab(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.sent.append((statement, parameters))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._grab)

    def plan(self, index: int) -> str:
        statement, parameters = self.sent[index]
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: ask what
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)  # is usable
                return "\n".join(r[0] for r in rows)
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(r[-1] for r in rows)


INDEXES = {  # a condition on each filterable field, and the index SQLite reads it from
    "metric": ("metrics.acc > 2", "ix_metrics_name_value (name=? AND value>?)"),
    "metric in": ("metrics.acc in (0.6, 0.7)", "ix_metrics_name_value (name=? AND value=?)"),
    "label": ('labels.q = "nope"', "ix_annotations_key_value (key=? AND value=?)"),
    "status": ('status = "failed"', "ix_executions_status (status=?)"),
    "stage": ('stage = "nope"', "ix_executions_stage_started (stage_id=?)"),
    "pipeline": ('pipeline = "nope"', "ix_executions_stage_started (stage_id=?)"),
}


@pytest.mark.parametrize("case", INDEXES)
def test_each_filterable_field_is_looked_up_in_its_index_first(many: Store, case: str) -> None:
    """SQLite plans without statistics, the same at 60 rows as at 1M; PostgreSQL's choice
    on 60 rows is its own, so there the lookup is asserted bounded and indexed."""
    where, sqlite_index = INDEXES[case]
    statements = Statements(many)
    try:
        page = search_executions(many, where, limit=3)
        plan = statements.plan(0)
        if many.dialect == "postgresql":
            assert plan.startswith("Limit") and "Index" in plan and "Seq Scan" not in plan, plan
        else:
            assert sqlite_index in plan and "SCAN executions" not in plan, plan
        assert str(candidates_module.PROBE_LIMIT + 1) in repr(statements.sent[0][1])
        if page.items:  # the page is read from the short list, by primary key
            statement = statements.sent[1][0]
            assert "few_executions" in statement
            plan = statements.plan(1)
            key = "executions_pkey" if many.dialect == "postgresql" else "autoindex_executions"
            assert key in plan, plan
        else:
            assert len(statements.sent) == 1  # nothing in the index: no other read
    finally:
        statements.close()


def test_a_common_condition_leaves_the_newest_first_walk(many: Store) -> None:
    statements = Statements(many)
    try:
        search_executions(many, "metrics.acc >= 0", limit=3)
        assert "few_executions" in statements.sent[1][0]  # 45 runs: a short list here
        statements.sent.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(candidates_module, "PROBE_LIMIT", 10)
            search_executions(many, "metrics.acc >= 0", limit=3)
        assert "few_executions" not in statements.sent[1][0]
        if many.dialect == "sqlite":  # PostgreSQL's choice on 60 rows says nothing of 1M
            assert "ix_executions_started" in statements.plan(1)
    finally:
        statements.close()
