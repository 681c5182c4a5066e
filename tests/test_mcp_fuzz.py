"""Hypothesis-generated arguments for every tool: a result or a ToolError, nothing else.

Wrong types, huge strings, odd unicode, negative and huge limits, unknown ids and
prefixes, ``..`` and absolute paths, symlinks out of the project: each call must
come back (no hang: the client times out after 30 s) as a result or as a
``ToolError`` the model can read — never the SDK's bare "Error executing tool X"
that marks an unexpected exception — and nothing outside the store may change.
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp_support import SyncClient, connect, make_server, text, write

from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET, TEXT_BUDGET

Context = tuple[SyncClient, dict[str, str], Path]


def snapshot(folder: Path, *skip: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under ``folder`` but cmf's own (the store, the cache)."""
    found = {}
    for dirpath, _, files in os.walk(folder):
        if any(Path(dirpath).is_relative_to(place) for place in skip):
            continue
        for name in files:
            info = os.lstat(os.path.join(dirpath, name))
            found[os.path.join(dirpath, name)] = (info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture
def fuzzed(bare_project: Path, tmp_path: Path, sqlite_url: str) -> Iterator[Context]:
    outside = write(tmp_path / "outside" / "secret.txt", "secret")
    write(bare_project / "data.csv", "a,b\n1,2\n")
    write(bare_project / "folder" / "inner.csv", "x")
    (bare_project / "folder" / "escape.txt").symlink_to(outside)
    (bare_project / "link.csv").symlink_to(outside)
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            running = client.ok("start_execution", {"pipeline": "p", "stage": "s"})
            logged = client.ok(
                "log_artifact",
                {"execution_id": running["execution_id"], "path": "data.csv", "event": "input"},
            )
            ended = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
            client.ok("end_execution", {"execution_id": ended})
            known = {"ended": ended, "outside": str(outside), "digest": logged["digest"][:12]}
            own = (tmp_path / "store", bare_project / ".cmf" / "cache")  # bytes logged go there
            before = snapshot(tmp_path, *own)
            yield client, known, tmp_path
            assert snapshot(tmp_path, *own) == before
    finally:
        server.close()


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.just("x" * 200_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
odd_text = st.one_of(
    st.text(alphabet="abcdef0123456789-_./", min_size=1, max_size=20),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["", " ", "\x00", "é\u202eü", "名前", "🙂" * 50, "md5:", "-"]),
    st.just("a" * 5_000),
)
names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=80),
    st.sampled_from(["train", "名前", "é\u202eü", "🙂" * 60, "a" * 255, "..", "/etc"]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), odd_text),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
paths = st.one_of(
    st.sampled_from(["data.csv", "./data.csv", "folder/inner.csv", "folder/../data.csv"]),
    st.sampled_from(
        [
            ".",
            "..",
            "../..",
            "/",
            "/etc/passwd",
            "~/x",
            "data.csv/",
            "folder",
            "folder/",
            "folder/escape.txt",
            "link.csv",
            "nosuch/file",
            "data/../../outside/secret.txt",
            "/dev/zero",
            "/proc/self/environ",
            "OUTSIDE",
            "a" * 300,
        ]
    ),
    names,
)
ids = st.one_of(
    st.sampled_from(["RUNNING", "RUNNING", "RUNNING", "RUNNING8", "ENDED", "ffffffff", "0" * 36]),
    st.text(alphabet="0123456789abcdef-", min_size=1, max_size=64),
)
references = st.one_of(
    ids, paths, st.sampled_from(["DIGEST", "md5:", "md5:ff", "md5:" + "0" * 32 + ".dir"])
)
odd_cursors = st.one_of(odd_text, st.sampled_from(["cGlwZWxpbmVzOjk5OTk5OTk5", "ZXZlbnRzOjA"]))
cursors = st.booleans().flatmap(lambda first: st.none() if first else odd_cursors)
filters = st.one_of(
    st.sampled_from(
        [
            'metrics.acc >= 0.5 and (params.lr < 0.01 or stage = "s")',
            "status in ('failed')",
            'params."a b" = 1',
            "not (",
            "id = 'ffff'",
            "started_at <= '2024-99-01'",
            "x" * 2_000,
            "((((((((((((((((((((((((((((((((((a = 1))))))))))))))))))))))))))))))))))",
            "path like '%' and size > -1",
            "digest = 'md5:0'",
            "pipeline is not null or 1",
        ]
    ),
    odd_text,
)


