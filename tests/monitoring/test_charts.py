"""The report chart's y axis: labels are round numbers, each on its gridline, and on the same
scale as the bars (today's bug: 0, 1, 2, 3, 5 on five evenly spaced lines)."""

import datetime as dt
import itertools
import re

import pytest

from apps.monitoring.charts import activity_chart, axis_ticks
from apps.monitoring.selectors.report import SeriesPoint
from apps.monitoring.selectors.windows import Counts


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (5, [0, 1, 2, 3, 4, 5]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (13, [0, 5, 10, 15]),
        (66, [0, 20, 40, 60, 80]),
        (101, [0, 25, 50, 75, 100, 125]),
        (130, [0, 50, 100, 150]),
        (12345, [0, 2500, 5000, 7500, 10000, 12500]),
    ],
)
def test_axis_ticks_are_round_and_even(maximum, expected):
    ticks = axis_ticks(maximum)
    assert ticks == expected
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and ticks[-1] >= maximum and len(ticks) <= 6


def _chart(operations: list[int]) -> str:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    points = [
        SeriesPoint(
            start=start + dt.timedelta(days=i),
            label=f"day {i}",
            counts=Counts(operations=ops, successes=ops),
        )
        for i, ops in enumerate(operations)
    ]
    return str(activity_chart(points, title="Activity"))


@pytest.mark.parametrize("peak", [3, 5, 7, 10, 66, 130, 999])
def test_labels_sit_on_gridlines_at_the_bars_scale(peak):
    svg = _chart([1, peak, max(1, peak // 2)])
    gridlines = [float(y) for y in re.findall(r'<line x1="44" y1="([\d.]+)"', svg)]
    labels = re.findall(r'<text x="40" y="([\d.]+)"[^>]*>(\d+)</text>', svg)
    assert [int(v) for _, v in labels] == axis_ticks(peak)
    for (y, _value), line in zip(labels, gridlines, strict=True):
        assert float(y) == pytest.approx(line + 3)  # each label beside its own gridline
    # The tallest bar's top is where its number is on the axis.
    bars = re.findall(r'data-operations="(\d+)".*?<rect class="ok" x="[\d.]+" y="([\d.]+)"', svg)
    base = max(gridlines)
    scale = (base - min(gridlines)) / axis_ticks(peak)[-1]
    for operations, top in bars:
        assert base - float(top) == pytest.approx(int(operations) * scale, abs=0.11)
    line_of = {int(v): float(y) - 3 for y, v in labels}
    if peak in line_of:  # a bar as tall as a label's value reaches that label's gridline
        tallest = next(float(top) for ops, top in bars if int(ops) == peak)
        assert tallest == pytest.approx(line_of[peak], abs=0.11)
