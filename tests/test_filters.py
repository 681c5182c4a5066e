"""The filter language: what parses to which tree, and where errors point."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmf_core.errors import InvalidInputError
from cmf_core.search.filters import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    Compare,
    Field,
    FilterSyntaxError,
    In,
    IsNull,
    Match,
    Not,
    Or,
    Sort,
    glob_to_like,
    parse_filter,
    parse_sort,
)

ACC = Field("metrics", "accuracy")
LR = Field("params", "lr")
STAGE = Field("stage")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('stage = "train"', Compare(STAGE, "=", "train")),
        ("stage == 'train'", Compare(STAGE, "=", "train")),
        ("stage <> 'train'", Compare(STAGE, "!=", "train")),
        ("metrics.accuracy>=0.9", Compare(ACC, ">=", 0.9)),
        ("params.lr < -1e-3", Compare(LR, "<", -0.001)),
        ("params.epochs = 30", Compare(Field("params", "epochs"), "=", 30)),
        ("params.warm = TRUE", Compare(Field("params", "warm"), "=", True)),
        ('params."learning rate" != 3', Compare(Field("params", "learning rate"), "!=", 3)),
        ("params.model.lr = 1", Compare(Field("params", "model.lr"), "=", 1)),
        ("metrics.val/acc > .5", Compare(Field("metrics", "val/acc"), ">", 0.5)),
        (
            'metrics.accuracy >= 0.9 and (params.lr < 0.01 or stage = "train")',
            And(
                (
                    Compare(ACC, ">=", 0.9),
                    Or((Compare(LR, "<", 0.01), Compare(STAGE, "=", "train"))),
                )
            ),
        ),
        (
            "stage = 'a' or stage = 'b' and not site = 'c'",
            Or(
                (
                    Compare(STAGE, "=", "a"),
                    And((Compare(STAGE, "=", "b"), Not(Compare(Field("site"), "=", "c")))),
                )
            ),
        ),
        ("NOT NOT stage = 'a'", Not(Not(Compare(STAGE, "=", "a")))),
        ("((stage = 'a'))", Compare(STAGE, "=", "a")),
        ('command like "%train\\%%"', Match(Field("command"), "%train\\%%")),
        ('command not like "py%"', Match(Field("command"), "py%", negated=True)),
        ('command glob "python *.py"', Match(Field("command"), "python %.py")),
        ("status in ('failed', 'running')", In(Field("status"), ("failed", "running"))),
        ("params.lr not in (1, 'x', true)", In(LR, (1, "x", True), negated=True)),
        ("site is null", IsNull(Field("site"))),
        ("site IS NOT NULL", IsNull(Field("site"), negated=True)),
        ("site = null", IsNull(Field("site"))),
        ("site != null", IsNull(Field("site"), negated=True)),
        ('git_commit = "A1B2"', Compare(Field("git_commit"), "=", "a1b2")),
        ("started_at >= '2024-05-01'", Compare(Field("started_at"), ">=", date(2024, 5, 1))),
        (
            "ended_at < '2024-05-01T12:00:00+02:00'",
            Compare(Field("ended_at"), "<", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ),
        (
            "started_at = '2024-05-01 12:30'",
            Compare(Field("started_at"), "=", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ),
        ("error like 'a\\'b\\\\c\\nd'", Match(Field("error"), "a'b\\c\nd")),
    ],
)
def test_valid_filters_parse_to_the_expected_tree(text: str, tree: object) -> None:
    assert parse_filter(text, "executions") == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('digest = "3F2A"', Compare(Field("digest"), "=", "md5:3f2a")),
        ('digest = "md5:3f2a"', Compare(Field("digest"), "=", "md5:3f2a")),
        (
            "size >= 1024 and nfiles is null",
            And((Compare(Field("size"), ">=", 1024), IsNull(Field("nfiles")))),
        ),
        ('path glob "data/*.csv"', Match(Field("path"), "data/%.csv")),
        ("type in ('model', 'dataset')", In(Field("type"), ("model", "dataset"))),
        ("properties.owner = 'ana'", Compare(Field("properties", "owner"), "=", "ana")),
        ("created_at <= '2024-06-01'", Compare(Field("created_at"), "<=", date(2024, 6, 1))),
    ],
)
def test_artifact_filters_parse_with_their_own_fields(text: str, tree: object) -> None:
    assert parse_filter(text, "artifacts") == tree


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("stage =", 8, "expected a value"),
        ("stage = train", 9, 'quote text: "train"'),
        ("stage = 'train", 9, "no closing '"),
        ("metrics.accuracy >= and", 21, "expected a value"),
        ("(stage = 'a'", 13, "expected ')' to close the '(' at column 1"),
        ("stage = 'a')", 12, "expected 'and', 'or' or the end"),
        ("stage = 'a' stage", 13, "expected 'and', 'or'"),
        ("stage ~ 'a'", 7, "unexpected character '~'"),
        ("stage", 6, "expected a comparison"),
        ("stage not = 'a'", 11, "expected 'like', 'glob' or 'in'"),
        ("site is 'x'", 9, "expected 'null' after 'is'"),
        ("= 1", 1, "expected a field name"),
        ("and", 1, "expected a field name"),
        ("", 1, "the filter is empty"),
        ("   ", 1, "the filter is empty"),
        ("statu = 'failed'", 1, "unknown field 'statu' (did you mean status?)"),
        ("metrics = 1", 1, "name one of the metrics: metrics.<name>"),
        ("metrics. = 1", 10, "expected a name after metrics."),
        ('params."" = 1', 8, "a quoted name is not empty"),
        ('params."a\\"b" = 1', 8, "holds no"),
        ("metrics.accuracy = 'high'", 20, "metrics.accuracy is a number"),
        ("metrics.accuracy like 'x%'", 18, "like and glob match text"),
        ("stage = 3", 9, 'quote the value: "3"'),
        ("stage = true", 9, "is not true or false"),
        ("status = 'done'", 10, "status is one of running, completed, failed"),
        ("started_at > 'yesterday'", 14, "not an ISO date"),
        ("started_at > 5", 14, "quote the value"),
        ("started_at > '0001-01-01'", 14, "not an ISO date"),
        ("started_at > '9999-12-31T23:00:00-05:00'", 14, "not an ISO date"),
        ("params.x < true", 12, "true and false compare only with = or !="),
        ("site < null", 6, "null only compares with = or !="),
        ("stage in ('a', null)", 16, "null cannot be in a list"),
        ("stage in 'a'", 10, "expected '(' to start the list"),
        ("stage in ('a' 'b')", 15, "expected ',' or ')'"),
        ("stage like 3", 12, "expected a quoted pattern"),
        ("stage like 'a\\\\'", 15, "cannot end in a lone backslash"),
        ("size = 12abc", 8, "is not a number"),
        ("size = 1_000", 8, "not a number cmf can compare"),
        ("size = 99999999999999999999", 8, "not a number cmf can compare"),
        ("size = 1e999", 8, "not a number cmf can compare"),
        ('id = ""', 6, "needs at least the first characters"),
        ("stage = 'a\x00'", 11, "cannot be searched for"),
    ],
)
def test_invalid_filters_raise_a_syntax_error_at_the_right_column(
    text: str, column: int, reason: str
) -> None:
    target = "artifacts" if text.startswith("size") else "executions"
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text, target)
    assert caught.value.column == column
    assert reason in caught.value.reason
    assert isinstance(caught.value, InvalidInputError)


def test_the_message_shows_the_filter_with_a_caret_under_the_column() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("metrics.accuracy >= high", "executions")
    message = str(caught.value)
    first, shown, caret = message.split("\n")
    assert first.startswith("Invalid filter at column 21: expected a value")
    assert shown == "  metrics.accuracy >= high"
    assert caret == "  " + " " * 20 + "^"
    assert shown[caret.index("^")] == "h"


def test_an_unknown_field_lists_every_valid_field_of_the_target() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter("colour = 'red'", "artifacts")
    assert caught.value.reason == (
        "unknown field 'colour'; artifacts have digest, type, path, size, nfiles, stage, "
        "pipeline, created_at, properties.<name>, labels.<name>."
    )
    with pytest.raises(FilterSyntaxError, match="did you mean metrics"):
        parse_filter("metric.accuracy > 1", "executions")
    with pytest.raises(FilterSyntaxError, match="unknown field 'metrics.accuracy'"):
        parse_filter("metrics.accuracy > 1", "artifacts")


def test_a_caret_in_a_long_multiline_filter_stays_under_its_column() -> None:
    text = "stage = 'a' and\n" + "site = 'b' or " * 10 + "site = nope"
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text, "executions")
    _, shown, caret = str(caught.value).split("\n")
    assert caught.value.column == len(text) - 3
    assert shown[caret.index("^") :].startswith("nope")


def test_inputs_over_the_limits_are_refused_before_parsing() -> None:
    with pytest.raises(FilterSyntaxError, match=f"at most {MAX_FILTER_LENGTH} characters"):
        parse_filter("stage = 'a' or " * 200 + "stage = 'a'", "executions")
    with pytest.raises(FilterSyntaxError, match=f"nest at most {MAX_DEPTH} deep"):
        parse_filter("(" * 40 + "stage = 'a'" + ")" * 40, "executions")
    with pytest.raises(FilterSyntaxError, match="nest at most"):
        parse_filter("not " * 40 + "stage = 'a'", "executions")
    with pytest.raises(FilterSyntaxError, match="at most 100 conditions"):
        parse_filter(" or ".join(["id = 'a'"] * 101), "executions")
    with pytest.raises(FilterSyntaxError, match="at most 100 values"):
        parse_filter("id in (" + ",".join(["'a'"] * 101) + ")", "executions")
    assert parse_filter("(" * 31 + "stage = 'a'" + ")" * 31, "executions")


@pytest.mark.parametrize(
    ("glob", "like"),
    [
        ("data/*.csv", "data/%.csv"),
        ("model-?.pt", "model-_.pt"),
        ("100%_done", "100\\%\\_done"),
        ("literal\\*star", "literal*star"),
        ("back\\\\slash", "back\\\\slash"),
        ("trailing\\", "trailing\\\\"),
    ],
)
def test_globs_become_like_patterns(glob: str, like: str) -> None:
    assert glob_to_like(glob) == like


@pytest.mark.parametrize(
    ("text", "target", "sort"),
    [
        ("-started_at", "executions", Sort(Field("started_at"), True)),
        ("ended_at", "executions", Sort(Field("ended_at"), False)),
        ("-metrics.accuracy", "executions", Sort(ACC, True)),
        ("+params.lr", "executions", Sort(LR, False)),
        ("size", "artifacts", Sort(Field("size"), False)),
        ("-created_at", "artifacts", Sort(Field("created_at"), True)),
    ],
)
def test_sort_keys_parse(text: str, target: str, sort: Sort) -> None:
    assert parse_sort(text, target) == sort  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("stage", "executions"),
        ("metrics.", "executions"),
        ("size", "executions"),
        ("-id", "artifacts"),
    ],
)
def test_unknown_sort_keys_name_the_sortable_fields(text: str, target: str) -> None:
    with pytest.raises(InvalidInputError, match="sort by one of"):
        parse_sort(text, target)  # type: ignore[arg-type]


def test_trees_are_frozen_and_hashable() -> None:
    tree = parse_filter("stage in ('a', 'b') and not site is null", "executions")
    assert hash(tree) == hash(parse_filter("stage in ('a','b') AND NOT site IS NULL", "executions"))
    with pytest.raises(AttributeError):
        tree.items = ()  # type: ignore[misc, union-attr]


# -- any text parses or raises FilterSyntaxError -------------------------------------------------

TOKENS = st.sampled_from(
    [
        "stage", "metrics.accuracy", "params.lr", "params.", "site", "started_at", "size",
        "and", "or", "not", "like", "glob", "in", "is", "null", "true", "false",
        "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "==", "<>", "!",
        "'a'", '"train"', "'2024-05-01'", "'", '"', "\\", "0.9", "-1", "1e5", ".5", "1e",
        " ", "\n", "\x00", "\ud800", "é", "%", "*",
    ]
)  # fmt: skip


def _parses_or_says_why(text: str, target: str) -> None:
    try:
        parse_filter(text, target)  # type: ignore[arg-type]
    except FilterSyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1
        assert str(exc).startswith(f"Invalid filter at column {exc.column}: ")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["executions", "artifacts"]))
def test_any_text_either_parses_or_raises_the_syntax_error(text: str, target: str) -> None:
    _parses_or_says_why(text, target)


@settings(max_examples=600, deadline=None)
@given(st.lists(TOKENS, max_size=40).map(" ".join), st.sampled_from(["executions", "artifacts"]))
def test_any_string_of_filter_tokens_either_parses_or_raises_the_syntax_error(
    text: str, target: str
) -> None:
    _parses_or_says_why(text, target)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 5000), st.sampled_from(["(", "not ", "( not ", "(("]))
def test_deep_nesting_never_overflows_the_stack(depth: int, opener: str) -> None:
    _parses_or_says_why(opener * depth + "stage = 'a'" + ")" * depth, "executions")


@settings(max_examples=20, deadline=None)
@given(st.integers(MAX_FILTER_LENGTH - 5, 200_000), st.sampled_from(["stage='a' or ", "(", "x"]))
def test_huge_inputs_are_refused_quickly(size: int, unit: str) -> None:
    _parses_or_says_why((unit * (size // len(unit) + 1))[:size], "executions")