def rarely(
    odd: st.SearchStrategy[Any], usual: st.SearchStrategy[Any], one_in: int = 5
) -> st.SearchStrategy[Any]:
    """``odd`` once in ``one_in`` draws, else ``usual``."""
    return st.integers(1, one_in).flatmap(lambda n: odd if n == 1 else usual)


PLAUSIBLE: dict[str, dict[str, Any]] = {
    "start_execution": {
        "pipeline": names,
        "stage": names,
        "params": st.none() | st.dictionaries(names, json_values, max_size=4),
        "properties": st.none() | st.dictionaries(names, json_values, max_size=4),
        "command": st.none() | odd_text,
    },
    "log_artifact": {
        "execution_id": ids,
        "path": paths,
        "event": st.sampled_from(["input", "output"]),
        "type": st.sampled_from([None, "model", "dataset", "metrics", "other"]),
        "properties": st.none() | st.dictionaries(names, json_values, max_size=3),
    },
    "log_metrics": {
        "execution_id": ids,
        "metrics": st.dictionaries(
            names, st.floats(allow_nan=True, allow_infinity=False), min_size=1, max_size=4
        ),
        "step": st.none() | st.integers(min_value=0, max_value=2**62),
    },
    "log_metrics#steps": {  # mostly well-formed batches on a running execution, some odd
        "execution_id": rarely(ids, st.just("RUNNING")),
        "metrics": rarely(st.dictionaries(names, st.floats(), max_size=2), st.none(), 10),
        "step": rarely(st.integers(min_value=-1, max_value=3), st.none(), 10),
        "steps": rarely(
            junk,
            st.lists(
                rarely(
                    junk,
                    one_in=40,
                    usual=st.fixed_dictionaries(
                        {
                            "step": rarely(junk, st.integers(min_value=0, max_value=50), 40),
                            "values": rarely(
                                junk,
                                one_in=40,
                                usual=st.dictionaries(
                                    st.sampled_from(["loss", "acc", "val_loss"]) | names,
                                    rarely(junk, st.floats(allow_infinity=False), 60),
                                    min_size=1,
                                    max_size=5,
                                ),
                            ),
                        }
                    ),
                ),
                min_size=1,
                max_size=8,
                unique_by=lambda item: repr(item.get("step") if isinstance(item, dict) else item),
            ),
        ),
    },
    "end_execution": {
        "execution_id": ids,
        "status": st.sampled_from(["completed", "failed"]),
        "error": st.none() | odd_text,
    },
    "list_pipelines": {
        "detail": st.sampled_from(["concise", "full"]),
        "limit": st.integers(1, 200),
        "cursor": cursors,
    },
    "get_execution": {
        "execution_id": ids,
        "detail": st.sampled_from(["concise", "full"]),
        "limit": st.integers(1, 200),
        "cursor": cursors,
    },
    "get_artifact": {
        "reference": references,
        "detail": st.sampled_from(["concise", "full"]),
        "limit": st.integers(1, 200),
        "cursor": cursors,
    },
    "search_executions": {
        "where": st.none() | filters,
        "pipeline": st.none() | names,
        "stage": st.none() | names,
        "status": st.sampled_from([None, "running", "completed", "failed"]),
        "since": st.none() | st.sampled_from(["2024-01-01", "yesterday", "2024-13-45"]) | odd_text,
        "until": st.none() | st.sampled_from(["2030-01-01", "2024-01-01T00:00:00+02:00"]),
        "git_commit": st.none() | odd_text,
        "sort": st.sampled_from(["-started_at", "ended_at", "-metrics.acc", "params.lr", "size"])
        | odd_text,
        "limit": st.integers(1, 100),
        "cursor": cursors,
        "detail": st.sampled_from(["concise", "full"]),
    },
    "search_artifacts": {
        "where": st.none() | filters,
        "type": st.sampled_from([None, "dataset", "model", "environment"]),
        "path": st.none() | paths | st.sampled_from(["*", "*.csv", "[", "**/x?"]),
        "digest_prefix": st.none() | st.sampled_from(["md5:", "DIGEST", "zz"]) | odd_text,
        "pipeline": st.none() | names,
        "produced_by_stage": st.none() | names,
        "sort": st.sampled_from(["-created_at", "size", "-nfiles", "started_at"]) | odd_text,
        "limit": st.integers(1, 100),
        "cursor": cursors,
        "detail": st.sampled_from(["concise", "full"]),
    },
    "query_lineage": {
        "node": references,
        "direction": st.sampled_from(["upstream", "downstream", "both"]),
        "depth": st.integers(1, 100),
        "limit": st.integers(1, 200),
        "view": st.sampled_from(["mixed", "artifacts", "executions"]),
        "detail": st.sampled_from(["concise", "full"]),
    },
    "compare_runs": {
        "ids": st.lists(ids, min_size=2, max_size=10),
        "detail": st.sampled_from(["concise", "full"]),
    },
    "metric_history": {
        "execution_id": ids,
        "name": st.sampled_from(["acc", "loss"]) | names,
        "limit": st.integers(1, 1_000),
        "cursor": cursors,
    },
    "reproduce": {"execution_id": ids, "detail": st.sampled_from(["concise", "full"])},
    "model_card": {"model": references, "detail": st.sampled_from(["concise", "full"])},
    "metric_table": {
        "names": st.lists(st.sampled_from(["acc", "loss"]) | names, min_size=0, max_size=12),
        "pipeline": st.none() | names,
        "stage": st.none() | names,
        "where": st.none() | filters,
        "limit": st.integers(0, 120),
        "points": st.integers(0, 600),
        "detail": st.sampled_from(["concise", "full"]),
    },
}


