"""Searching executions and artifacts with filters, sorting and cursors, on both backends."""

import base64
import json
import math
import operator as op
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cmf_core.errors import InvalidInputError
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.search.filters import (
    And,
    Compare,
    Field,
    FilterSyntaxError,
    In,
    IsNull,
    Match,
    Node,
    Not,
    Or,
    parse_filter,
    parse_sort,
)
from cmf_core.search.search import search_artifacts, search_executions
from cmf_core.store import ArtifactRow, Store
from cmf_mcp.cli.main import cli

T0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
ALL = ["e06", "e05", "e04", "e03", "e02", "e01"]  # newest first; e04 and e03 start together


def digest(char: str) -> str:
    return "md5:" + char * 32


RAW, PREPARED, MODEL1, MODEL2 = digest("a"), digest("b"), digest("c"), digest("d")
FEATURES, REPORT = digest("e") + ".dir", digest("f")


def add(
    store: Store,
    id: str,
    *,
    pipeline: str = "fraud",
    stage: str = "train",
    at: datetime,
    status: str = "completed",
    metrics: dict[str, float] | None = None,
    inputs: Sequence[tuple[str, str, int, str]] = (),
    outputs: Sequence[tuple[str, str, int, str]] = (),
    error: str | None = None,
    nfiles: int | None = None,
    artifact_properties: dict[str, Any] | None = None,
    **columns: Any,
) -> None:
    """One execution with its events and execution-level metrics, started at ``at``."""
    stage_id = store.ensure_stage(pipeline, stage)
    store.start_execution(id=id, stage_id=stage_id, started_at=at, **columns)
    for direction, rows in ((EventDirection.INPUT, inputs), (EventDirection.OUTPUT, outputs)):
        for name, type, size, path in rows:
            row = ArtifactRow(name, type, size, nfiles, artifact_properties or {})
            store.record_artifact(row, execution_id=id, direction=direction, path=path)
    if metrics:
        store.add_metrics(id, [(n, None, v, at.timestamp()) for n, v in metrics.items()])
    if status != "running":
        store.end_execution(id, status=ExecutionStatus(status), error=error)


def build(s: Store) -> None:
    """Six executions in two pipelines and six artifacts, every answer known."""
    raw = (RAW, "dataset", 100, "data/raw.csv")
    prepared = (PREPARED, "dataset", 2000, "data/prepared.csv")
    add(s, "e01", stage="prepare", at=T0, params={"sample": 0.5}, metrics={"rows": 1000},
        site="edge-7", git_commit_start="a1b2c3d4", git_branch="main",
        command="python prepare.py", inputs=[raw], outputs=[prepared])  # fmt: skip
    add(s, "e02", at=T0 + timedelta(hours=1), inputs=[prepared],
        outputs=[(MODEL1, "model", 5000, "models/model.pt")], site="dc-lyon",
        params={"lr": 0.01, "optimizer": "adam", "warm": True},
        metrics={"accuracy": 0.9, "loss": 0.3}, git_commit_start="a1b2c3d4")  # fmt: skip
    add(s, "e03", at=T0 + timedelta(hours=2), params={"lr": 0.001, "optimizer": "sgd"},
        metrics={"accuracy": 0.95}, git_commit_start="ffee0011",
        outputs=[(MODEL2, "model", 6000, "models/model.pt")],
        artifact_properties={"owner": "ana"})  # fmt: skip
    add(s, "e04", at=T0 + timedelta(hours=2), params={"lr": "0.005"},
        metrics={"accuracy": 0.9}, status="failed", error="RuntimeError: CUDA out of memory",
    )  # fmt: skip
    add(s, "e05", pipeline="churn", at=T0 + timedelta(hours=23), status="running",
        params={"lr": 0.1, "optimizer": "Adam"}, inputs=[(RAW, "dataset", 100, "raw/raw.csv")],
        outputs=[(FEATURES, "dataset", 300, "data/features")], nfiles=3)  # fmt: skip
    add(s, "e06", pipeline="churn", stage="evaluate", at=T0 + timedelta(hours=26),
        metrics={"accuracy": math.nan}, properties={"tag": "baseline"},
        inputs=[(MODEL1, "model", 5000, "models/model.pt")],
        outputs=[(REPORT, "metrics", 100, "reports/metrics.json")])  # fmt: skip


