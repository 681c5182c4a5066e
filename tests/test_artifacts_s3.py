"""An S3 remote, against moto's standalone server — not real S3.

The fixture starts ``moto_server`` (from ``moto[server]``) on 127.0.0.1 on a free
port and makes a bucket; cmf reaches it through DVC's own S3 file system
(dvc-s3) with ``endpointurl``, as it would a MinIO server. The tests are
skipped, with the reason, when moto or dvc-s3 is not installed or the server
does not start.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmf_core import ArtifactError, Cmf
from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.pull import pull_artifacts
from cmf_core.artifacts.push import push_artifacts
from cmf_core.artifacts.remote_store import RemoteStore
from cmf_core.artifacts.remotes import add_remote, get_remote
from cmf_core.store import Store

MOTO = Path(sys.executable).parent / "moto_server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed")
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    if not MOTO.exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # blocks until the server says it listens, or exits
            if "Running on" in line:
                break
        else:
            pytest.skip("moto_server did not start")
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ):
            monkeypatch.setenv(name, value)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="cmf-bytes")
        yield endpoint
    finally:
        process.terminate()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_push_and_verified_pull_through_an_s3_remote(
    s3_endpoint: str, project: Path, sqlite_url: str
) -> None:
    (project / "data").mkdir()
    (project / "data" / "train.csv").write_bytes(b"x,y\n1,2\n")
    (project / "data" / "images").mkdir()
    for index in range(3):
        (project / "data" / "images" / f"{index}.png").write_bytes(os.urandom(5000))
    cache = Cache.for_project(project)
    cmf = Cmf(pipeline="vision", store=sqlite_url, capture_environment=False)
    with cmf, cmf.execution("train") as run:
        for path in ("data/train.csv", "data/images"):
            cache.add(project / path, run.log_dataset(path).digest, stat_cache=cmf.stat_cache)
    add_remote(project, "s3", "s3://cmf-bytes/store", options={"endpointurl": s3_endpoint})
    remote = RemoteStore(get_remote(project, "s3"))
    with Store(sqlite_url) as store:
        assert push_artifacts(store, cache, remote).objects == 5  # a file, a manifest and 3 images
        assert push_artifacts(store, cache, remote).objects == 0
        shutil.rmtree(project / "data")
        shutil.rmtree(cache.root)
        report = pull_artifacts(store, cache, remote, executions=[run.id], restore_to=project)
    assert set(report.restored) == {"data/train.csv", "data/images"}
    assert (project / "data" / "train.csv").read_bytes() == b"x,y\n1,2\n"
    md5 = hashlib.md5(b"x,y\n1,2\n").hexdigest()
    assert f"{md5[:2]}/{md5[2:]}" in remote.object_path(md5)
    assert "files/md5" in remote.object_path(md5)  # DVC 3's layout, so `dvc pull` finds it


def test_an_unreachable_s3_endpoint_is_a_clear_error(project: Path, sqlite_url: str) -> None:
    pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed")
    (project / "a.txt").write_bytes(b"a")
    cmf = Cmf(pipeline="p", store=sqlite_url, capture_environment=False)
    with cmf, cmf.execution("s") as run:
        Cache.for_project(project).add(project / "a.txt", run.log_artifact("a.txt").digest)
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    add_remote(project, "down", "s3://bucket/x", options={"endpointurl": endpoint})
    remote = RemoteStore(get_remote(project, "down"))
    with (
        Store(sqlite_url) as store,
        pytest.raises(ArtifactError, match="Remote 'down' \\(s3://bucket/x\\)"),
    ):
        push_artifacts(store, Cache.for_project(project), remote, jobs=1)
