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
PARAMS = (  # numbers (equal ones), integers, text, booleans, missing keys
    lambda n: {"lr": round(n % 6 / 100, 2), "batch": 32 * (n % 3), "opt": "adam"},
    lambda n: {"lr": str(n % 4 / 100), "opt": "sgd", "warm": True},
    lambda n: {"batch": 2**60 + n % 2, "warm": False},
    lambda n: {},
    lambda n: {"lr": n % 3, "nested": {"lr": 1}},
)


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
            params=PARAMS[n % len(PARAMS)](n),
        )
    for n in range(4, 60, 15):  # running: params merged later, replacing and adding keys
        store.update_execution(f"e{n:02d}", params={"lr": 0.07, "late": "yes"})
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
    "params.lr > 100",
    "params.lr >= 0",
    "params.lr = 0.02",
    "params.lr = 2",
    "params.lr < 0.03",
    "params.lr in (0.01, 1, 0.07)",
    'params.lr = "0.02"',
    'params.opt in ("adam", "nope")',
    'params.late = "yes"',
    "params.batch = 1152921504606846977",
    "params.batch > 1152921504606846976",
    "params.warm = true",
    'params.opt > "b"',
    "params.nope = 1",
    "params.lr != 0.02",
    'params.opt = "adam" and params.batch <= 32',
]
SORTS = [
    "-started_at",
    "started_at",
    "-metrics.acc",
    "metrics.acc",
    "-metrics.loss",
    "-params.lr",
    "params.batch",
    "params.nope",
]


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
                # Tiny tables: ask what the indexes make possible, not what is cheapest.
                conn.exec_driver_sql("SET enable_seqscan = off")
                conn.exec_driver_sql("SET enable_sort = off")
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
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
    "param": ("params.lr > 100", "ix_execution_params_number (name=? AND number>?)"),
    "param in": ("params.lr in (5, 6)", "ix_execution_params_number (name=? AND number=?)"),
    "param text": ('params.opt = "x"', "ix_execution_params_string (name=? AND string=?)"),
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


@pytest.mark.parametrize("sort", ["-params.lr", "params.batch", "-metrics.acc"])
def test_a_sort_by_a_param_or_a_metric_reads_along_its_index(many: Store, sort: str) -> None:
    statements = Statements(many)
    try:
        search_executions(many, sort=sort, limit=3)
        plan = statements.plan(0)
        index = "ix_metrics_name_value" if "metrics" in sort else "ix_execution_params_number"
        if many.dialect == "sqlite":  # the sort key's index drives, in order: no sorting
            assert index in plan.split("\n")[0], plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert index in plan and "Sort" not in plan, plan
    finally:
        statements.close()


@pytest.mark.parametrize(
    "where", ["metrics.acc >= 0", 'status = "completed"', 'stage = "train"', 'pipeline = "churn"']
)
def test_a_common_condition_leaves_the_newest_first_walk(many: Store, where: str) -> None:
    """Many matches: no short list, and SQLite walks ix_executions_started rather than read
    every match of a status, stage or pipeline through its index and sort them."""
    statements = Statements(many)
    try:
        search_executions(many, where, limit=3)
        assert "few_executions" in statements.sent[1][0]  # 60 runs: a short list here
        statements.sent.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(candidates_module, "PROBE_LIMIT", 10)
            search_executions(many, where, limit=3)
        assert "few_executions" not in statements.sent[1][0]
        if many.dialect == "sqlite":  # PostgreSQL's choice on 60 rows says nothing of 1M
            plan = statements.plan(1)
            assert "SCAN executions USING INDEX ix_executions_started" in plan, plan
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    finally:
        statements.close()


def params_rows(store: Store) -> list[tuple[Any, ...]]:
    with store._engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM execution_params ORDER BY 1, 2")
        return [tuple(r) for r in rows]


def test_migration_0010_fills_execution_params_from_the_stored_params(store_url: str) -> None:
    """Down to 0009 (no table, no triggers) and up again: the rows are those the triggers
    kept, and the triggers are back (an update after the upgrade shows)."""
    from alembic import command
    from alembic.config import Config

    from cmf_core.store.migrate import MIGRATIONS

    with Store(store_url) as store:
        build(store)
        kept = params_rows(store)
        assert (("e04", "late", None, "yes")) in kept and len(kept) > 60
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store._engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0009")
            command.upgrade(config, "head")
        assert params_rows(store) == kept
        store.update_execution("e19", params={"lr": 5})
        assert ("e19", "lr", 5, None) in params_rows(store)
        assert [e.id for e in search_executions(store, "params.lr = 5").items] == ["e19"]
