"""Server-rendered horizontal bar charts as plain numbers for an SVG template: no script, readable by a table beside."""

from __future__ import annotations

import msgspec
from markupsafe import Markup, escape

ROW_HEIGHT = 18
ROW_GAP = 14
LABEL_WIDTH = 170
PLOT_WIDTH = 400
VALUE_WIDTH = 120
LEGEND_STEP = 130
# A group's label is cut to 13 characters and "…" when it is longer than 19, as Jinja's truncate(14, true, "…") with
# its default leeway of 5 did when the chart was a template macro.
LABEL_KEPT = 19
LABEL_CUT = 13


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


def _label(text: str) -> str:
    return text if len(text) <= LABEL_KEPT else text[:LABEL_CUT] + "…"


def svg(chart: Chart, chart_id: str, title: str) -> Markup:
    """The chart drawn as an inline SVG (no script), marked as an image with a title; the table beside it carries
    the same figures for screen readers and for copying."""
    # Written here rather than in a template macro: a dashboard draws about a hundred bars, and the macro's
    # attribute-by-attribute escaping was a fifth of the page's rendering.
    name = escape(chart_id)
    lines = [
        f'<svg class="chart" id="{name}" role="img" aria-labelledby="{name}-title"'
        f' viewBox="0 0 {chart.width} {chart.height}" width="100%" preserveAspectRatio="xMinYMin meet"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'  <title id="{name}-title">{escape(title)}</title>',
    ]
    legend = [escape(series) for series in chart.legend]
    for index, series in enumerate(legend):
        x = chart.label_width + index * LEGEND_STEP
        lines.append(f'  <rect x="{x}" y="4" width="12" height="12" class="series-{index}"/>')
        lines.append(f'  <text x="{x + 16}" y="15" class="legend">{series}</text>')
    for group in chart.groups:
        lines.append(
            f'  <text x="{chart.label_width - 8}" y="{group.y + 13}" text-anchor="end" class="label">'
            f"{escape(_label(group.label))}</text>"
        )
        for bar in group.bars:
            text = escape(bar.text)
            lines.append(
                f'  <rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}"'
                f' class="series-{bar.series}"><title>{legend[bar.series]}: {text}</title></rect>'
            )
            lines.append(f'  <text x="{bar.x + bar.width + 4}" y="{bar.y + 12}" class="value">{text}</text>')
    lines.append("</svg>")
    return Markup("\n".join(lines))  # noqa: S704 - every text above is escaped, the rest are our integers
