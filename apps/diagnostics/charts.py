"""Inline SVG line charts for the report (no JavaScript, renders in e-mail and in weasyprint)."""

from __future__ import annotations

from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 520, 180, 44, 12, 22, 34


def line_chart_svg(title: str, unit: str, labels: list[str], values: list[float | None]) -> str:
    """A chart of one series across visits; missing values leave gaps."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    if hi - lo < 1:
        lo, hi = lo - 1, hi + 1
    span_x = max(len(values) - 1, 1)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD_L + plot_w * i / span_x, PAD_T + plot_h * (hi - v) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="14" font-size="12" font-weight="bold">{escape(title)} ({escape(unit)})</text>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" stroke="#888"/>',
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" stroke="#888"/>',
        f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" font-size="10" text-anchor="end">{hi:.1f}</text>',
        f'<text x="{PAD_L - 4}" y="{H - PAD_B}" font-size="10" text-anchor="end">{lo:.1f}</text>',
    ]
    segment: list[str] = []
    segments = []
    for i, v in enumerate(values):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(i, v)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f5fa8"><title>{escape(labels[i])}: {v:.1f}</title></circle>'
        )
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(
                f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{" ".join(seg)}"/>'
            )
    for i, label in enumerate(labels):
        x, _ = xy(i, lo)
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 14}" font-size="9" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