@st.composite
def plausible_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Arguments of the right types and shapes, with odd contents."""
    name = draw(st.sampled_from(sorted(PLAUSIBLE)))
    return name, {key: draw(strategy) for key, strategy in PLAUSIBLE[name].items()}


@st.composite
def wild_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Any argument may be missing, of the wrong type, or an unknown extra."""
    name = draw(st.sampled_from(sorted(PLAUSIBLE)))
    arguments = {}
    for key, strategy in PLAUSIBLE[name].items():
        if draw(st.booleans()):
            arguments[key] = draw(st.one_of(junk, odd_text, strategy))
    if draw(st.booleans()):
        arguments[draw(st.text(max_size=10))] = draw(junk)
    return name, arguments


def resolve(value: Any, known: dict[str, str], client: SyncClient) -> Any:
    """Put real ids and paths in for the placeholders; RUNNING is a new running execution."""
    if value in ("RUNNING", "RUNNING8"):
        fresh = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        return fresh if value == "RUNNING" else fresh[:8]
    known_values = {"ENDED": known["ended"], "OUTSIDE": known["outside"], "DIGEST": known["digest"]}
    return known_values.get(value, value) if isinstance(value, str) else value


def check(fuzzed: Context, call: tuple[str, dict[str, Any]]) -> None:
    client, known, _ = fuzzed
    name, arguments = call
    name = name.partition("#")[0]  # "tool#form": another shape of the same tool's arguments
    result = client.call(name, {k: resolve(v, known, client) for k, v in arguments.items()})
    message = text(result)
    event(f"{name}: {'tool error' if result.is_error else 'result'}")
    assert message.strip(), (name, arguments)
    assert len(message) <= TEXT_BUDGET + 200
    if result.is_error:
        assert message != f"Error executing tool {name}", (name, arguments)  # an unexpected crash
        assert "Traceback" not in message and "sqlite:" not in message
        assert known["outside"] not in message
    else:
        assert result.structured_content is not None
        assert len(json.dumps(result.structured_content)) <= STRUCTURED_BUDGET


FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(call=plausible_calls())
def test_plausible_calls_with_odd_contents_end_in_a_result_or_a_readable_tool_error(
    fuzzed: Context, call: tuple[str, dict[str, Any]]
) -> None:
    check(fuzzed, call)


@settings(FUZZ, max_examples=1_000)
@given(call=st.fixed_dictionaries(PLAUSIBLE["log_metrics#steps"]))
def test_batches_of_metric_steps_end_in_a_result_or_a_readable_tool_error(
    fuzzed: Context, call: dict[str, Any]
) -> None:
    check(fuzzed, ("log_metrics", call))


@settings(FUZZ, max_examples=1_000)
@given(call=st.fixed_dictionaries(PLAUSIBLE["metric_table"]))
def test_metric_tables_with_odd_arguments_end_in_a_result_or_a_readable_tool_error(
    fuzzed: Context, call: dict[str, Any]
) -> None:
    check(fuzzed, ("metric_table", call))


@FUZZ
@given(call=wild_calls())
def test_wild_arguments_end_in_a_readable_tool_error_never_a_crash(
    fuzzed: Context, call: tuple[str, dict[str, Any]]
) -> None:
    check(fuzzed, call)
