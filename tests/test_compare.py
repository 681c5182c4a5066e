"""Compare and metric history on hand-built runs whose differences are known, on both backends."""

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from click.testing import CliRunner

from cmf_core.compare.compare import compare_runs
from cmf_core.compare.metrics import list_metric_names, metric_across_stage, metric_history
from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.ids import Uuid7Generator
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store
from cmf_mcp.cli.main import cli

ids = Uuid7Generator()


def d(n: int) -> str:
    """A digest that is easy to tell apart: md5:000…0n."""
    return f"md5:{n:032x}"


def short(n: int) -> str:
    return f"md5:{n:032x}"[:12] + "…"


def environment(store: Store, digest: str, python: str, **packages: str) -> str:
    document = {
        "python": {"version": python, "implementation": "CPython"},
        "platform": {"system": "Linux", "machine": "x86_64"},
        "packages": packages,
    }
    store.record_artifact(ArtifactRow(digest, "environment", None, None, document))
    return digest


def run(
    store: Store,
    stage: str,
    *,
    pipeline: str = "fraud",
    params: dict[str, Any] | None = None,
    inputs: Sequence[tuple[str, str]] = (),
    outputs: Sequence[tuple[str, str]] = (),
    metrics: dict[str, float] | None = None,
    steps: dict[str, list[float]] | None = None,
    status: ExecutionStatus = ExecutionStatus.COMPLETED,
    error: str | None = None,
    **columns: Any,
) -> str:
    """Record one ended execution with exactly these facts."""
    execution_id = ids.new()
    store.start_execution(
        id=execution_id,
        stage_id=store.ensure_stage(pipeline, stage),
        params=params or {},
        command=f"python {stage}.py",
        **columns,
    )
    for events, direction in ((inputs, EventDirection.INPUT), (outputs, EventDirection.OUTPUT)):
        for path, digest in events:
            store.record_artifact(
                ArtifactRow(digest, "model" if path.endswith(".pkl") else "dataset", 5, None, {}),
                execution_id=execution_id,
                direction=direction,
                path=path,
            )
    rows: list[tuple[str, int | None, float, float]] = [
        (name, None, value, 1.0) for name, value in (metrics or {}).items()
    ]
    for name, values in (steps or {}).items():
        rows += [(name, step, value, 1.0 + step) for step, value in enumerate(values)]
    store.add_metrics(execution_id, rows)
    if status is not ExecutionStatus.RUNNING:
        store.end_execution(execution_id, status=status, error=error)
    return execution_id


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


def test_two_runs_differ_in_params_metrics_inputs_and_packages(store: Store) -> None:
    env_a = environment(store, d(900), "3.11.7", numpy="1.26.4", pandas="2.2.2", scipy="1.13.0")
    env_b = environment(store, d(901), "3.12.1", numpy="2.0.2", pandas="2.2.2", torch="2.3.0")
    a = run(
        store,
        "train",
        params={"lr": 0.01, "epochs": 10, "dropout": 0.5},
        inputs=[("data/features", d(1)), ("data/labels.csv", d(2))],
        outputs=[("models/model.pkl", d(3))],
        metrics={"accuracy": 0.93, "loss": 0.2},
        environment_digest=env_a,
    )
    b = run(
        store,
        "train",
        params={"lr": 0.1, "epochs": 10},
        inputs=[("data/features", d(11)), ("data/labels.csv", d(2)), ("data/extra.csv", d(12))],
        outputs=[("models/model.pkl", d(13))],
        metrics={"accuracy": 0.88, "loss": 0.2},
        environment_digest=env_b,
    )
    c = compare_runs(store, [a, b])

    assert [r.id for r in c.executions] == [a, b]
    assert [(p.name, p.change, p.values) for p in c.params] == [
        ("dropout", "removed", [0.5, None]),
        ("epochs", "same", [10, 10]),
        ("lr", "changed", [0.01, 0.1]),
    ]
    accuracy, loss = c.metrics
    assert (accuracy.name, accuracy.change, accuracy.values) == (
        "accuracy",
        "changed",
        [0.93, 0.88],
    )
    assert accuracy.deltas[0] == 0 and accuracy.deltas[1] == pytest.approx(-0.05)
    assert accuracy.ratios[1] == pytest.approx(0.88 / 0.93)
    assert (loss.change, loss.deltas, loss.ratios) == ("same", [0.0, 0.0], [1.0, 1.0])
    assert [(p.path, p.change, p.digests) for p in c.inputs] == [
        ("data/extra.csv", "added", [None, d(12)]),
        ("data/features", "changed", [d(1), d(11)]),
        ("data/labels.csv", "same", [d(2), d(2)]),
    ]
    assert [(p.path, p.change) for p in c.outputs] == [("models/model.pkl", "changed")]
    env = c.environment
    assert env.changed and env.python == ["3.11.7", "3.12.1"]
    assert env.platforms == ["Linux x86_64", "Linux x86_64"]
    assert [(p.name, p.change, p.versions) for p in env.packages] == [
        ("numpy", "changed", ["1.26.4", "2.0.2"]),
        ("scipy", "removed", ["1.13.0", None]),
        ("torch", "added", [None, "2.3.0"]),
    ]
    la, lb = c.executions[0].label, c.executions[1].label
    assert c.summary == [
        "accuracy fell 0.93 → 0.88 (−5.4 %)",
        f"train inputs differ: data/extra.csv is read only by run {lb}",
        f"train inputs differ: data/features {short(1)} vs {short(11)}, which no recorded "
        "execution wrote: it changed at its source",
        "lr changed 0.01 → 0.1",
        f"param dropout missing in run {lb} (0.5)",
        "python 3.11.7 → 3.12.1",
        "numpy 1.26.4 → 2.0.2",
        f"package scipy missing in run {lb} (1.13.0)",
        f"package torch only in run {lb} (2.3.0)",
        "outputs differ: models/model.pkl",
    ]
    assert la != lb and a.startswith(la) and b.startswith(lb)


