"""The logging API: executions, artifacts, metrics, Git and environment, on both backends."""

from pathlib import Path

import pytest

from cmf_core import Cmf, CmfWarning
from cmf_core.errors import ArtifactError, ConflictError, InvalidInputError
from cmf_core.records import ArtifactType, ExecutionStatus
from tests.conftest import git


@pytest.fixture
def cmf(project: Path, store_url: str) -> Cmf:
    with Cmf(pipeline="fraud", store=store_url, git_refresh_s=0) as instance:
        yield instance


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def test_a_block_records_a_completed_execution_with_everything(cmf: Cmf, project: Path) -> None:
    write(project / "data" / "train.csv", "a,b\n1,2\n")
    with cmf.execution("train", params={"lr": 0.01, "layers": [64, 32]}) as run:
        dataset = run.log_dataset("data/train.csv")
        write(project / "models" / "model.pkl", "weights")
        model = run.log_model("models/model.pkl")
        run.log_metrics({"accuracy": 0.93})
        for epoch, loss in enumerate([0.9, 0.5, 0.3]):
            run.log_metric("loss", loss, step=epoch)
        run.set_properties(note="baseline")
    detail = cmf.store.get_execution_detail(run.id)
    execution = detail.execution
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.ended_at is not None and execution.ended_at >= execution.started_at
    assert execution.params == {"lr": 0.01, "layers": [64, 32]}
    assert execution.properties == {"note": "baseline"}
    assert (execution.pipeline, execution.stage) == ("fraud", "train")
    assert [(e.path, e.artifact.digest) for e in detail.inputs] == [
        ("data/train.csv", dataset.digest)
    ]
    assert [(e.path, e.artifact.type) for e in detail.outputs] == [
        ("models/model.pkl", ArtifactType.MODEL)
    ]
    assert model.digest == "md5:" + __import__("hashlib").md5(b"weights").hexdigest()
    assert [(m.name, m.value) for m in detail.metrics] == [("accuracy", 0.93)]
    assert detail.step_metrics == {"loss": 3}
    assert execution.git_commit_start == git(project, "rev-parse", "HEAD")
    assert execution.git_commit_end == execution.git_commit_start
    assert execution.git_branch == "main"
    assert execution.environment_digest is not None
    assert execution.environment_digest.startswith("md5:")


def test_an_exception_marks_the_execution_failed_and_propagates(cmf: Cmf) -> None:
    with pytest.raises(ZeroDivisionError), cmf.execution("train") as run:
        run.log_metric("loss", 1.0)
        _ = 1 / 0
    execution = cmf.store.get_execution(run.id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == "ZeroDivisionError: division by zero"
    assert cmf.store.get_execution_detail(run.id).step_metrics == {"loss": 1}


def test_logging_into_an_ended_execution_is_refused(cmf: Cmf, project: Path) -> None:
    write(project / "x.txt", "x")
    with cmf.execution("train") as run:
        pass
    with pytest.raises(ConflictError, match="already ended"):
        run.log_dataset("x.txt")
    with pytest.raises(ConflictError, match="already ended"):
        cmf.attach(run.id)


def test_a_running_execution_can_be_attached_to_by_prefix(cmf: Cmf, project: Path) -> None:
    run = cmf.start_execution("train")
    again = cmf.attach(run.id[:20])
    again.log_metrics({"acc": 1.0})
    again.end()
    assert cmf.store.get_execution(run.id).status is ExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": "sideways"}, "Unknown event direction 'sideways'"),
        ({"type": "weights"}, "Unknown artifact type 'weights'; use one of: dataset"),
    ],
)
def test_unknown_directions_and_types_are_refused_before_hashing(
    cmf: Cmf, kwargs: dict[str, str], message: str
) -> None:
    with cmf.execution("train") as run, pytest.raises(InvalidInputError, match=message):
        run.log_artifact("does-not-exist", **kwargs)  # type: ignore[arg-type]
    assert cmf.store.count("events") == 0


def test_a_missing_file_is_an_artifact_error_and_the_run_goes_on(cmf: Cmf, project: Path) -> None:
    write(project / "ok.txt", "ok")
    with cmf.execution("train") as run:
        with pytest.raises(ArtifactError, match="missing.csv"):
            run.log_dataset("missing.csv")
        run.log_dataset("ok.txt")
    assert cmf.store.get_execution(run.id).status is ExecutionStatus.COMPLETED
    assert cmf.store.count("events") == 1


