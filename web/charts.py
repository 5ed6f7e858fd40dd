"""Server-rendered horizontal bar charts as plain numbers for an SVG template: no script, readable by a table beside."""

from __future__ import annotations

import msgspec

ROW_HEIGHT = 18
ROW_GAP = 14
LABEL_WIDTH = 170
PLOT_WIDTH = 400
VALUE_WIDTH = 120


class Bar(msgspec.Struct, frozen=True):
    """One bar: its series, value, text for the value, and its place in the drawing."""

    series: int
    value: int
    text: str
    x: int
    y: int
    width: int
    height: int


class Group(msgspec.Struct, frozen=True):
    """A label and its bars (one per series)."""

    label: str
    y: int
    bars: list[Bar]


class Chart(msgspec.Struct, frozen=True):
    """A chart's drawing: the canvas size, the groups of bars, and the legend."""

    width: int
    height: int
    groups: list[Group]
    legend: list[str]
    label_width: int


def bar_chart(labels: list[str], series: list[str], values: list[list[int]], fmt: object = str) -> Chart:
    """Bars for values[row][series], scaled to the largest; `fmt` writes a value as text beside its bar."""
    largest = max((v for row in values for v in row), default=0) or 1
    per_group = len(series) * ROW_HEIGHT + ROW_GAP
    groups: list[Group] = []
    for index, (label, row) in enumerate(zip(labels, values, strict=True)):
        top = index * per_group + 28
        bars = [
            Bar(
                series=s,
                value=value,
                text=fmt(value),  # type: ignore[operator]
                x=LABEL_WIDTH,
                y=top + s * ROW_HEIGHT,
                # A value above zero is never drawn thinner than one pixel, so it is never mistaken for zero.
                width=max(1, round(PLOT_WIDTH * value / largest)) if value > 0 else 0,
                height=ROW_HEIGHT - 3,
            )
            for s, value in enumerate(row)
        ]
        groups.append(Group(label=label, y=top, bars=bars))
    height = len(labels) * per_group + 36
    return Chart(
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=height,
        groups=groups,
        legend=series,
        label_width=LABEL_WIDTH,
    )