def test_a_divergence_two_hops_up_names_the_producers_whose_params_differ(store: Store) -> None:
    raw = ("data/raw.csv", d(1))

    def pipeline(seed: int, prepared: int, features: int) -> tuple[str, str, str]:
        prepare = run(store, "prepare", params={"seed": seed}, inputs=[raw],
                      outputs=[("data/prepared", d(prepared))])  # fmt: skip
        featurize = run(store, "featurize", params={"scale": "std"},
                        inputs=[("data/prepared", d(prepared))],
                        outputs=[("data/features", d(features))])  # fmt: skip
        train = run(store, "train", params={"lr": 0.1}, inputs=[("data/features", d(features))])
        return prepare, featurize, train

    prepare_a, featurize_a, train_a = pipeline(1, 10, 20)
    prepare_b, featurize_b, train_b = pipeline(2, 11, 21)
    c = compare_runs(store, [train_a, train_b])

    (found,) = c.divergence
    assert (found.kind, found.hops, found.trail) == (
        "settings",
        2,
        ["data/features", "data/prepared"],
    )
    assert (found.path, found.digests) == ("data/prepared", [d(10), d(11)])
    assert [p.id if p else None for p in found.producers] == [prepare_a, prepare_b]
    assert found.reasons == ["params differ in seed"]
    label = {r.id: r.label for r in [*c.executions, *(p for p in found.producers if p)]}
    fa, fb = featurize_a[: len(label[prepare_a])], featurize_b[: len(label[prepare_a])]
    assert found.sentence == (
        f"train inputs differ: data/features {short(20)} vs {short(21)}, produced by featurize "
        f"runs {fa} and {fb} with the same params, code and environment, which read "
        f"data/prepared {short(10)} vs {short(11)}, produced by prepare runs "
        f"{label[prepare_a]} and {label[prepare_b]} whose params differ in seed"
    )
    assert c.summary == [found.sentence]  # the train runs themselves differ in nothing else


def test_producers_that_differ_in_code_and_environment_are_the_cause(store: Store) -> None:
    featurize_a = run(store, "featurize", outputs=[("f", d(1))], git_commit_start="a" * 40,
                      environment_digest=d(50))  # fmt: skip
    featurize_b = run(store, "featurize", outputs=[("f", d(2))], git_commit_start="b" * 40,
                      environment_digest=d(51))  # fmt: skip
    a = run(store, "train", inputs=[("f", d(1))])
    b = run(store, "train", inputs=[("f", d(2))])
    (found,) = compare_runs(store, [a, b]).divergence
    assert [p.id if p else None for p in found.producers] == [featurize_a, featurize_b]
    assert found.reasons == ["code differs (aaaaaaa vs bbbbbbb)", "environments differ"]


