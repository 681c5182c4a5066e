"""The MLflow baselines of bench_logging.py: runs logged as cmf logs an execution, step series.

MLflow (``mlflow-skinny``) on a SQLite tracking URI in a temporary folder, with
its telemetry off (bench_logging.py sets the environment). Run as part of
bench_logging.py, which puts the repository root on ``sys.path``.
"""

import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import summary_ms
from bench.recording_cost import cpu_summary_ms


def bench_mlflow_runs(
    folder: Path, sizes: dict[str, int], files: tuple[Path, Path] | None = None
) -> dict[str, Any]:
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    folder.mkdir()
    with mlflow_tracking(folder):
        started = time.perf_counter()
        mlflow.set_experiment("bench")  # creates the SQLite database and its tables
        created = time.perf_counter() - started
        times: list[float] = []
        cpu: list[float] = []
        for i in range(sizes["warmup"] + sizes["mlflow_runs"]):
            if files is not None:
                files[1].write_bytes(f"model {i}\n".encode())
            started, started_cpu = time.perf_counter(), time.process_time()
            mlflow.start_run()
            mlflow.log_param("lr", 0.01)
            if files is not None:  # the same content as cmf's execution: both files
                mlflow.log_artifact(str(files[0]))
                mlflow.log_artifact(str(files[1]))
            mlflow.log_metrics({"accuracy": 0.93, "loss": 0.21, "f1": 0.88 + i * 1e-6})
            mlflow.end_run()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return {
        "version": mlflow.__version__,
        "what": "start_run + log_param + "
        + ("log_artifact(input) + log_artifact(model) + " if files else "")
        + "log_metrics(3) + end_run"
        + ("" if files else ", no files"),
        **summary_ms(times[sizes["warmup"] :]),
        **cpu_summary_ms(cpu[sizes["warmup"] :]),
        "first_run_ms": round(times[0] * 1000, 3),
        "create_store_ms": round(created * 1000, 3),
    }


@contextlib.contextmanager
def mlflow_tracking(folder: Path) -> Iterator[str]:
    """Point MLflow at a SQLite store in ``folder``, working in that folder meanwhile."""
    import mlflow

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.getcwd()
    os.chdir(folder)  # MLflow puts its default artifact folder under the working folder
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        with contextlib.suppress(Exception):
            mlflow.end_run()
        os.chdir(previous)


def bench_mlflow_step_metrics(folder: Path, sizes: dict[str, int]) -> dict[str, Any]:
    import logging

    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunStatus

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    folder.mkdir()
    count = sizes["mlflow_metric_values"]
    batch = 1000
    rates: list[float] = []
    with mlflow_tracking(folder) as uri:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.create_experiment("steps")
        for _ in range(sizes["metric_repeats"]):
            run_id = client.create_run(experiment).info.run_id
            now = int(time.time() * 1000)
            started = time.perf_counter()
            for first in range(0, count, batch):
                client.log_batch(
                    run_id,
                    metrics=[
                        Metric("loss", 1.0 / (i + 1), now, i)
                        for i in range(first, min(first + batch, count))
                    ],
                )
            client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
            rates.append(count / (time.perf_counter() - started))
    return {
        "version": mlflow.__version__,
        "values": count,
        "batch": batch,
        "repeats": len(rates),
        "values_per_s": round(statistics.median(rates)),
        "values_per_s_each": [round(r) for r in rates],
    }
