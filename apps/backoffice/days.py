"""Days as the business lives them: "today" and a day's bounds in the business's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from apps.core.models import Business


def business_zone(business: Business) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(str(business.timezone))


def local_today(business: Business, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(business_zone(business)).date()


def day_bounds(business: Business, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to the next local midnight (23 or 25 hours long across a DST change)."""
    tz = business_zone(business)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


def minutes_into(day_start: dt.datetime, moment: dt.datetime) -> int:
    """Minutes from local midnight on the axis (wall clock, so a DST day still reads 8:00 at 480)."""
    local = moment.astimezone(day_start.tzinfo)
    days = (local.date() - day_start.date()).days
    return days * 1440 + local.hour * 60 + local.minute