def test_same_inputs_and_settings_but_different_outputs_is_not_deterministic(
    store: Store,
) -> None:
    run(store, "featurize", inputs=[("raw", d(1))], outputs=[("f", d(2))])
    run(store, "featurize", inputs=[("raw", d(1))], outputs=[("f", d(3))])
    a = run(store, "train", inputs=[("f", d(2))])
    b = run(store, "train", inputs=[("f", d(3))])
    (found,) = compare_runs(store, [a, b]).divergence
    assert (found.kind, found.hops, found.path) == ("nondeterministic", 1, "f")
    assert found.sentence.endswith(
        ", which had the same inputs, params, code and environment: featurize is not deterministic"
    )


def test_a_cycle_in_corrupt_lineage_ends_the_walk(store: Store) -> None:
    # x ← q ← y ← p ← x: each side's producers loop forever with the same settings.
    for x, y in ((1, 2), (11, 12)):
        run(store, "p", inputs=[("x", d(x))], outputs=[("y", d(y))])
        run(store, "q", inputs=[("y", d(y))], outputs=[("x", d(x))])
    a = run(store, "train", inputs=[("x", d(1))])
    b = run(store, "train", inputs=[("x", d(11))])
    assert compare_runs(store, [a, b]).divergence == []


def test_a_failed_run_is_named_first(store: Store) -> None:
    a = run(store, "train", metrics={"accuracy": 0.9})
    b = run(store, "train", status=ExecutionStatus.FAILED, error="RuntimeError: CUDA out of memory")
    c = compare_runs(store, [a, b])
    assert c.executions[1].status is ExecutionStatus.FAILED
    assert c.summary == [
        f"run {c.executions[1].label} failed: RuntimeError: CUDA out of memory",
        f"metric accuracy missing in run {c.executions[1].label} (0.9)",
    ]


def test_three_runs_are_measured_against_the_first(store: Store) -> None:
    runs = [
        run(store, "train", params={"lr": lr}, metrics={"accuracy": acc}, git_commit_start=commit)
        for lr, acc, commit in ((0.1, 0.8, "c" * 40), (0.1, 0.9, "c" * 40), (0.2, 0.6, "d" * 40))
    ]
    c = compare_runs(store, runs)
    (accuracy,) = c.metrics
    assert accuracy.values == [0.8, 0.9, 0.6]
    assert accuracy.ratios == pytest.approx([1.0, 1.125, 0.75])
    assert [(p.name, p.change, p.values) for p in c.params] == [("lr", "changed", [0.1, 0.1, 0.2])]
    assert c.code.changed and c.code.commits == ["c" * 40, "c" * 40, "d" * 40]
    assert c.summary == [
        "accuracy changed 0.8 → 0.9 → 0.6 (+12.5 %, −25.0 %)",
        "lr changed 0.1 → 0.1 → 0.2",
        "code changed: commit cccccccccc → cccccccccc → dddddddddd",
    ]


def test_dirty_runs_and_their_diffs_are_reported(store: Store) -> None:
    a = run(store, "train", git_commit_start="e" * 40, git_is_dirty=False)
    b = run(store, "train", git_commit_start="e" * 40, git_is_dirty=True, git_diff_digest=d(77))
    c = compare_runs(store, [a, b])
    assert c.code.dirty == [False, True] and c.code.diff_digests == [None, d(77)]
    assert c.summary == [
        f"run {c.executions[1].label} ran with uncommitted changes (diff {short(77)})"
    ]


def test_step_series_are_summarised_with_nan_kept(store: Store) -> None:
    a = run(store, "train", steps={"loss": [0.9, 0.5, 0.3, 0.4]})
    b = run(store, "train", steps={"loss": [0.9, math.nan, 0.7]})
    (series,) = compare_runs(store, [a, b]).series
    first, second = series.summaries
    assert first is not None and second is not None
    assert (first.count, first.first, first.last, first.min, first.min_step) == (
        4,
        0.9,
        0.4,
        0.3,
        2,
    )
    assert (first.max, first.max_step, first.nan_count) == (0.9, 0, 0)
    assert (second.count, second.nan_count, second.min, second.min_step) == (3, 1, 0.7, 2)
    assert (second.first_step, second.last_step, second.last) == (0, 2, 0.7)
    c = compare_runs(store, [a, b])
    assert c.summary == [
        f"loss series: last 0.4 → 0.7, min 0.3 (step 2) → 0.7 (step 2), 4 → 3 steps, "
        f"NaN in run {c.executions[1].label}"
    ]


