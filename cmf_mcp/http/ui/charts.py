"""Line charts as geometry for the SVG templates: series of (step, value) scaled to a box.

The templates draw what this returns (polylines, ticks, labels), so every label
is escaped by Jinja2 and no markup is built from strings here. NaN values break
a line into segments.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT, PAD = 560, 220, 44
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    segments: list[str]  # each an SVG points="x,y x,y …" string
    href: str | None = None
    is_best: bool = False


@dataclass(frozen=True)
class Chart:
    title: str
    lines: list[Line]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD
    points: int = 0
    empty: bool = field(default=False)


@dataclass(frozen=True)
class Series:
    label: str
    steps: Sequence[float]
    values: Sequence[float]
    href: str | None = None
    is_best: bool = False


def line_chart(title: str, series: Sequence[Series]) -> Chart:
    """One chart of ``series`` on shared axes."""
    xs = [x for s in series for x in s.steps]
    ys = [y for s in series for y in s.values if math.isfinite(y)]
    if not xs or not ys:
        return Chart(title, [], [], [], empty=True)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - abs(y0 or 1) * 0.1, y1 + abs(y1 or 1) * 0.1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * inner_w

    def sy(y: float) -> float:
        return HEIGHT - PAD - (y - y0) / (y1 - y0) * inner_h

    lines = []
    for index, s in enumerate(series):
        segments: list[str] = []
        current: list[str] = []
        for x, y in zip(s.steps, s.values, strict=True):
            if not math.isfinite(y):
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            current.append(f"{sx(x):.1f},{sy(y):.1f}")
        if current:
            segments.append(" ".join(current))
        colour = PALETTE[index % len(PALETTE)]
        lines.append(Line(s.label, colour, segments, s.href, s.is_best))
    x_ticks = [(sx(v), _tick(v)) for v in _ticks(x0, x1)]
    y_ticks = [(sy(v), _tick(v)) for v in _ticks(y0, y1)]
    return Chart(title, lines, x_ticks, y_ticks, points=len(xs))


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _tick(value: float) -> str:
    return f"{value:.4g}"


__all__ = ["Chart", "Line", "Series", "line_chart"]