def test_a_directory_is_one_artifact_with_a_dir_digest(cmf: Cmf, project: Path) -> None:
    write(project / "data" / "raw" / "a.csv", "1")
    write(project / "data" / "raw" / "sub" / "b.csv", "2")
    with cmf.execution("prepare") as run:
        artifact = run.log_dataset("data/raw")
    assert artifact.digest.endswith(".dir")
    assert (artifact.nfiles, artifact.size) == (2, 2)


def test_paths_are_recorded_relative_to_the_project_root(
    cmf: Cmf, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "data" / "a.csv", "1")
    monkeypatch.chdir(project / "data")
    with cmf.execution("prepare") as run:
        run.log_dataset("a.csv")
        run.log_dataset(project / "data" / "a.csv")
    detail = cmf.store.get_execution_detail(run.id)
    assert {e.path for e in detail.inputs} == {"data/a.csv"}


def test_a_path_outside_the_project_is_recorded_as_given_with_a_warning(
    cmf: Cmf, tmp_path: Path
) -> None:
    outside = write(tmp_path / "elsewhere" / "x.csv", "x")
    with (
        cmf.execution("prepare") as run,
        pytest.warns(CmfWarning, match="outside the project root"),
    ):
        run.log_dataset(outside)
    assert [e.path for e in cmf.store.get_execution_detail(run.id).inputs] == [str(outside)]


def test_the_same_bytes_logged_twice_are_one_artifact(cmf: Cmf, project: Path) -> None:
    write(project / "a.csv", "same")
    write(project / "b.csv", "same")
    with cmf.execution("prepare") as run:
        first = run.log_dataset("a.csv")
        second = run.log_dataset("b.csv", event="output")
    assert first.digest == second.digest
    assert cmf.store.count("artifacts") == 2  # the dataset and the environment
    assert len(cmf.store.get_artifact_detail(first.digest).events) == 2


def test_step_metrics_default_to_the_next_step_and_flush_in_batches(
    cmf: Cmf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the batch size decides here: a slow machine must not flush by age as well.
    monkeypatch.setattr("cmf_core.run.METRIC_MAX_AGE_S", 3600.0)
    with cmf.execution("train") as run:
        for i in range(25_000):
            run.log_metric("loss", 1.0 / (i + 1))
        run.log_metric("lr", 0.1, step=10)
        run.log_metric("lr", 0.05)
        # 20,000 values were written in two full batches before the block ended.
        assert len(cmf.store.get_metrics(run.id, name="loss")) == 20_000
    loss = cmf.store.get_metrics(run.id, name="loss")
    assert [m.step for m in loss[:3]] == [0, 1, 2] and loss[-1].step == 24_999
    assert [(m.step, m.value) for m in cmf.store.get_metrics(run.id, name="lr")] == [
        (10, 0.1),
        (11, 0.05),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [("high", "must be a number, not str"), (True, "not a bool"), (None, "not NoneType")],
)
def test_a_metric_must_be_a_number(cmf: Cmf, value: object, message: str) -> None:
    with cmf.execution("train") as run, pytest.raises(InvalidInputError, match=message):
        run.log_metric("acc", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "step", "message"),
    [
        (True, 1, "not a bool"),
        ("high", 1, "must be a number, not str"),
        (0.5, -1, "step must be a whole number"),
        (0.5, 2**63, "step must be a whole number"),
        (0.5, 1.0, "step must be a whole number"),
    ],
)
def test_a_series_already_logged_is_still_checked_on_every_value(
    cmf: Cmf, value: object, step: object, message: str
) -> None:
    with cmf.execution("train") as run:
        run.log_metric("acc", 0.25, step=0)
        with pytest.raises(InvalidInputError, match=message):
            run.log_metric("acc", value, step=step)  # type: ignore[arg-type]
        run.log_metric("acc", 0.5, step=1)
    assert [(m.step, m.value) for m in cmf.store.get_metrics(run.id, name="acc")] == [
        (0, 0.25),
        (1, 0.5),
    ]


def test_params_must_be_json(cmf: Cmf) -> None:
    with pytest.raises(InvalidInputError, match="params must hold JSON values"):
        cmf.start_execution("train", params={"fn": print})
    assert cmf.store.count("executions") == 0


