"""Small rendering helpers shared by the admin modules (inline styles: no extra static files)."""

from __future__ import annotations

import json

from django.utils.html import format_html

GREEN = "#1e7e34"
ORANGE = "#d9822b"
AMBER = "#b45309"
RED = "#c0392b"
BLUE = "#2563eb"
PURPLE = "#7c3aed"
GRAY = "#6b7280"


def badge(label: str, color: str):
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:10px;'
        'background:{};color:#fff;font-size:11px;white-space:nowrap">{}</span>',
        color,
        label,
    )


def pretty_json(value) -> str:
    """JSON for people to read; text that is not JSON is shown unchanged."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html("<pre style='white-space:pre-wrap'>{}</pre>", value)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html("<pre style='white-space:pre-wrap'>{}</pre>", text)