def postgres_schema(database_url: str) -> str:
    """A fresh schema in the run's PostgreSQL database, as a store URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = make_url(database_url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    options = {"options": f"-csearch_path={schema}"}
    return url.update_query_dict(options).render_as_string(hide_password=False)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def searchable(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The known store, built once per backend for the tests that only read it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'metadata.db'}"
    else:
        url = postgres_schema(request.getfixturevalue("postgres_database"))
    with Store(url) as s:
        build(s)
        yield s


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The known store, fresh for a test that adds to it."""
    with Store(store_url) as s:
        build(s)
        yield s


def ids(store: Store, where: str | None = None, **options: Any) -> list[str]:
    return [e.id for e in search_executions(store, where, limit=1000, **options).items]


def digests(store: Store, where: str | None = None, **options: Any) -> list[str]:
    return [h.artifact.digest for h in search_artifacts(store, where, limit=1000, **options).items]


EXECUTION_FILTERS = [
    ('stage = "train"', ["e05", "e04", "e03", "e02"]),
    ("pipeline = 'churn'", ["e06", "e05"]),
    ("status = 'failed'", ["e04"]),
    ("status in ('running', 'failed')", ["e05", "e04"]),
    ("site = 'edge-7'", ["e01"]),
    ("site != 'edge-7'", ["e02"]),
    ("site is null", ["e06", "e05", "e04", "e03"]),
    ("metrics.accuracy >= 0.9", ["e04", "e03", "e02"]),
    ("metrics.accuracy > 0.9", ["e03"]),
    ("metrics.accuracy in (0.95, 0.5)", ["e03"]),
    ("metrics.accuracy is null", ["e06", "e05", "e01"]),
    ("metrics.rows > 10 or metrics.loss < 1", ["e02", "e01"]),
    ("params.lr < 0.05", ["e03", "e02"]),
    ("params.lr >= 0", ["e05", "e03", "e02"]),
    ('params.lr = "0.005"', ["e04"]),
    ("params.lr in (0.1, '0.005')", ["e05", "e04"]),
    ("params.lr is null", ["e06", "e01"]),
    ("params.optimizer like '%am'", ["e05", "e02"]),
    ("params.optimizer like 'a%'", ["e02"]),
    ("params.optimizer glob '?dam'", ["e05", "e02"]),
    ("params.optimizer < 'b'", ["e05", "e02"]),
    ("params.warm = true", ["e02"]),
    ("params.warm != true", []),
    ("params.optimizer = true", []),
    ("params.optimizer = 1", []),
    ("properties.tag = 'baseline'", ["e06"]),
    ("git_commit = 'A1B2'", ["e02", "e01"]),
    ("git_commit != 'a1b2'", ["e03"]),
    ("git_commit in ('ffee', 'a1b2c3d4')", ["e03", "e02", "e01"]),
    ("git_branch = 'main'", ["e01"]),
    ("id = 'e0'", ALL),
    ("id in ('e01', 'e06')", ["e06", "e01"]),
    ("id > 'e04'", ["e06", "e05"]),
    ("started_at = '2024-05-01'", ["e04", "e03", "e02", "e01"]),
    ("started_at <= '2024-05-01'", ["e04", "e03", "e02", "e01"]),
    ("started_at > '2024-05-01'", ["e06", "e05"]),
    ("started_at != '2024-05-02'", ["e04", "e03", "e02", "e01"]),
    ("started_at < '2024-05-01T11:00:00Z'", ["e01"]),
    ("started_at >= '2024-05-01T13:00:00+02:00'", ["e06", "e05", "e04", "e03", "e02"]),
    ("started_at in ('2024-05-02', '2024-05-01 10:00')", ["e06", "e05", "e01"]),
    ("ended_at is null", ["e05"]),
    ("ended_at > '2024-01-01'", ["e06", "e04", "e03", "e02", "e01"]),
    ("command like 'python %'", ["e01"]),
    ("error like '%CUDA%'", ["e04"]),
    ("metrics.accuracy >= 0.9 and (params.lr < 0.005 or status = 'failed')", ["e04", "e03"]),
    ("not (stage = 'train' or stage = 'prepare')", ["e06"]),
]


