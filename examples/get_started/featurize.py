"""Stage 2, featurize — no cmf import at all: `cmf run` records it from outside.

    cmf run --pipeline fraud-detection --stage featurize \
        -i data/prepared -o data/features -p scale=standard -- python featurize.py

Standardises every feature with the training set's mean and deviation.
"""

import csv
import json
import statistics
from pathlib import Path


def main() -> None:
    source, target = Path("data/prepared"), Path("data/features")
    target.mkdir(parents=True, exist_ok=True)
    train = list(csv.DictReader((source / "train.csv").open()))
    features = [name for name in train[0] if name != "is_fraud"]
    stats = {}
    for name in features:
        values = [float(row[name]) for row in train]
        stats[name] = (statistics.fmean(values), statistics.pstdev(values) or 1.0)
    for split in ("train", "test"):
        rows = list(csv.DictReader((source / f"{split}.csv").open()))
        with (target / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*features, "is_fraud"])
            for row in rows:
                scaled = [(float(row[f]) - stats[f][0]) / stats[f][1] for f in features]
                writer.writerow([*(f"{v:.6f}" for v in scaled), row["is_fraud"]])
    (target / "scaler.json").write_text(json.dumps(stats, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
