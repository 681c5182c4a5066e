"""TensorBoard scalars become step metrics: run.log_tensorboard and `cmf run --tensorboard`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmf_core import ArtifactError, Cmf, Store

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")

CMF = str(Path(sys.executable).parent / "cmf")

WRITER = """
import sys
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

def write(folder, tag, values, tensor=False):
    writer = EventFileWriter(folder)
    for step, value in values:
        if tensor:  # TF2's tf.summary.scalar: a scalar tensor under the scalars plugin
            metadata = summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
            )
            proto = tensor_util.make_tensor_proto(value)
            item = summary_pb2.Summary.Value(tag=tag, tensor=proto, metadata=metadata)
        else:  # PyTorch's SummaryWriter.add_scalar, TF1
            item = summary_pb2.Summary.Value(tag=tag, simple_value=value)
        summary = summary_pb2.Summary(value=[item])
        writer.add_event(event_pb2.Event(step=step, wall_time=1.0, summary=summary))
    writer.close()

root = sys.argv[1]
write(root, "lr", [(0, 0.5), (1, 0.25)])  # float32-exact values
write(root + "/train", "loss", [(0, 1.0), (1, 0.5), (2, 0.25), (2, 0.125)])
write(root + "/validation", "loss", [(0, 1.5), (2, 0.75)], tensor=True)
"""


def write_logs(folder: Path) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(folder)], check=True)


def series(store: Store, execution_id: str, name: str) -> list[tuple[int | None, float]]:
    return sorted((m.step, m.value) for m in store.get_metrics(execution_id, name=name))


def test_log_tensorboard_records_every_scalar_series_and_the_folder(
    project: Path, store_url: str
) -> None:
    write_logs(project / "runs")
    with Cmf(pipeline="p", store=store_url) as cmf:
        with cmf.execution("train") as run:
            artifact = run.log_tensorboard("runs")
        store = cmf.store
        assert artifact.type.value == "tensorboard"
        assert series(store, run.id, "lr") == [(0, 0.5), (1, 0.25)]
        assert series(store, run.id, "train/loss") == [(0, 1.0), (1, 0.5), (2, 0.125)]  # last wins
        assert series(store, run.id, "validation/loss") == [(0, 1.5), (2, 0.75)]
        detail = store.get_execution_detail(run.id)
    assert [(e.path, e.artifact.type.value) for e in detail.outputs] == [("runs", "tensorboard")]


def test_a_missing_log_folder_is_named(project: Path, sqlite_url: str) -> None:
    with (
        Cmf(pipeline="p", store=sqlite_url) as cmf,
        cmf.execution("train") as run,
        pytest.raises(ArtifactError, match="TensorBoard log directory absent does not exist"),
    ):
        run.log_tensorboard("absent")


def test_cmf_run_reads_the_tensorboard_folder_when_the_command_exits(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    command = [CMF, "run", "--pipeline", "p", "--stage", "train", "--tensorboard"]
    result = subprocess.run(
        [*command, "logs", "--", sys.executable, "-c", WRITER, "logs"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        [*command, "absent", "--", "true"], cwd=project, capture_output=True, text=True, env=env
    )
    assert missing.returncode == 1
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        failed, done = store.list_executions()
        assert done.status.value == "completed"
        assert store.get_execution_detail(done.id).step_metrics == {
            "lr": 2,
            "train/loss": 3,
            "validation/loss": 2,
        }
        assert failed.error == "declared output(s) not produced: absent"
