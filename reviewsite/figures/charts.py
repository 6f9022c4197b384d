"""Charts as data for small SVG templates (templates/figures/_chart.html): drawn on the server, no
script, no file fetched from elsewhere, styled by the site's stylesheet (no inline style, for the
strict CSP), each with the table a screen reader reads instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 76, 8, 12, 28


@dataclass(frozen=True)
class Point:
    label: str  # the week, as the table and the tooltip say it
    value: float | None
    text: str  # the value as the table says it ("3", "75%", "4 hours", "no data")
    x: float
    y: float | None
    height: float  # of the bar from the baseline


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: list[Point]

    @property
    def line(self) -> str:
        """An SVG path through the points that have a value (gaps where none)."""
        parts, pen_down = [], False
        for point in self.points:
            if point.y is None:
                pen_down = False
                continue
            parts.append(f"{'L' if pen_down else 'M'}{point.x:.1f},{point.y:.1f}")
            pen_down = True
        return " ".join(parts)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    kind: str  # "bars" or "lines"
    series: list[Series]
    top: float  # the value at the top of the axis
    top_text: str
    labels: list[tuple[float, str]]  # x and text of the few week labels under the axis
    bar_width: float

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table: one row per week, one column per series."""
        return [(points[0].label, [point.text for point in points])
                for points in zip(*(series.points for series in self.series))]


def chart(key: str, title: str, description: str, weeks: Sequence[str], series: Sequence[tuple[str, str, list]],
          *, text: Callable[[float], str], kind: str = "bars", top: float | None = None) -> Chart:
    """``series``: (name, css class, one value or None per week)."""
    values = [value for _, _, column in series for value in column if value is not None]
    top = top or max([*values, 0]) or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(weeks), 1)
    bar_w = step * (0.7 if kind == "bars" else 0) / max(len(series), 1)

    def x_of(index: int, which: int) -> float:
        if kind == "bars":
            return LEFT + index * step + step * 0.15 + which * bar_w
        return LEFT + index * step + step / 2

    drawn = []
    for which, (name, css, column) in enumerate(series):
        points = []
        for index, (week, value) in enumerate(zip(weeks, column)):
            height = inner_h * value / top if value is not None else 0.0
            points.append(Point(label=week, value=value, text=text(value) if value is not None else "no data",
                                x=x_of(index, which), y=(TOP + inner_h - height) if value is not None else None,
                                height=height))
        drawn.append(Series(name=name, css=css, points=points))
    every = max(len(weeks) // 4, 1)
    labels = [(LEFT + index * step + step / 2, week) for index, week in enumerate(weeks) if index % every == 0]
    return Chart(key=key, title=title, description=description, kind=kind, series=drawn, top=top,
                 top_text=text(top), labels=labels, bar_width=bar_w)