@pytest.mark.parametrize(("where", "expected"), EXECUTION_FILTERS)
def test_execution_filters_find_exactly_the_expected_runs(
    searchable: Store, where: str, expected: list[str]
) -> None:
    assert ids(searchable, where) == expected


@pytest.mark.parametrize("where", [where for where, _ in EXECUTION_FILTERS])
def test_not_is_the_exact_complement_even_where_values_are_missing(
    searchable: Store, where: str
) -> None:
    matched = ids(searchable, where)
    assert ids(searchable, f"not ({where})") == [i for i in ALL if i not in matched]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"pipeline": "fraud", "stage": "train"}, ["e04", "e03", "e02"]),
        ({"status": ExecutionStatus.FAILED}, ["e04"]),
        ({"status": "running"}, ["e05"]),
        ({"site": "edge-7"}, ["e01"]),
        ({"since": "2024-05-02"}, ["e06", "e05"]),
        ({"since": date(2024, 5, 2)}, ["e06", "e05"]),
        ({"until": "2024-05-01"}, ["e04", "e03", "e02", "e01"]),
        ({"until": datetime(2024, 5, 1, 11, tzinfo=UTC)}, ["e01"]),
        ({"since": datetime(2024, 5, 1, 11), "until": "2024-05-01T12:00:00"}, ["e02"]),
        ({"git_commit": "FFEE"}, ["e03"]),
        ({"where": "metrics.accuracy >= 0.9", "status": "completed"}, ["e03", "e02"]),
        ({"where": "  "}, ALL),
    ],
)
def test_keyword_filters_and_with_the_filter(
    searchable: Store, options: dict[str, Any], expected: list[str]
) -> None:
    assert ids(searchable, **options) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"status": "done"}, "status is one of running, completed, failed"),
        ({"since": "last week"}, "not an ISO date"),
        ({"since": 5}, "since is a date"),
        ({"git_commit": " "}, "needs at least the first characters"),
        ({"pipeline": ""}, "pipeline must be non-empty text"),
        ({"sort": "stage"}, "sort by one of started_at, ended_at, metrics.<name>, params.<name>"),
        ({"limit": 0}, "limit must be a whole number from 1 to 1000"),
        ({"limit": 1001}, "from 1 to 1000"),
        ({"limit": True}, "from 1 to 1000"),
        ({"where": 3}, "A filter is text"),
    ],
)
def test_bad_arguments_say_what_is_allowed(
    searchable: Store, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        search_executions(searchable, **options)


def test_a_filter_error_points_at_the_column(searchable: Store) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        search_executions(searchable, "metrics.accuracy >= 0.9 and sage = 'x'")
    assert caught.value.column == 29
    assert "did you mean stage?" in str(caught.value)


SORTS = [
    ("-started_at", ALL),
    ("started_at", ["e01", "e02", "e03", "e04", "e05", "e06"]),
    ("-ended_at", ["e06", "e04", "e03", "e02", "e01", "e05"]),
    ("ended_at", ["e01", "e02", "e03", "e04", "e06", "e05"]),
    ("-metrics.accuracy", ["e03", "e04", "e02", "e06", "e05", "e01"]),
    ("metrics.accuracy", ["e02", "e04", "e03", "e01", "e05", "e06"]),
    ("params.lr", ["e03", "e02", "e05", "e01", "e04", "e06"]),
    ("-params.lr", ["e05", "e02", "e03", "e06", "e04", "e01"]),
]


@pytest.mark.parametrize(("sort", "expected"), SORTS)
def test_sorting_puts_missing_keys_last_and_breaks_ties_by_id(
    searchable: Store, sort: str, expected: list[str]
) -> None:
    assert ids(searchable, sort=sort) == expected


MAX_PAGES = 100  # far more than any walk here needs: past it, the cursor does not advance


def walk(search: Any, store: Store, limit: int, **options: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = search(store, limit=limit, cursor=cursor, **options)
        seen += [getattr(item, "id", None) or item.artifact.digest for item in page.items]
        assert page.has_more == (page.next_cursor is not None)
        if not page.has_more:
            return seen
        assert len(page.items) == limit
        cursor = page.next_cursor
    pytest.fail(
        f"{MAX_PAGES} pages of {limit} and still more: the cursor does not advance "
        f"(the last items seen: {seen[-3 * limit :]})"
    )


@pytest.mark.parametrize("limit", [1, 2, 4])
@pytest.mark.parametrize(("sort", "expected"), SORTS)
def test_pages_walk_every_execution_exactly_once(
    searchable: Store, sort: str, expected: list[str], limit: int
) -> None:
    assert walk(search_executions, searchable, limit, sort=sort) == expected


def test_pages_with_a_filter_walk_its_matches_once(searchable: Store) -> None:
    found = walk(
        search_executions, searchable, 1, where="stage = 'train'", sort="-metrics.accuracy"
    )
    assert found == ["e03", "e04", "e02", "e05"]


def test_pages_stay_stable_when_runs_are_added_meanwhile(store: Store) -> None:
    first = search_executions(store, limit=2)
    assert [e.id for e in first.items] == ["e06", "e05"]
    add(store, "e07", at=T0 + timedelta(days=5))  # newer than the page: not seen
    add(store, "e00", at=T0 - timedelta(days=5))  # older: comes at the end
    cursor, rest = first.next_cursor, []
    while cursor:
        page = search_executions(store, limit=2, cursor=cursor)
        rest += [e.id for e in page.items]
        cursor = page.next_cursor
    assert rest == ["e04", "e03", "e02", "e01", "e00"]


def test_a_cursor_only_continues_the_search_that_made_it(searchable: Store) -> None:
    page = search_executions(searchable, "stage = 'train'", limit=1)
    assert page.next_cursor
    for other in (
        {"where": "stage = 'prepare'"},
        {"where": "stage = 'train'", "sort": "started_at"},
        {"where": "stage = 'train'", "pipeline": "fraud"},
    ):
        with pytest.raises(InvalidInputError, match="belongs to a different search"):
            search_executions(searchable, limit=1, cursor=page.next_cursor, **other)
    with pytest.raises(InvalidInputError, match="belongs to a different search"):
        search_artifacts(searchable, limit=1, cursor=page.next_cursor)
    same = search_executions(searchable, "  stage='train'  ", limit=5, cursor=page.next_cursor)
    assert [e.id for e in same.items] == ["e04", "e03", "e02"]


@pytest.mark.parametrize("cursor", ["", "nonsense", "e30=", "eyJxIjogMX0", "W10", "bnVsbA"])
def test_a_cursor_that_cmf_did_not_make_is_refused(searchable: Store, cursor: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a cursor from cmf"):
        search_executions(searchable, cursor=cursor)


def forge(real: str, *, key: Any, tie: Any = None, bare: bool = False) -> str:
    """``real`` with its sort key (and tie) replaced; ``bare`` writes NaN/Infinity unquoted."""
    payload = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    payload["p"] = [key, payload["p"][1] if tie is None else tie]
    text = json.dumps(payload)
    if bare:  # what json.dumps writes for float("nan") and float("inf")
        text = text.replace(f'"{key}"', key)
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("sort", "key", "tie"),
    [
        ("-started_at", "yesterday", "e05"),
        ("-started_at", True, "e05"),
        ("-started_at", "2024-05-01", 5),
        ("-metrics.accuracy", "0.9", "e05"),
        ("-metrics.accuracy", False, "e05"),
    ],
)
def test_a_tampered_cursor_is_refused(searchable: Store, sort: str, key: Any, tie: Any) -> None:
    real = search_executions(searchable, sort=sort, limit=1).next_cursor
    assert real
    cursor = forge(real, key=key, tie=tie)
    expected = "is not a cursor from a cmf search" if tie == 5 else "is not valid for this query"
    with pytest.raises(InvalidInputError, match=expected):
        search_executions(searchable, sort=sort, cursor=cursor)


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-started_at", None),  # started_at is never null
        ("-started_at", "2024-05-01T10:00:00"),  # naive
        ("-started_at", "9999-12-31T23:59:59-05:00"),  # past year 9999 in UTC
        ("-started_at", 17),
        ("-ended_at", "0001-01-01T00:00:00+05:00"),
        ("-metrics.accuracy", 2**63),
        ("-metrics.accuracy", -(2**70)),
        ("-metrics.accuracy", "NaN"),
        ("-metrics.accuracy", "Infinity"),
        ("-params.lr", 10**40),
    ],
)
def test_a_cursor_key_that_does_not_fit_the_sort_is_refused_without_an_overflow(
    searchable: Store, sort: str, key: Any
) -> None:
    real = search_executions(searchable, sort=sort, limit=1).next_cursor
    assert real
    cursor = forge(real, key=key, bare=key in ("NaN", "Infinity"))
    with pytest.raises(InvalidInputError, match="is not valid for this query; start without"):
        search_executions(searchable, sort=sort, cursor=cursor)


