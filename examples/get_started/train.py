"""Stage 3, train — cmflib's method names: a cmflib script with only its import changed.

from cmflib import cmf          # before
from cmf_core import Cmf        # after (and cmf.Cmf → Cmf)
"""

import sys
from pathlib import Path

from common import load, predict, save

from cmf_core import Cmf

EPOCHS, LEARNING_RATE = 30, 0.5


def main() -> None:
    pipeline = sys.argv[1] if len(sys.argv) > 1 else "fraud-detection"
    metawriter = Cmf(filepath=".cmf/metadata.db", pipeline_name=pipeline)
    _ = metawriter.create_context(pipeline_stage="train")
    _ = metawriter.create_execution(
        execution_type="train", custom_properties={"epochs": EPOCHS, "lr": LEARNING_RATE}
    )
    metawriter.log_dataset("data/features", "input")

    x, y = load(Path("data/features/train.csv"))
    weights = [0.0] * (len(x[0]) + 1)
    for epoch in range(EPOCHS):
        grad = [0.0] * len(weights)
        loss = 0.0
        for features, label in zip(x, y, strict=True):
            p = predict(weights, features)
            loss -= label * _log(p) + (1 - label) * _log(1 - p)
            for i, value in enumerate([*features, 1.0]):
                grad[i] += (p - label) * value
        weights = [w - LEARNING_RATE * g / len(x) for w, g in zip(weights, grad, strict=True)]
        metawriter.log_metric("training_metrics", {"loss": loss / len(x), "epoch": epoch})
    metawriter.commit_metrics("training_metrics")

    save(weights, Path("models/model.json"))
    metawriter.log_model(
        path="models/model.json",
        event="output",
        model_framework="plain-python",
        model_type="LogisticRegression",
        model_name="fraud-logreg",
    )
    metawriter.log_execution_metrics("train_summary", {"final_loss": loss / len(x)})
    metawriter.finalize()


def _log(p: float) -> float:
    import math

    return math.log(min(max(p, 1e-12), 1 - 1e-12))


if __name__ == "__main__":
    main()