def test_identical_runs_have_nothing_to_say(store: Store) -> None:
    a = run(store, "train", params={"lr": 0.1}, inputs=[("f", d(1))], metrics={"acc": 0.5})
    b = run(store, "train", params={"lr": 0.1}, inputs=[("f", d(1))], metrics={"acc": 0.5})
    c = compare_runs(store, [a, b])
    assert c.divergence == [] and not c.code.changed and not c.environment.changed
    assert c.summary == ["No differences in params, metrics, inputs, outputs, code or environment."]


def test_unknown_ids_suggest_the_nearest_recorded_ones(store: Store) -> None:
    a = run(store, "train")
    b = run(store, "train")
    typo = a[:-1] + ("0" if a[-1] != "0" else "1")
    with pytest.raises(
        NotFoundError, match=f"No execution matches '{typo}' \\(nearest recorded: {a}"
    ):
        compare_runs(store, [typo, b])
    with pytest.raises(NotFoundError, match="No execution matches 'zzzz'") as missing:
        compare_runs(store, ["zzzz", b])
    assert (missing.value.kind, missing.value.reference) == (Kind.EXECUTION, "zzzz")
    with pytest.raises(InvalidInputError, match="matches more than one execution"):
        compare_runs(store, [a[:4], b])
    with pytest.raises(InvalidInputError, match="2 to 20 executions"):
        compare_runs(store, [a])
    with pytest.raises(InvalidInputError, match="named twice"):
        compare_runs(store, [a, a[:30]])


def test_runs_of_different_stages_branches_and_sources_are_told_apart(store: Store) -> None:
    environment(store, d(900), "3.11.7", numpy="1.26.4")
    featurize = run(store, "featurize", outputs=[("f", d(1))])
    run(store, "prepare", outputs=[("g", d(5))])
    run(store, "prepare", outputs=[("g", d(6))], params={"k": 1})
    a = run(store, "train", inputs=[("f", d(1)), ("g", d(5))], outputs=[("out1", d(3))],
            steps={"loss": [1.0]}, git_branch="main", environment_digest=d(900))  # fmt: skip
    b = run(store, "evaluate", pipeline="other", inputs=[("f", d(2)), ("g", d(6))],
            outputs=[("out2", d(4))], status=ExecutionStatus.RUNNING, git_branch="dev",
            environment_digest=d(901))  # fmt: skip
    c = compare_runs(store, [a, b])
    la, lb = (r.label for r in c.executions)
    source, settings = c.divergence
    assert (source.kind, settings.kind) == ("source", "settings")
    assert settings.reasons == ["params differ in k"]
    assert source.sentence == (
        f"the runs' inputs differ: f {short(1)} vs {short(2)}, written by featurize run "
        f"{featurize[: len(la)]} on {la}'s side and by no recorded execution on {lb}'s side"
    )
    assert c.summary == [
        "the runs are of different stages: fraud/train vs other/evaluate",
        f"run {lb} is still running (or was killed before it ended)",
        source.sentence,
        settings.sentence,
        "branch main → dev",
        "python 3.11.7 → unknown",
        "platform Linux x86_64 → unknown",
        f"step series loss missing in run {lb}",
        "outputs differ: out1, out2",
    ]


def test_producers_of_different_stages_and_missing_environment_documents(store: Store) -> None:
    run(store, "featurize", outputs=[("f", d(1))], environment_digest=d(70))
    run(store, "prepare", outputs=[("f", d(2))], environment_digest=d(70))
    a = run(store, "train", inputs=[("f", d(1))], environment_digest=d(71))
    b = run(store, "train", inputs=[("f", d(2))], environment_digest=d(72))
    c = compare_runs(store, [a, b])
    (found,) = c.divergence
    assert found.reasons == ["stages differ (fraud/featurize vs fraud/prepare)"]
    assert "produced by runs" in found.sentence and "whose stages differ" in found.sentence
    assert c.summary[-1] == (
        f"environments differ ({short(71)} vs {short(72)}), but their documents are not in "
        "the store"
    )
    b2 = run(store, "train", inputs=[("f", d(1))])
    assert compare_runs(store, [a, b2]).summary == [
        f"no environment recorded for run {compare_runs(store, [a, b2]).executions[1].label}"
    ]