def test_a_cursor_size_must_be_a_whole_number(searchable: Store) -> None:
    real = search_artifacts(searchable, sort="-size", limit=1).next_cursor
    assert real
    for key in (1.5, 2**63):
        cursor = forge(real, key=key)
        with pytest.raises(InvalidInputError, match="is not valid for this query"):
            search_artifacts(searchable, sort="-size", cursor=cursor)


def test_a_json_key_the_language_cannot_write_is_refused_by_the_store(searchable: Store) -> None:
    where = Compare(Field("params", 'a"b'), "=", 1)
    with pytest.raises(InvalidInputError, match="A JSON key holds no"):
        searchable.search_executions(
            where, sort=parse_sort("-started_at", "executions"), limit=1, after=None
        )


def test_text_that_looks_like_sql_is_only_data(store: Store) -> None:
    evil = "x'); DROP TABLE executions; --"
    add(store, "e99", stage=evil, at=T0 - timedelta(days=1), params={evil: 1})
    quoted = evil.replace("'", "\\'")
    assert ids(store, f"stage = '{quoted}'") == ["e99"]
    assert ids(store, "stage = \"' OR '1'='1\"") == []
    assert ids(store, 'stage like "%\' OR 1=1 --"') == []
    assert ids(store, f'params."{evil}" = 1') == ["e99"]
    assert ids(store, 'params."\') or 1=1 --" = 1') == []
    assert ids(store, "metrics.\"accuracy' OR '1'='1\" > 0") == []
    assert store.count("executions") == 7


