"""Logistic regression in plain Python, shared by the train and evaluate stages."""

import csv
import json
import math
from pathlib import Path


def load(path: Path) -> tuple[list[list[float]], list[int]]:
    rows = list(csv.reader(path.open()))[1:]
    return [[float(v) for v in row[:-1]] for row in rows], [int(row[-1]) for row in rows]


def predict(weights: list[float], features: list[float]) -> float:
    z = weights[-1] + sum(w * x for w, x in zip(weights, features, strict=False))
    return 1 / (1 + math.exp(-max(min(z, 30), -30)))


def save(weights: list[float], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"weights": weights}))


def restore(path: Path) -> list[float]:
    return list(json.loads(path.read_text())["weights"])
