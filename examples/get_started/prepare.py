"""Stage 1, prepare — the Python API: make a small transactions dataset and split it.

Records: the raw dataset as input, the train/test split as output, the split
parameters, and row counts as metrics.
"""

import csv
import random
import sys
from pathlib import Path

from cmf_core import Cmf

SEED, ROWS, TEST_FRACTION = 7, 2000, 0.25


def make_raw(path: Path) -> None:
    """Synthetic card transactions: amount, hour, distance, merchant risk → is_fraud."""
    rng = random.Random(SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["amount", "hour", "distance", "merchant_risk", "is_fraud"])
        for _ in range(ROWS):
            amount = rng.lognormvariate(3.5, 1.0)
            hour = rng.randrange(24)
            distance = rng.expovariate(1 / 20)
            risk = rng.random()
            score = 0.004 * amount + 0.02 * distance + 2.5 * risk + (1.5 if hour < 5 else 0)
            writer.writerow(
                [f"{amount:.2f}", hour, f"{distance:.1f}", f"{risk:.3f}", int(score > 4)]
            )


def main() -> None:
    raw = Path("data/raw/transactions.csv")
    if not raw.exists():
        make_raw(raw)
    params = {"seed": SEED, "test_fraction": TEST_FRACTION}
    cmf = Cmf(pipeline=sys.argv[1] if len(sys.argv) > 1 else "fraud-detection")
    with cmf.execution(stage="prepare", params=params) as run:
        run.log_dataset(raw, event="input")
        rows = list(csv.reader(raw.open()))
        header, body = rows[0], rows[1:]
        random.Random(SEED).shuffle(body)
        cut = int(len(body) * (1 - TEST_FRACTION))
        out = Path("data/prepared")
        out.mkdir(parents=True, exist_ok=True)
        for name, part in (("train.csv", body[:cut]), ("test.csv", body[cut:])):
            with (out / name).open("w", newline="") as handle:
                csv.writer(handle).writerows([header, *part])
        run.log_dataset(out, event="output")
        run.log_metrics({"train_rows": cut, "test_rows": len(body) - cut})
    cmf.close()


if __name__ == "__main__":
    main()
