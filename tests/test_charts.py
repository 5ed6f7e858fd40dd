"""The dashboards' bar charts drawn as inline SVG on the server: scaled bars, escaped text, cut labels."""

from __future__ import annotations

import re

from web.charts import bar_chart, svg


def test_a_chart_is_drawn_with_every_bar_its_value_and_escaped_text() -> None:
    long_label = "一个很长很长很长很长很长的名字超过十九个字"
    chart = bar_chart(["<b>甲</b>", long_label], ["A & B", "C"], [[4, 0], [2, 1]], lambda v: f"{v} 人")
    drawn = str(svg(chart, "chart-x", 'Title "<x>"'))
    assert drawn.startswith('<svg class="chart" id="chart-x" role="img" aria-labelledby="chart-x-title"')
    assert drawn.endswith("</svg>")
    assert '<title id="chart-x-title">Title &#34;&lt;x&gt;&#34;</title>' in drawn
    assert "<b>" not in drawn and "&lt;b&gt;甲&lt;/b&gt;" in drawn
    # Longer than 19 characters: cut to 13 and an ellipsis, as the template's truncate did.
    assert f">{long_label[:13]}…</text>" in drawn and long_label not in drawn
    # The largest value fills the plot; zero draws nothing; a legend entry per series.
    widths = [int(w) for w in re.findall(r'<rect x="170" y="\d+" width="(\d+)" height="15"', drawn)]
    assert widths == [400, 0, 200, 100]
    assert "<title>A &amp; B: 4 人</title>" in drawn and drawn.count('class="legend"') == 2
