"""Push and pull between the cache and a local remote (a folder in tmp_path), on both stores."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core import ArtifactError, Cmf, ConfigError, NotFoundError
from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.pull import pull_artifacts
from cmf_core.artifacts.push import push_artifacts
from cmf_core.artifacts.remote_store import RemoteStore
from cmf_core.artifacts.remotes import add_remote, get_remote, list_remotes
from cmf_core.artifacts.status import artifact_status
from cmf_core.artifacts.transfer import IncompleteTransferError
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

CMF = str(Path(sys.executable).parent / "cmf")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def log_and_cache(cmf: Cmf, stage: str, inputs: list[str], outputs: list[str]) -> str:
    """Record one execution and put its artifacts' bytes in the project's cache."""
    cache = Cache.for_project(cmf.project_root)
    with cmf.execution(stage) as run:
        for direction, paths in (("input", inputs), ("output", outputs)):
            for path in paths:
                found = run.log_artifact(path, type="dataset", event=direction)
                cache.add(cmf.project_root / path, found.digest, stat_cache=cmf.stat_cache)
    return run.id


@pytest.fixture
def pipeline(project: Path, store_url: str, tmp_path: Path) -> dict[str, str]:
    """prepare: data/raw.csv → data/clean/ ; train: data/clean/ → models/model.bin."""
    write(project / "data" / "raw.csv", b"a,b\n1,2\n3,4\n")
    write(project / "data" / "clean" / "part-0.csv", b"a,b\n1,2\n")
    write(project / "data" / "clean" / "part-1.csv", b"a,b\n3,4\n")
    write(project / "models" / "model.bin", os.urandom(300_000))
    with Cmf(pipeline="fraud", store=store_url, capture_environment=False) as cmf:
        prepare = log_and_cache(cmf, "prepare", ["data/raw.csv"], ["data/clean"])
        train = log_and_cache(cmf, "train", ["data/clean"], ["models/model.bin"])
    add_remote(project, "shared", str(tmp_path / "remote"), default=True)
    return {"prepare": prepare, "train": train, "store": store_url}


def remote_objects(root: Path) -> dict[str, bytes]:
    found = {}
    for path in (root / "files" / "md5").rglob("*"):
        if path.is_file() and not path.name.endswith(".tmp"):
            found[path.parent.name + path.name] = path.read_bytes()
    return found


def test_push_sends_each_object_once_and_a_second_push_sends_nothing(
    pipeline: dict[str, str], project: Path, tmp_path: Path
) -> None:
    code, out, _ = invoke("--store", pipeline["store"], "artifact", "push")
    assert code == 0, out
    assert "Pushed 5 object(s)" in out  # raw, two parts, the manifest, the model
    stored = remote_objects(tmp_path / "remote")
    assert len(stored) == 5
    for oid, data in stored.items():  # every object is whole, under its own md5
        assert hashlib.md5(data).hexdigest() == oid.removesuffix(".dir")
    code, out, _ = invoke("--store", pipeline["store"], "artifact", "push")
    assert "Pushed 0 object(s)" in out and "(5 already there)" in out


def test_pull_of_an_execution_restores_exactly_its_inputs_in_a_fresh_clone(
    pipeline: dict[str, str], project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("--store", pipeline["store"], "artifact", "push")[0] == 0
    clone = tmp_path / "clone"
    (clone / ".cmf").mkdir(parents=True)
    shutil.copy(project / ".cmf" / "config.local.toml", clone / ".cmf")
    monkeypatch.chdir(clone)
    code, out, _ = invoke(
        "--store", pipeline["store"], "artifact", "pull", "--execution", pipeline["train"][:13]
    )
    assert code == 0, out
    assert "Restored data/clean" in out
    assert (clone / "data" / "clean" / "part-1.csv").read_bytes() == b"a,b\n3,4\n"
    assert not (clone / "models").exists()  # an output, not an input of train
    assert not (clone / "data" / "raw.csv").exists()  # an input of prepare, not of train


def test_pull_refuses_to_overwrite_a_modified_workspace_file_without_force(
    pipeline: dict[str, str], project: Path
) -> None:
    with Store(pipeline["store"]) as store:
        cache, remote = Cache.for_project(project), RemoteStore(get_remote(project))
        push_artifacts(store, cache, remote)
        write(project / "data" / "raw.csv", b"edited by hand\n")
        with pytest.raises(IncompleteTransferError, match="modified in the workspace"):
            pull_artifacts(
                store, cache, remote, executions=[pipeline["prepare"]], restore_to=project
            )
        assert (project / "data" / "raw.csv").read_bytes() == b"edited by hand\n"
        report = pull_artifacts(
            store, cache, remote, executions=[pipeline["prepare"]], restore_to=project, force=True
        )
    assert report.restored == ("data/raw.csv",)
    assert (project / "data" / "raw.csv").read_bytes() == b"a,b\n1,2\n3,4\n"


def test_a_corrupt_object_on_the_remote_is_named_with_its_users_and_not_placed(
    pipeline: dict[str, str], project: Path, tmp_path: Path
) -> None:
    with Store(pipeline["store"]) as store:
        cache, remote = Cache.for_project(project), RemoteStore(get_remote(project))
        push_artifacts(store, cache, remote)
        model_md5 = hashlib.md5((project / "models" / "model.bin").read_bytes()).hexdigest()
        on_remote = tmp_path / "remote" / "files" / "md5" / model_md5[:2] / model_md5[2:]
        on_remote.chmod(0o644)
        on_remote.write_bytes(b"bit rot")
        shutil.rmtree(project / ".cmf" / "cache")
        with pytest.raises(IncompleteTransferError) as caught:
            pull_artifacts(store, cache, remote, pipeline="fraud")
    message = str(caught.value)
    assert f"md5:{model_md5} at models/model.bin is corrupt" in message
    assert pipeline["train"][:13] in message
    assert not cache.has_object(model_md5)
    assert cache.has_object(hashlib.md5(b"a,b\n1,2\n3,4\n").hexdigest())  # the rest came
    assert cache.temp_files() == []


def test_an_object_missing_on_the_remote_names_the_artifact_and_executions(
    pipeline: dict[str, str], project: Path, tmp_path: Path
) -> None:
    raw_md5 = hashlib.md5(b"a,b\n1,2\n3,4\n").hexdigest()
    with Store(pipeline["store"]) as store:
        cache, remote = Cache.for_project(project), RemoteStore(get_remote(project))
        push_artifacts(store, cache, remote)
        os.unlink(tmp_path / "remote" / "files" / "md5" / raw_md5[:2] / raw_md5[2:])
        shutil.rmtree(project / ".cmf" / "cache")
        with pytest.raises(IncompleteTransferError, match="data/raw.csv is missing on the remote"):
            pull_artifacts(store, cache, remote, executions=[pipeline["prepare"]])


def test_push_names_artifacts_whose_bytes_were_never_cached(
    pipeline: dict[str, str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMF_CACHE_OUTPUTS", "false")
    write(project / "extra.bin", b"never cached")
    with Cmf(pipeline="fraud", store=pipeline["store"], capture_environment=False) as cmf:
        with cmf.execution("report") as run:
            run.log_artifact("extra.bin")
        with pytest.raises(IncompleteTransferError, match="extra.bin is not in the cache"):
            push_artifacts(cmf.store, Cache.for_project(project), RemoteStore(get_remote(project)))


def test_status_shows_workspace_cache_and_remote_and_a_file_changed_behind_cmfs_back(
    pipeline: dict[str, str], project: Path
) -> None:
    with Store(pipeline["store"]) as store:
        cache, remote = Cache.for_project(project), RemoteStore(get_remote(project))
        push_artifacts(store, cache, remote, executions=[pipeline["prepare"]])
        write(project / "models" / "model.bin", b"retrained")
        rows = {r.path: r for r in artifact_status(store, cache, project, remotes=[remote])}
        assert rows["data/raw.csv"].workspace == "same"
        assert rows["data/raw.csv"].remotes == {"shared": "present"}
        assert rows["models/model.bin"].workspace == "modified"
        assert rows["models/model.bin"].remotes == {"shared": "absent"}
        assert rows["data/clean"].cache == "present"
        part = hashlib.md5(b"a,b\n1,2\n").hexdigest()
        behind_our_back = Path(cache.object_path(part))
        behind_our_back.chmod(0o644)  # as someone editing the cache would
        behind_our_back.write_bytes(b"a,b\n9,9\n")
        assert artifact_status(store, cache, project)[1].cache == "corrupt"
        behind_our_back.chmod(0o444)  # even put back read-only, --verify finds it
        assert artifact_status(store, cache, project, verify=True)[1].cache == "corrupt"
    code, out, _ = invoke("--store", pipeline["store"], "artifact", "status")
    assert code == 0 and "models/model.bin  workspace:modified" in out


def test_a_push_killed_mid_way_leaves_only_whole_objects_and_a_rerun_completes(
    project: Path, sqlite_url: str, tmp_path: Path
) -> None:
    """A real `cmf artifact push` process is SIGKILLed once objects start to appear."""
    for index in range(600):
        write(project / "data" / "many" / f"{index:04}.bin", os.urandom(1024))
    with Cmf(pipeline="bulk", store=sqlite_url, capture_environment=False) as cmf:
        log_and_cache(cmf, "make", [], ["data/many"])
    add_remote(project, "shared", str(tmp_path / "remote"), default=True)
    objects = tmp_path / "remote" / "files" / "md5"
    env = {**os.environ, "CMF_STORE_URL": sqlite_url}
    push_command = [CMF, "artifact", "push", "-j", "1"]
    with subprocess.Popen(push_command, cwd=project, env=env, stderr=subprocess.PIPE) as process:
        while process.poll() is None and not any(objects.rglob("*")):
            pass  # spin until the push has begun writing (no sleep)
        process.send_signal(signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    for oid, data in remote_objects(tmp_path / "remote").items():
        assert hashlib.md5(data).hexdigest() == oid.removesuffix(".dir")
    rerun = subprocess.run(push_command, cwd=project, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert len(remote_objects(tmp_path / "remote")) == 601  # 600 files and the manifest


def test_remotes_are_listed_with_the_default_marked_and_bad_urls_refused(
    project: Path, tmp_path: Path
) -> None:
    assert invoke("remote", "add", "backup", str(tmp_path / "b"))[0] == 0
    code, out, _ = invoke("remote", "add", "s3store", "s3://bucket/cmf", "--default")
    assert code == 0
    code, out, _ = invoke("remote", "list")
    assert "* s3store\ts3://bucket/cmf" in out and "  backup" in out
    code, _, err = invoke("remote", "add", "bad", "ftp2://host/x")
    assert code == 1 and "scheme 'ftp2'" in err
    with pytest.raises(ConfigError, match="names no bucket"):
        add_remote(project, "nobucket", "s3:///path")
    with pytest.raises(NotFoundError, match="No remote named 'nope'"):
        get_remote(project, "nope")
    assert (
        "config.local.toml" in (project / ".cmf" / ".gitignore").read_text()
        or not (project / ".cmf" / ".gitignore").exists()
    )


def test_secrets_in_the_tracked_config_are_refused(project: Path) -> None:
    (project / ".cmf" / "config.toml").write_text(
        '[remote.team]\nurl = "s3://bucket/x"\nsecret_access_key = "hunter2"\n'
    )
    with pytest.raises(ConfigError, match="may be committed to Git"):
        list_remotes(project)


def test_a_remote_under_a_file_is_reported_not_half_written(
    pipeline: dict[str, str], project: Path, tmp_path: Path
) -> None:
    write(tmp_path / "not-a-folder", b"")
    add_remote(project, "broken", str(tmp_path / "not-a-folder" / "remote"))
    with Store(pipeline["store"]) as store, pytest.raises(ArtifactError, match="Cannot write"):
        push_artifacts(
            store, Cache.for_project(project), RemoteStore(get_remote(project, "broken"))
        )