def test_like_is_case_sensitive_and_escapes_its_wildcards(store: Store) -> None:
    add(store, "e10", stage="50%_off", at=T0 - timedelta(days=1))
    add(store, "e11", stage="50xoff", at=T0 - timedelta(days=2))
    assert ids(store, "stage like '50%'") == ["e10", "e11"]
    assert ids(store, "stage like '50\\%\\_off'") == ["e10"]
    assert ids(store, "stage like '50_off'") == ["e11"]
    assert ids(store, "stage glob '50[*]'") == []
    assert ids(store, "stage like 'TRAIN'") == []
    assert ids(store, "stage like 'tr_in'") == ["e05", "e04", "e03", "e02"]


def test_a_like_pattern_ending_in_a_backslash_means_the_same_on_both_backends(
    store: Store,
) -> None:
    add(store, "e12", stage="back\\", at=T0 - timedelta(days=1))
    add(store, "e13", stage="back", at=T0 - timedelta(days=2))
    with pytest.raises(FilterSyntaxError, match="lone backslash"):
        ids(store, "stage like 'back\\\\'")
    assert ids(store, "stage like 'back\\\\\\\\'") == ["e12"]  # an escaped backslash
    # A tree built without the parser: the lone backslash is a literal one everywhere.
    found = store.search_executions(
        Match(Field("stage"), "back\\"), sort=parse_sort("-started_at", "executions"),
        limit=10, after=None,
    )  # fmt: skip
    assert [f.execution.id for f in found] == ["e12"]


# -- artifacts -----------------------------------------------------------------------------------

NEWEST_FIRST = [REPORT, FEATURES, MODEL2, MODEL1, PREPARED, RAW]


