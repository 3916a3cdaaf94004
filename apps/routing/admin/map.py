"""The routes of a plan as an inline SVG: no JavaScript, no static files, no tile server.

Points are projected with Web Mercator. When ROUTING_TILE_URL is set (for example
"https://tile.openstreetmap.org/{z}/{x}/{y}.png", or your own tile server) the matching map
tiles are laid under the routes as SVG images, so the plot becomes a real map.
"""

from __future__ import annotations

import dataclasses
import math

from django.conf import settings
from django.utils.html import format_html, format_html_join, mark_safe

WIDTH, HEIGHT, PAD = 900, 560, 24
PALETTE = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
    "#4f46e5", "#65a30d", "#0d9488", "#b91c1c", "#7c3aed", "#c2410c", "#0369a1", "#a16207",
]  # fmt: skip


def _n(value: float) -> str:
    """Coordinates as text first: format_html escapes its arguments, numbers included."""
    return f"{value:.1f}"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _mercator(lat: float, lng: float) -> tuple[float, float]:
    """World coordinates in [0, 1] (x east, y south)."""
    lat = max(-85.0, min(85.0, lat))
    x = (lng + 180.0) / 360.0
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return x, y


@dataclasses.dataclass
class Track:
    label: str
    colour: str
    points: list[tuple[float, float]]  # lat, lng: start, stops..., home
    stop_labels: list[str]


@dataclasses.dataclass
class Projection:
    x0: float
    y0: float
    scale: float

    def __call__(self, lat: float, lng: float) -> tuple[float, float]:
        x, y = _mercator(lat, lng)
        return PAD + (x - self.x0) * self.scale, PAD + (y - self.y0) * self.scale


def _projection(points: list[tuple[float, float]]) -> Projection:
    xs, ys = zip(*(_mercator(lat, lng) for lat, lng in points), strict=True)
    span_x, span_y = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)
    return Projection(min(xs), min(ys), scale)


def _tiles(projection: Projection) -> str:
    template = getattr(settings, "ROUTING_TILE_URL", "")
    if not template:
        return ""
    zoom = max(0, min(18, int(math.log2(projection.scale / 256))))
    tiles = 2**zoom
    size = projection.scale / tiles  # pixels per tile at this zoom
    first_x = int(projection.x0 * tiles)
    first_y = int(projection.y0 * tiles)
    last_x = int((projection.x0 + (WIDTH - PAD) / projection.scale) * tiles)
    last_y = int((projection.y0 + (HEIGHT - PAD) / projection.scale) * tiles)
    images = []
    for tx in range(first_x, last_x + 1):
        for ty in range(first_y, last_y + 1):
            if not (0 <= ty < tiles):
                continue
            url = template.format(z=zoom, x=tx % tiles, y=ty)
            images.append(
                (
                    url,
                    PAD + (tx / tiles - projection.x0) * projection.scale,
                    PAD + (ty / tiles - projection.y0) * projection.scale,
                    size,
                )
            )
    return format_html_join(
        "",
        '<image href="{}" x="{}" y="{}" width="{}" height="{}" opacity="0.8"/>',
        ((u, _n(x), _n(y), _n(s), _n(s)) for u, x, y, s in images),
    )


def svg(tracks: list[Track], unassigned: list[tuple[str, float, float]]) -> str:
    points = [p for t in tracks for p in t.points] + [(lat, lng) for _, lat, lng in unassigned]
    if not points:
        return ""
    project = _projection(points)
    parts = [_tiles(project)]
    for track in tracks:
        xy = [project(lat, lng) for lat, lng in track.points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" '
                'stroke-opacity="0.85"><title>{}</title></polyline>',
                path,
                track.colour,
                track.label,
            )
        )
        hx, hy = xy[-1]
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="8" height="8" fill="{}"><title>{} home</title></rect>',
                _n(hx - 4),
                _n(hy - 4),
                track.colour,
                track.label,
            )
        )
        for (x, y), label in zip(xy[1:-1], track.stop_labels, strict=True):
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="4" fill="#fff" stroke="{}" '
                    'stroke-width="2"><title>{}</title></circle>',
                    _n(x),
                    _n(y),
                    track.colour,
                    label,
                )
            )
    for label, lat, lng in unassigned:
        x, y = project(lat, lng)
        parts.append(
            format_html(
                '<path d="M{},{} l8,8 m0,-8 l-8,8" stroke="#6b7280" stroke-width="2">'
                "<title>Unassigned: {}</title></path>",
                _n(x - 4),
                _n(y - 4),
                label,
            )
        )
    body = mark_safe("".join(str(p) for p in parts))  # noqa: S308  (every part escaped above)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" '
        'style="max-width:{}px;background:#f8fafc;border:1px solid #e5e7eb" role="img" '
        'aria-label="Routes">{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        body,
    )