def test_a_dirty_work_tree_is_recorded_with_a_diff_digest(cmf: Cmf, project: Path) -> None:
    with cmf.execution("train") as clean:
        pass
    (project / "train.py").write_text("print('changed')\n")
    with cmf.execution("train") as dirty:
        pass
    assert cmf.store.get_execution(clean.id).git_is_dirty is False
    recorded = cmf.store.get_execution(dirty.id)
    assert recorded.git_is_dirty is True
    assert recorded.git_diff_digest is not None and recorded.git_diff_digest.startswith("md5:")


def test_a_commit_made_during_a_run_is_the_end_commit(cmf: Cmf, project: Path) -> None:
    with cmf.execution("train") as run:
        write(project / "new.py", "x = 1\n")
        git(project, "add", "new.py")
        git(project, "commit", "-q", "-m", "second")
    execution = cmf.store.get_execution(run.id)
    assert execution.git_commit_end == git(project, "rev-parse", "HEAD")
    assert execution.git_commit_start == git(project, "rev-parse", "HEAD~1")


def test_the_users_repository_is_never_changed(cmf: Cmf, project: Path) -> None:
    import os

    (project / "train.py").write_text("print('dirty')\n")
    os.utime(project / "train.py", ns=(1, 1))  # stat-dirty: a plain `git status` rewrites the index
    index = project / ".git" / "index"
    before = (git(project, "rev-parse", "HEAD"), git(project, "branch", "--list"))
    index_before = (index.read_bytes(), index.stat().st_mtime_ns)
    with cmf.execution("train") as run:
        run.log_metrics({"acc": 1})
    assert (git(project, "rev-parse", "HEAD"), git(project, "branch", "--list")) == before
    assert (index.read_bytes(), index.stat().st_mtime_ns) == index_before
    assert git(project, "stash", "list") == ""


def test_outside_git_executions_are_recorded_without_code_and_warn_once(
    bare_project: Path, sqlite_url: str
) -> None:
    with Cmf(pipeline="p", store=sqlite_url) as cmf:
        with pytest.warns(CmfWarning, match="not in a Git repository") as caught:
            with cmf.execution("a") as first:
                pass
            with cmf.execution("a"):
                pass
        [warning] = [w for w in caught if issubclass(w.category, CmfWarning)]
        assert warning.filename == __file__  # it names the user's line, not cmf's
        assert cmf.store.get_execution(first.id).git_commit_start is None


def test_identical_environments_are_one_artifact(project: Path, sqlite_url: str) -> None:
    for _ in range(2):
        with Cmf(pipeline="p", store=sqlite_url) as cmf, cmf.execution("a"):
            pass
    with Cmf(pipeline="p", store=sqlite_url) as cmf:
        [environment] = [a for a, _ in cmf.store.list_artifacts(type="environment")]
        executions = cmf.store.list_executions()
        assert {e.environment_digest for e in executions} == {environment.digest}
        assert "pydantic" in environment.properties["packages"]


def test_without_a_pipeline_name_starting_an_execution_says_what_to_do(
    project: Path, sqlite_url: str
) -> None:
    with Cmf(store=sqlite_url) as cmf, pytest.raises(InvalidInputError, match="No pipeline"):
        cmf.start_execution("train")


def test_the_default_store_lives_in_the_project(project: Path) -> None:
    with Cmf(pipeline="p") as cmf, cmf.execution("a"):
        pass
    assert (project / ".cmf" / "metadata.db").is_file()


def test_a_clashing_step_loses_no_other_buffered_value(cmf: Cmf) -> None:
    run = cmf.start_execution("train")
    run.log_metric("loss", 1.0, step=0)
    run.flush()
    for step in range(100):
        run.log_metric("loss", 9.0 if step == 0 else step / 100, step=step)
    with pytest.raises(ConflictError, match="'loss' at step 0 is 1.0, not 9.0"):
        run.flush()
    run.end()
    loss = cmf.store.get_metrics(run.id, name="loss")
    assert len(loss) == 100 and loss[0].value == 1.0 and loss[-1].value == 0.99


def test_buffered_step_values_are_written_within_a_second(cmf: Cmf) -> None:
    from cmf_core import tracking

    run = cmf.start_execution("train")
    run.log_metric("loss", 0.5)
    assert cmf.store.get_metrics(run.id, name="loss") == []  # buffered
    run._buffered_since -= tracking.METRIC_MAX_AGE_S  # as if a second had passed
    run.log_metric("loss", 0.4)
    assert [m.value for m in cmf.store.get_metrics(run.id, name="loss")] == [0.5, 0.4]
    run.end()