@pytest.mark.parametrize(
    ("where", "options", "expected"),
    [
        (None, {}, NEWEST_FIRST),
        ("type = 'model'", {}, [MODEL2, MODEL1]),
        (None, {"type": "model"}, [MODEL2, MODEL1]),
        ("path glob 'data/*'", {}, [FEATURES, PREPARED, RAW]),
        (None, {"path": "models/*"}, [MODEL2, MODEL1]),
        (None, {"path": "*.csv"}, [PREPARED, RAW]),
        ("path like 'data/%.csv'", {}, [PREPARED, RAW]),
        ("path = 'raw/raw.csv'", {}, [RAW]),
        ("path is null", {}, []),
        ("digest = 'CC'", {}, [MODEL1]),
        ("digest in ('ee', 'md5:ff')", {}, [REPORT, FEATURES]),
        (None, {"digest_prefix": "dd"}, [MODEL2]),
        ("digest like '%.dir'", {}, [FEATURES]),
        ("size >= 2000", {}, [MODEL2, MODEL1, PREPARED]),
        (None, {"min_size": 100, "max_size": 2000}, [REPORT, FEATURES, PREPARED, RAW]),
        ("nfiles is not null", {}, [FEATURES]),
        ("stage = 'train'", {}, [FEATURES, MODEL2, MODEL1]),
        (None, {"produced_by_stage": "prepare"}, [PREPARED]),
        ("pipeline = 'churn'", {}, [REPORT, FEATURES]),
        ("stage is null", {}, [RAW]),
        (None, {"pipeline": "churn"}, [REPORT, FEATURES, MODEL1, RAW]),
        ("properties.owner = 'ana'", {}, [MODEL2]),
        ("created_at >= '2000-01-01' and not type = 'dataset'", {}, [REPORT, MODEL2, MODEL1]),
        ("type = 'model'", {"pipeline": "fraud", "path": "models/*"}, [MODEL2, MODEL1]),
    ],
)
def test_artifact_filters_find_exactly_the_expected_artifacts(
    searchable: Store, where: str | None, options: dict[str, Any], expected: list[str]
) -> None:
    assert digests(searchable, where, **options) == expected


def test_an_artifact_hit_carries_its_last_path_and_its_producer(searchable: Store) -> None:
    hits = {h.artifact.digest: h for h in search_artifacts(searchable).items}
    assert (hits[RAW].path, hits[RAW].produced_by, hits[RAW].stage) == ("raw/raw.csv", None, None)
    model = hits[MODEL1]
    assert (model.path, model.produced_by, model.pipeline, model.stage) == (
        "models/model.pt",
        "e02",
        "fraud",
        "train",
    )
    assert hits[FEATURES].artifact.nfiles == 3
    assert (hits[REPORT].pipeline, hits[REPORT].stage) == ("churn", "evaluate")


ARTIFACT_SORTS = [
    ("-created_at", NEWEST_FIRST),
    ("created_at", NEWEST_FIRST[::-1]),
    ("size", [RAW, REPORT, FEATURES, PREPARED, MODEL1, MODEL2]),
    ("-size", [MODEL2, MODEL1, PREPARED, FEATURES, REPORT, RAW]),
    ("-nfiles", [FEATURES, REPORT, MODEL2, MODEL1, PREPARED, RAW]),
]