def test_a_long_list_of_differences_is_cut_with_a_count(store: Store) -> None:
    environment(store, d(900), "3.11.7", **{f"pkg{i}": "1.0" for i in range(10)})
    environment(store, d(901), "3.11.7", **{f"pkg{i}": "2.0" for i in range(10)})
    a = run(store, "train", params={f"p{i:02d}": 0 for i in range(40)}, environment_digest=d(900))
    b = run(store, "train", params={f"p{i:02d}": 1 for i in range(40)}, environment_digest=d(901))
    c = compare_runs(store, [a, b])
    assert len(c.environment.packages) == 10
    assert len(c.summary) == 30
    assert c.summary[0] == "p00 changed 0 → 1"
    assert c.summary[-1] == "… and 20 more differences in the record"  # 40 + 8 + 1 - 29


# -- metric history --------------------------------------------------------------------------


def test_metric_history_keeps_nan_and_the_final_value(store: Store) -> None:
    a = run(store, "train", metrics={"loss": 0.25}, steps={"loss": [1.0, math.nan, 0.5]})
    series = metric_history(store, a[:20], "loss")
    assert (series.execution_id, series.final, series.steps) == (a, 0.25, [0, 1, 2])
    assert series.values[0] == 1.0 and math.isnan(series.values[1]) and series.values[2] == 0.5
    assert [t.timestamp() for t in series.times] == [1.0, 2.0, 3.0]
    names = list_metric_names(store, a)
    assert [(n.name, n.final, n.steps, n.last_step, n.last, n.min) for n in names] == [
        ("loss", 0.25, 3, 2, 0.5, 0.5)
    ]


def test_an_unknown_metric_name_suggests_the_logged_ones(store: Store) -> None:
    a = run(store, "train", metrics={"accuracy": 0.9, "loss": 0.1})
    with pytest.raises(NotFoundError, match="no metric 'acuracy'; did you mean accuracy\\?"):
        metric_history(store, a, "acuracy")
    b = run(store, "train")
    with pytest.raises(NotFoundError, match="logged no metrics"):
        metric_history(store, b, "loss")


def test_a_metric_across_a_stage_newest_first_with_final_or_last_step(store: Store) -> None:
    first = run(store, "train", metrics={"accuracy": 0.7})
    run(store, "train", metrics={"loss": 1.0})  # no accuracy: left out
    second = run(store, "train", steps={"accuracy": [0.5, 0.8]})
    run(store, "train", pipeline="other", metrics={"accuracy": 0.1})
    rows = metric_across_stage(store, "fraud", "train", "accuracy")
    assert [(r.execution_id, r.value, r.step, r.steps) for r in rows] == [
        (second, 0.8, 1, 2),
        (first, 0.7, None, 0),
    ]
    oldest = metric_across_stage(store, "fraud", "train", "accuracy", order="oldest", limit=1)
    assert [r.execution_id for r in oldest] == [first]
    with pytest.raises(InvalidInputError, match="between 1 and 10000"):
        metric_across_stage(store, "fraud", "train", "accuracy", limit=0)
    with pytest.raises(NotFoundError, match="did you mean fraud/train\\?"):
        metric_across_stage(store, "fraud", "trian", "accuracy")


# -- the commands ----------------------------------------------------------------------------


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--store", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cmf_compare_prints_the_summary_and_json(store_url: str) -> None:
    with Store(store_url) as store:
        a = run(store, "train", params={"lr": 0.01}, metrics={"accuracy": 0.93})
        b = run(store, "train", params={"lr": 0.1}, metrics={"accuracy": 0.88})
    code, out, _ = invoke(store_url, "compare", a, b)
    assert code == 0
    assert "• accuracy fell 0.93 → 0.88 (−5.4 %)" in out and "• lr changed 0.01 → 0.1" in out
    code, out, _ = invoke(store_url, "compare", a, b, "--json")
    assert json.loads(out)["summary"][0] == "accuracy fell 0.93 → 0.88 (−5.4 %)"
    code, _, err = invoke(store_url, "compare", a)
    assert code == 2 and "at least two executions" in err
    code, _, err = invoke(store_url, "compare", a, "ffffffff")
    assert code == 1 and err.startswith("Error: No execution matches 'ffffffff'")