@pytest.mark.parametrize(
    ("value", "step", "message"),
    [(10**400, 0, "too large for a float"), (1.0, 2**63, "from 0 to 2\\*\\*63-1")],
)
def test_out_of_range_metric_values_and_steps_are_refused(
    cmf: Cmf, value: object, step: int, message: str
) -> None:
    with cmf.execution("train") as run, pytest.raises(InvalidInputError, match=message):
        run.log_metric("loss", value, step=step)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_concurrent_writers_on_postgresql_lose_no_property_and_end_once(
    project: Path, postgres_database: str
) -> None:
    import threading

    from tests.conftest import _postgres_schema_url

    url = _postgres_schema_url(postgres_database)
    with Cmf(pipeline="p", store=url, capture_git=False, capture_environment=False) as cmf:
        run = cmf.start_execution("s")
        threads = [
            threading.Thread(target=run.set_properties, kwargs={f"k{i}": i}) for i in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert cmf.store.get_execution(run.id).properties == {f"k{i}": i for i in range(20)}
        results: list[str] = []

        def end(status: str) -> None:
            try:
                cmf.attach(run.id).end(status)
                results.append(status)
            except ConflictError:
                results.append("refused")

        enders = [threading.Thread(target=end, args=(s,)) for s in ("completed", "failed") * 3]
        for thread in enders:
            thread.start()
        for thread in enders:
            thread.join()
        assert results.count("refused") == 5
        final = cmf.store.get_execution(run.id).status.value
        assert [r for r in results if r != "refused"] == [final]


def test_without_a_git_program_runs_are_recorded_with_the_commit_and_a_warning(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(project / "no-bin-here"))  # as in a container without git
    monkeypatch.setenv("GIT_PYTHON_GIT_EXECUTABLE", str(project / "no-bin-here" / "git"))
    head = (project / ".git" / "refs" / "heads" / "main").read_text().strip()
    with Cmf(pipeline="p", store=sqlite_url, git_refresh_s=0) as cmf:
        with pytest.warns(CmfWarning, match="Git state"), cmf.execution("train") as run:
            pass
        execution = cmf.store.get_execution(run.id)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.git_commit_start == head and execution.git_is_dirty is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cmf: cmf.start_execution("a\nb"), "without control characters"),
        (lambda cmf: cmf.start_execution("s" * 256), "1–255 characters"),
        (lambda cmf: cmf.start_execution("s", params={"x": float("nan")}), "no NaN"),
        (lambda cmf: cmf.start_execution("s", params={"x": "a\x00b"}), "NUL"),
        (lambda cmf: cmf.start_execution("s").set_properties(when=object()), "JSON values"),
    ],
)
def test_names_and_values_no_backend_can_store_are_refused_the_same_everywhere(
    cmf: Cmf, call: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call(cmf)  # type: ignore[operator]


def test_a_team_store_keeps_no_shared_stat_cache(project: Path, store_url: str) -> None:
    from cmf_core.hashing import MemoryStatCache

    with Cmf(pipeline="p", store=store_url) as cmf:
        shared = cmf.store.dialect == "postgresql"
        assert isinstance(cmf.stat_cache, MemoryStatCache) is shared


def test_a_path_reached_through_a_symlinked_folder_is_recorded_relative(
    cmf: Cmf, project: Path, tmp_path: Path
) -> None:
    write(project / "data" / "a.csv", "1")
    link = tmp_path / "link-to-project"
    link.symlink_to(project)
    with cmf.execution("prepare") as run:
        run.log_dataset(link / "data" / "a.csv")
    assert [e.path for e in cmf.store.get_execution_detail(run.id).inputs] == ["data/a.csv"]


def test_a_resumed_series_continues_after_its_recorded_steps(cmf: Cmf) -> None:
    run = cmf.start_execution("train")
    for loss in (0.9, 0.8):
        run.log_metric("loss", loss)
    run.flush()
    again = cmf.attach(run.id)
    again.log_metric("loss", 0.7)
    again.end()
    assert [(m.step, m.value) for m in cmf.store.get_metrics(run.id, name="loss")] == [
        (0, 0.9),
        (1, 0.8),
        (2, 0.7),
    ]