@pytest.mark.parametrize("limit", [1, 4, 50])
@pytest.mark.parametrize(("sort", "expected"), ARTIFACT_SORTS)
def test_artifact_pages_walk_every_artifact_exactly_once(
    searchable: Store, sort: str, expected: list[str], limit: int
) -> None:
    assert walk(search_artifacts, searchable, limit, sort=sort) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"type": "weights"}, "type is one of dataset, model"),
        ({"min_size": -1}, "min_size is a number of bytes"),
        ({"digest_prefix": "md5:"}, "needs at least the first characters"),
        ({"sort": "started_at"}, "sort by one of created_at, size, nfiles"),
        ({"where": "metrics.accuracy > 1"}, "unknown field 'metrics.accuracy'"),
    ],
)
def test_bad_artifact_arguments_say_what_is_allowed(
    searchable: Store, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        search_artifacts(searchable, **options)


# -- cmf ls --------------------------------------------------------------------------------------


def cmf(store: Store, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", store.url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ls_executions_where_sort_and_json_print_the_matches(
    searchable: Store, bare_project: Path
) -> None:
    code, out, err = cmf(
        searchable, "ls", "executions", "--where", "metrics.accuracy >= 0.9",
        "--sort", "-metrics.accuracy", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert [row["id"] for row in json.loads(out)] == ["e03", "e04", "e02"]
    code, out, _ = cmf(
        searchable, "ls", "executions", "--where", "params.lr < 0.05", "--stage", "train"
    )
    assert code == 0 and "e03" in out and "e02" in out and "e05" not in out


def test_ls_prints_the_next_cursor_on_stderr_and_continues_from_it(
    searchable: Store, bare_project: Path
) -> None:
    seen: list[str] = []
    args = ["ls", "executions", "--where", "stage = 'train'", "--limit", "3", "--json"]
    code, out, err = cmf(searchable, *args)
    assert code == 0
    seen += [row["id"] for row in json.loads(out)]
    assert err.startswith("3 of 4 shown. More: add --cursor ")
    cursor = err.split("--cursor ")[1].split()[0]
    code, out, err = cmf(searchable, *args, "--cursor", cursor)
    assert (code, err) == (0, "")
    seen += [row["id"] for row in json.loads(out)]
    assert seen == ["e05", "e04", "e03", "e02"]


def test_ls_artifacts_where_path_like_prints_paths_and_producers(
    searchable: Store, bare_project: Path
) -> None:
    code, out, _ = cmf(searchable, "ls", "artifacts", "--where", 'path like "data/%"', "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["digest"], r["path"], r["stage"]) for r in rows] == [
        (FEATURES, "data/features", "train"),
        (PREPARED, "data/prepared.csv", "prepare"),
        (RAW, "raw/raw.csv", None),
    ]
    code, out, _ = cmf(searchable, "ls", "artifacts", "--type", "model", "--sort", "size")
    assert code == 0 and out.index(MODEL1) < out.index(MODEL2)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["executions", "--where", "stage = train"], 1, "Error: Invalid filter at column 9"),
        (["executions", "--limit", "0"], 1, "Error: limit must be a whole number from 1 to 1000"),
        (["executions", "--cursor", "junk"], 1, "is not a cursor from cmf"),
        (["artifacts", "--sort", "-started_at"], 1, "Error: Cannot sort artifacts"),
        (["pipelines", "--where", "stage = 'a'"], 2, "apply to executions and artifacts"),
        (["artifacts", "--stage", "train"], 2, "--stage does not apply to ls artifacts"),
        (["artifacts", "--status", "failed"], 2, "--status does not apply to ls artifacts"),
        (["executions", "--type", "model"], 2, "--type does not apply to ls executions"),
        (["stages", "--limit", "5"], 2, "--limit does not apply to ls stages"),
        (["pipelines", "--pipeline", "fraud"], 2, "--pipeline does not apply to ls pipelines"),
        (["pipelines", "--limit", "50"], 2, "--limit does not apply to ls pipelines"),
        (["stages", "--type", "model", "--sort", "size"], 2, "--type, --sort do not apply"),
    ],
)
def test_ls_with_bad_search_options_says_what_went_wrong(
    searchable: Store, bare_project: Path, args: list[str], code: int, message: str
) -> None:
    got, out, err = cmf(searchable, "ls", *args)
    assert got == code and out == ""
    assert message in err
    if "column" in message:
        assert err.rstrip().endswith("^")


# -- random filters agree with a reference evaluator of the documented semantics -----------------