def test_cmf_metrics_lists_names_a_history_and_a_stage(store_url: str) -> None:
    with Store(store_url) as store:
        a = run(store, "train", metrics={"accuracy": 0.9}, steps={"loss": [0.5, 0.25]})
    code, out, _ = invoke(store_url, "metrics", a)
    assert code == 0 and "accuracy" in out and "loss" in out
    code, out, _ = invoke(store_url, "metrics", a, "loss", "--json")
    assert json.loads(out)["values"] == [0.5, 0.25]
    code, out, _ = invoke(store_url, "metrics", a, "loss")
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["0", "0.5"], ["1", "0.25"]]
    code, out, _ = invoke(
        store_url, "metrics", "--pipeline", "fraud", "--stage", "train", "accuracy"
    )
    assert code == 0 and a in out and "final" in out
    code, _, err = invoke(store_url, "metrics", "--stage", "train", "accuracy")
    assert code == 2 and "--pipeline" in err
    code, _, err = invoke(store_url, "metrics")
    assert code == 2


def test_a_path_only_one_run_read_lists_one_empty_producer_per_run(store: Store) -> None:
    a = run(store, "train", inputs=[("f", d(1)), ("x", d(7))], outputs=[("out", d(3))])
    b = run(store, "train", inputs=[("f", d(1))], outputs=[("out", d(4))])
    (found,) = compare_runs(store, [a, b]).divergence
    assert found.kind == "missing"
    assert found.producers == [None, None]


def test_the_same_bytes_under_a_new_path_are_one_moved_input_not_a_divergence(
    store: Store, store_url: str
) -> None:
    a = run(store, "train", inputs=[("data/a.csv", d(1)), ("f", d(2))], outputs=[("m", d(3))])
    b = run(store, "train", inputs=[("data/b.csv", d(1)), ("f", d(2))], outputs=[("n", d(3))])
    c = compare_runs(store, [a, b])

    assert [(p.path, p.change, p.paths, p.digests) for p in c.inputs] == [
        ("data/a.csv", "moved", ["data/a.csv", "data/b.csv"], [d(1), d(1)]),
        ("f", "same", None, [d(2), d(2)]),
    ]
    assert [(p.path, p.change, p.paths) for p in c.outputs] == [("m", "moved", ["m", "n"])]
    assert c.divergence == []
    assert c.summary == [
        "input data/a.csv was read as data/b.csv (same bytes)",
        "output m was written as n (same bytes)",
    ]
    code, out, _ = invoke(store_url, "compare", a, b)
    assert code == 0 and "data/a.csv → data/b.csv" in out


def test_different_bytes_under_a_new_path_are_still_removed_and_added(store: Store) -> None:
    a = run(store, "train", inputs=[("data/a.csv", d(1))])
    b = run(store, "train", inputs=[("data/b.csv", d(2))])
    c = compare_runs(store, [a, b])

    assert [(p.path, p.change, p.paths, p.digests) for p in c.inputs] == [
        ("data/a.csv", "removed", None, [d(1), None]),
        ("data/b.csv", "added", None, [None, d(2)]),
    ]
    (found,) = c.divergence  # one input read under two paths, compared as one
    assert (found.kind, found.path, found.paths) == (
        "source",
        "data/a.csv",
        ["data/a.csv", "data/b.csv"],
    )
    assert found.digests == [d(1), d(2)]
    assert found.sentence.startswith(
        f"train inputs differ: data/a.csv vs data/b.csv {short(1)} vs {short(2)}, which no "
        "recorded execution wrote"
    )
    assert not any(s.startswith("input data/") for s in c.summary)  # said once, as the cause


def test_two_extra_paths_in_one_run_are_still_missing_not_paired(store: Store) -> None:
    a = run(store, "train", inputs=[("data/a.csv", d(1))])
    b = run(store, "train", inputs=[("data/b.csv", d(2)), ("data/c.csv", d(3))])
    assert [(f.kind, f.path) for f in compare_runs(store, [a, b]).divergence] == [
        ("missing", "data/a.csv"),
        ("missing", "data/b.csv"),
        ("missing", "data/c.csv"),
    ]


def test_a_moved_input_among_three_runs_names_the_runs_that_used_each_path(
    store: Store,
) -> None:
    a = run(store, "train", inputs=[("a.csv", d(1))])
    b = run(store, "train", inputs=[("b.csv", d(1))])
    c3 = run(store, "train", inputs=[("a.csv", d(1))])
    c = compare_runs(store, [a, b, c3])
    (moved,) = c.inputs
    assert (moved.change, moved.paths) == ("moved", ["a.csv", "b.csv", "a.csv"])
    label = c.executions[1].label
    assert c.summary == [f"input a.csv was read as b.csv in run {label} (same bytes)"]
    assert c.divergence == []


