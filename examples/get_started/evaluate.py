"""Stage 4, evaluate — the Python API again: the model and test set in, metrics out."""

import sys
from pathlib import Path

from common import load, predict, restore

from cmf_core import Cmf


def main() -> None:
    cmf = Cmf(pipeline=sys.argv[1] if len(sys.argv) > 1 else "fraud-detection")
    with cmf.execution(stage="evaluate", params={"threshold": 0.5}) as run:
        run.log_model("models/model.json", event="input")
        run.log_dataset("data/features/test.csv", event="input")
        weights = restore(Path("models/model.json"))
        x, y = load(Path("data/features/test.csv"))
        predicted = [int(predict(weights, f) >= 0.5) for f in x]
        tp = sum(p and t for p, t in zip(predicted, y, strict=True))
        fp = sum(p and not t for p, t in zip(predicted, y, strict=True))
        fn = sum(t and not p for p, t in zip(predicted, y, strict=True))
        accuracy = sum(p == t for p, t in zip(predicted, y, strict=True)) / len(y)
        run.log_metrics(
            {
                "accuracy": accuracy,
                "precision": tp / (tp + fp) if tp + fp else 0.0,
                "recall": tp / (tp + fn) if tp + fn else 0.0,
            }
        )
    cmf.close()


if __name__ == "__main__":
    main()
