"""A four-stage pipeline recorded with nothing but ``@step``.

    python examples/step_decorator/pipeline.py [WORKDIR]

WORKDIR (default: examples/step_decorator/workdir) is made afresh as a cmf
project in its own Git repository; the four stages then run in this process,
each call recorded as one execution of the ``fraud-steps`` pipeline: its
params from the call's arguments and ``params.yaml``, its inputs and outputs
from the path types in the signatures, step metrics through the injected
``run``. It ends by printing ``cmf trace`` of the evaluation's metrics file.
"""

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from cmf_core import Dataset, Metrics, Model, Output, Run, step

PIPELINE = "fraud-steps"


@step(pipeline=PIPELINE)
def prepare(raw: Dataset, out: Output[Dataset], *, split: float = 0.75, seed: int = 1) -> None:
    rows = Path(raw).read_text().splitlines()[1:]
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * split)
    Path(out).mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", rows[:cut]), ("test.csv", rows[cut:])):
        (Path(out) / name).write_text("amount,label\n" + "\n".join(part) + "\n")


@step(pipeline=PIPELINE)
def featurize(prepared: Dataset, out: Output[Dataset], *, scale: float = 1000.0) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    for name in ("train.csv", "test.csv"):
        rows = [line.split(",") for line in (Path(prepared) / name).read_text().split()[1:]]
        scaled = [f"{float(amount) / scale},{label}" for amount, label in rows]
        (Path(out) / name).write_text("x,label\n" + "\n".join(scaled) + "\n")


@step(pipeline=PIPELINE, params_file="params.yaml")
def train(features: Dataset, *, epochs: int, lr: float, run: Run) -> Model:
    data = _load(Path(features) / "train.csv")
    weight = bias = 0.0
    for _ in range(epochs):
        loss = 0.0
        for x, label in data:
            error = weight * x + bias - label
            loss += error * error / len(data)
            weight -= lr * error * x / len(data)
            bias -= lr * error / len(data)
        run.log_metric("loss", loss)
    Path("models").mkdir(exist_ok=True)
    Path("models/model.json").write_text(json.dumps({"weight": weight, "bias": bias}))
    return Model("models/model.json")


@step(pipeline=PIPELINE)
def evaluate(model: Model, features: Dataset, *, threshold: float = 0.5, run: Run) -> Metrics:
    fitted = json.loads(Path(model).read_text())
    data = _load(Path(features) / "test.csv")
    hits = sum((fitted["weight"] * x + fitted["bias"] >= threshold) == bool(y) for x, y in data)
    run.log_metrics({"accuracy": hits / len(data)})
    Path("metrics.json").write_text(json.dumps({"accuracy": hits / len(data)}))
    return Metrics("metrics.json")


def _load(path: Path) -> list[tuple[float, float]]:
    rows = [line.split(",") for line in path.read_text().split()[1:]]
    return [(float(x), float(label)) for x, label in rows]


def main() -> None:
    here = Path(__file__).resolve().parent
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "workdir"
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "data").mkdir(parents=True)
    os.chdir(workdir)
    cmf = str(Path(sys.executable).parent / "cmf")
    git = ["git", "-c", "user.name=cmf example", "-c", "user.email=example@cmf.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([cmf, "init"], check=True, stdout=subprocess.DEVNULL)
    Path(".gitignore").write_text("data/\nmodels/\nmetrics.json\n")
    Path("params.yaml").write_text("epochs: 40\nlr: 0.5\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "step pipeline"], check=True)
    rng = random.Random(0)
    lines = [f"{a},{int(a > 600)}" for a in (rng.uniform(0, 1000) for _ in range(200))]
    Path("data/transactions.csv").write_text("amount,label\n" + "\n".join(lines) + "\n")

    prepare(Dataset("data/transactions.csv"), Dataset("data/prepared"))
    featurize(Dataset("data/prepared"), Dataset("data/features"), scale=1000.0)
    model = train(Dataset("data/features"))
    metrics = evaluate(model, Dataset("data/features"))
    print(f"accuracy: {json.loads(Path(metrics).read_text())['accuracy']:.3f}", flush=True)
    subprocess.run([cmf, "ls", "executions", "--pipeline", PIPELINE], check=True)
    subprocess.run([cmf, "trace", str(metrics)], check=True)


if __name__ == "__main__":
    main()