def test_upstream_producers_that_read_the_same_bytes_under_other_paths_are_not_missing(
    store: Store,
) -> None:
    p1 = run(store, "prep", inputs=[("raw/x.csv", d(1))], outputs=[("feat", d(5))])
    p2 = run(store, "prep", inputs=[("raw/y.csv", d(1))], outputs=[("feat", d(6))])
    a = run(store, "train", inputs=[("feat", d(5))])
    b = run(store, "train", inputs=[("feat", d(6))])
    (found,) = compare_runs(store, [a, b]).divergence
    assert found.kind == "nondeterministic"
    assert [p and p.id for p in found.producers] == [p1, p2]


def three_stages(store: Store, raw: tuple[str, str], n: int, diff: str) -> dict[str, str]:
    """prepare → featurize → train, in a work tree left dirty by the raw file's change."""
    git: dict[str, Any] = {
        "git_commit_start": "a" * 40,
        "git_is_dirty": True,
        "git_diff_digest": diff,
    }
    prepare = run(store, "prepare", params={"seed": 1}, inputs=[raw],
                  outputs=[("data/prepared", d(10 + n))], **git)  # fmt: skip
    featurize = run(store, "featurize", params={"scale": "std"},
                    inputs=[("data/prepared", d(10 + n))],
                    outputs=[("data/features", d(20 + n))], **git)  # fmt: skip
    train = run(store, "train", params={"lr": 0.1}, inputs=[("data/features", d(20 + n))],
                outputs=[("models/model.pkl", d(30 + n))], metrics={"f1": 0.9 - n / 10},
                **git)  # fmt: skip
    return {"prepare": prepare, "featurize": featurize, "train": train}


def test_only_the_raw_data_differs_so_the_raw_data_is_blamed_not_code(store: Store) -> None:
    a = three_stages(store, ("data/raw.csv", d(1)), 0, d(700))
    b = three_stages(store, ("data/raw.csv", d(2)), 1, d(701))
    c = compare_runs(store, [a["train"], b["train"]])

    (found,) = c.divergence
    assert (found.kind, found.hops, found.trail) == (
        "source",
        3,
        ["data/features", "data/prepared", "data/raw.csv"],
    )
    assert (found.path, found.digests, found.producers) == (
        "data/raw.csv",
        [d(1), d(2)],
        [None, None],
    )
    assert found.also == [
        "featurize: uncommitted changes differ",
        "prepare: uncommitted changes differ",
    ]
    assert found.sentence.endswith(
        f"which read data/raw.csv {short(1)} vs {short(2)}, which no recorded execution "
        "wrote: it changed at its source"
    )
    assert "(whose uncommitted changes differ too)" in found.sentence
    assert c.summary[:2] == ["f1 fell 0.9 → 0.8 (−11.1 %)", found.sentence]


def test_the_raw_data_is_blamed_when_read_under_a_new_path(store: Store) -> None:
    a = three_stages(store, ("data/raw-v1.csv", d(1)), 0, d(700))
    b = three_stages(store, ("data/raw-v2.csv", d(2)), 1, d(701))
    (found,) = compare_runs(store, [a["train"], b["train"]]).divergence
    assert (found.kind, found.hops, found.path) == ("source", 3, "data/raw-v1.csv")
    assert found.paths == ["data/raw-v1.csv", "data/raw-v2.csv"]
    assert "which read data/raw-v1.csv vs data/raw-v2.csv" in found.sentence


def test_producers_with_other_code_and_the_same_inputs_are_still_the_cause(
    store: Store,
) -> None:
    raw = ("data/raw.csv", d(1))
    prep_a = run(store, "prepare", inputs=[raw], outputs=[("p", d(10))], git_commit_start="a" * 40)
    prep_b = run(store, "prepare", inputs=[raw], outputs=[("p", d(11))], git_commit_start="b" * 40)
    a = run(store, "train", inputs=[("p", d(10))])
    b = run(store, "train", inputs=[("p", d(11))])
    (found,) = compare_runs(store, [a, b]).divergence
    assert (found.kind, found.path, found.also) == ("settings", "p", [])
    assert [p and p.id for p in found.producers] == [prep_a, prep_b]
    assert found.reasons == ["code differs (aaaaaaa vs bbbbbbb)"]