LITERALS: dict[str, Any] = {
    "stage": st.sampled_from(["train", "prepare", "evaluate", "tr", "x' OR 1=1 --"]),
    "site": st.sampled_from(["edge-7", "dc-lyon", "edge"]),
    "status": st.sampled_from(["completed", "failed", "running"]),
    "id": st.sampled_from(["e0", "e01", "e04", "e1"]),
    "git_commit": st.sampled_from(["a1b2", "ffee0011", "f"]),
    "command": st.sampled_from(["python prepare.py", "python", "z"]),
    "error": st.sampled_from(["RuntimeError: CUDA out of memory", "R", "S"]),
    "params.lr": st.one_of(
        st.floats(-0.5, 0.5, allow_nan=False), st.sampled_from(["0.005", 0, 1, 0.01, True])
    ),
    "params.optimizer": st.sampled_from(["adam", "Adam", "sgd", "b", 3, True]),
    "params.warm": st.booleans(),
    "properties.tag": st.sampled_from(["baseline", "other", 1]),
    "metrics.accuracy": st.one_of(st.floats(0.5, 1.0), st.sampled_from([0.9, 0.95])),
    "metrics.rows": st.sampled_from([10, 1000, 1000.0, 5000]),
    "started_at": st.sampled_from(
        ["2024-05-01", "2024-05-02", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00+01:00"]
    ),
}
PATTERNS = st.text(alphabet="adeinprtmoy %_\\.", max_size=6)
TEXT_FIELDS = ["stage", "site", "command", "error", "params.optimizer", "properties.tag"]


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@st.composite
def conditions(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(sorted(LITERALS)))
    shape = draw(st.sampled_from(["compare", "compare", "in", "null", "like"]))
    if shape == "like" and field in TEXT_FIELDS:
        word = draw(st.sampled_from(["like", "not like", "glob"]))
        return f"{field} {word} {literal(draw(PATTERNS))}"
    if shape == "null":
        return f"{field} is {draw(st.sampled_from(['', 'not ']))}null"
    if shape == "in":
        values = draw(st.lists(LITERALS[field], min_size=1, max_size=3))
        return (
            f"{field} {draw(st.sampled_from(['in', 'not in']))} ({', '.join(map(literal, values))})"
        )
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    return f"{field} {op} {literal(draw(LITERALS[field]))}"


FILTERS = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda text: f"not {text}"),
    ),
    max_leaves=5,
)


def like_regex(pattern: str) -> re.Pattern[str]:
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        else:
            out.append({"%": ".*", "_": "."}.get(char) or re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def reference_value(field: Field, run: dict[str, Any]) -> Any:
    """The field's value as the filter language documents it (None: missing)."""
    if field.name == "metrics":
        value = run["metrics"].get(field.key)
        return None if value is None or math.isnan(value) else value
    if field.name in ("params", "properties"):
        return run[field.name].get(field.key)
    return run[field.name]


def holds(node: Node, run: dict[str, Any]) -> bool:
    if isinstance(node, And):
        return all(holds(item, run) for item in node.items)
    if isinstance(node, Or):
        return any(holds(item, run) for item in node.items)
    if isinstance(node, Not):
        return not holds(node.item, run)
    if isinstance(node, In):
        found = any(holds(Compare(node.field, "=", v), run) for v in node.values)
        return found != node.negated
    value = reference_value(node.field, run)
    if isinstance(node, IsNull):
        return (value is None) != node.negated
    if isinstance(node, Match):
        found = isinstance(value, str) and bool(like_regex(node.pattern).fullmatch(value))
        return found != node.negated
    wanted, op = node.value, node.op
    if value is None or isinstance(value, bool) != isinstance(wanted, bool):
        return False
    if isinstance(wanted, str) != isinstance(value, str):
        return False
    if node.field.name in ("id", "git_commit") and op in ("=", "!="):
        return value.startswith(wanted) == (op == "=")
    if type(wanted) is date:
        start = datetime.combine(wanted, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        return {
            "=": start <= value < end,
            "!=": not start <= value < end,
            "<": value < start,
            "<=": value < end,
            ">": value >= end,
            ">=": value >= start,
        }[op]
    return bool(OPS[op](value, wanted))


OPS = {"=": op.eq, "!=": op.ne, "<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}


@settings(max_examples=300, deadline=None)
@given(text=FILTERS)
def test_random_filters_match_exactly_what_the_documented_semantics_say(
    searchable: Store, text: str
) -> None:
    runs = []
    for e in search_executions(searchable, limit=1000).items:
        values = {m.name: m.value for m in searchable.get_metrics(e.id) if m.step is None}
        runs.append({**e.model_dump(), "git_commit": e.git_commit_start, "metrics": values})
    try:
        tree = parse_filter(text, "executions")
    except FilterSyntaxError:
        return
    expected = [run["id"] for run in runs if holds(tree, run)]
    assert ids(searchable, text) == expected, text


def test_params_with_non_ascii_names_are_found_on_every_backend(store: Store) -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    run = str(uuid.UUID(int=uuid.uuid4().int))
    add(store, run, at=at, params={"taux_d'apprentissage_é": 0.5, "学习率": 3})
    assert ids(store, 'params."taux_d\'apprentissage_é" = 0.5') == [run]
    assert ids(store, 'params."学习率" >= 3') == [run]
