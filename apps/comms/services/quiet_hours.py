"""Quiet hours in the recipient's own time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def _inside(t: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= t < end
    return t >= start or t < end  # a window that crosses midnight


def next_send_time(
    *, now: dt.datetime, tz: ZoneInfo | str, start: dt.time, end: dt.time
) -> dt.datetime | None:
    """None when `now` is inside the send window; otherwise when the window next opens (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(str(tz))
    local = now.astimezone(zone)
    if _inside(local.time(), start, end):
        return None
    opening = dt.datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening = dt.datetime.combine(local.date() + dt.timedelta(days=1), start, tzinfo=zone)
    # Round-trip through UTC so a DST gap resolves to a real instant.
    return opening.astimezone(dt.UTC)
