"""Charts as inline SVG, drawn on the server: they render in any browser and in the PDF with no
script and no request to another host."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from apps.monitoring.selectors.report import SeriesPoint

GREEN = "#2f9e44"
RED = "#e03131"
GRID = "#dee2e6"
TEXT = "#495057"


def _n(value: float) -> str:
    return f"{value:.1f}"


def axis_ticks(maximum: int, *, most: int = 5) -> list[int]:
    """Whole-number gridline values from 0 to a round top at or above `maximum`, evenly spaced
    by 1, 2, 2.5 or 5 times a power of ten, with at most `most` steps: 5 -> 0..5 by 1,
    7 -> 0..8 by 2, 130 -> 0..150 by 50. Every label then sits on its gridline."""
    maximum = max(int(maximum), 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = factor * magnitude
            if step != int(step):
                continue  # 2.5 is not a whole number of operations
            step = int(step)
            count = -(-maximum // step)  # ceiling division
            if count <= most:
                return [step * i for i in range(count + 1)]
        magnitude *= 10


def activity_chart(
    points: Sequence[SeriesPoint], *, title: str, width: int = 720, height: int = 200
) -> SafeString:
    """Stacked bars per bucket: successes (green) under errors (red)."""
    left, right, top, bottom = 44, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = axis_ticks(max((p.counts.operations for p in points), default=0))
    peak = ticks[-1]
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            'viewBox="0 0 {} {}" width="{}" height="{}" aria-label="{}">',
            width,
            height,
            width,
            height,
            title,
        ),
        format_html("<title>{}</title>", title),
    ]
    for value in ticks:
        y = _n(top + plot_h - plot_h * value / peak)
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="{}">{}</text>',
                left,
                y,
                width - right,
                y,
                GRID,
                left - 4,
                _n(float(y) + 3),
                TEXT,
                value,
            )
        )
    every = max(1, round(n / 8))
    for index, point in enumerate(points):
        x = left + index * slot + (slot - bar_w) / 2
        ok_h = plot_h * point.counts.successes / peak
        err_h = plot_h * point.counts.errors / peak
        base = top + plot_h
        label = f"{point.label}: {point.counts.operations} operations, {point.counts.errors} errors"
        parts.append(
            format_html(
                '<g class="bar" data-operations="{}" data-errors="{}"><title>{}</title>'
                '<rect class="ok" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<rect class="err" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                "</g>",
                point.counts.operations,
                point.counts.errors,
                label,
                _n(x),
                _n(base - ok_h),
                _n(bar_w),
                _n(ok_h),
                GREEN,
                _n(x),
                _n(base - ok_h - err_h),
                _n(bar_w),
                _n(err_h),
                RED,
            )
        )
        if index % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="{}">{}</text>',
                    _n(x + bar_w / 2),
                    height - bottom + 14,
                    TEXT,
                    point.label,
                )
            )
    parts.append(
        format_html(
            '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
            '<text x="{}" y="{}" font-size="10" fill="{}">successes</text>'
            '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
            '<text x="{}" y="{}" font-size="10" fill="{}">errors</text>',
            left,
            height - 12,
            GREEN,
            left + 14,
            height - 3,
            TEXT,
            left + 90,
            height - 12,
            RED,
            left + 104,
            height - 3,
            TEXT,
        )
    )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308  (every part escaped above)


def rate_bar(rate, *, width: int = 120) -> SafeString:
    """A small horizontal bar for a success rate (None: nothing happened)."""
    if rate is None:
        return format_html('<span class="muted">{}</span>', "no activity")
    filled = float(rate) * width / 100
    color = GREEN if rate >= 95 else ("#f08c00" if rate >= 80 else RED)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="rate" width="{}" height="10" '
        'viewBox="0 0 {} 10" role="img" aria-label="{} %"><rect width="{}" height="10" '
        'fill="{}"/><rect width="{}" height="10" fill="{}"/></svg>',
        width,
        width,
        escape(str(rate)),
        width,
        GRID,
        _n(filled),
        color,
    )
