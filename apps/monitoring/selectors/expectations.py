"""Which connections are expected to be active, and how long a silence is normal for each.

A connection with an enabled sync schedule is expected to show activity at least once per gap
between two runs; a daily 3 a.m. sync is not stale at 4 p.m. A connection may also declare
`{"expected_activity_minutes": N}` in its settings (a webhook-driven vendor, for instance).
"""

from __future__ import annotations

import datetime as dt
import itertools

from celery.schedules import crontab as celery_crontab
from django_celery_beat.models import PeriodicTask

from apps.integrations.models import IntegrationConnection

# A run may start late and take a while; this much on top of the longest gap is still normal.
SCHEDULE_GRACE = dt.timedelta(minutes=15)
_WEEK_MINUTES = 7 * 24 * 60
_PERIODS = {
    "days": dt.timedelta(days=1),
    "hours": dt.timedelta(hours=1),
    "minutes": dt.timedelta(minutes=1),
    "seconds": dt.timedelta(seconds=1),
    "microseconds": dt.timedelta(microseconds=1),
}


def crontab_max_gap(
    *, minute: str, hour: str, day_of_week: str, day_of_month: str, month_of_year: str
) -> dt.timedelta:
    """The longest time between two runs of a crontab, over a week (longer for monthly ones)."""
    cron = celery_crontab(
        minute=minute,
        hour=hour,
        day_of_week=day_of_week,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
    )
    if len(cron.day_of_month) < 31 or len(cron.month_of_year) < 12:
        return dt.timedelta(days=31)  # monthly or rarer: do not call a quiet week stale
    times = sorted(
        day * 1440 + h * 60 + m for day in cron.day_of_week for h in cron.hour for m in cron.minute
    )
    if not times:
        return dt.timedelta(days=31)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + _WEEK_MINUTES - times[-1])
    return dt.timedelta(minutes=max(gaps))


def schedule_gap(task: PeriodicTask) -> dt.timedelta:
    if task.interval_id:
        return task.interval.every * _PERIODS.get(task.interval.period, dt.timedelta(days=1))
    if task.crontab_id:
        c = task.crontab
        return crontab_max_gap(
            minute=c.minute,
            hour=c.hour,
            day_of_week=c.day_of_week,
            day_of_month=c.day_of_month,
            month_of_year=c.month_of_year,
        )
    return dt.timedelta(days=1)  # solar or clocked schedules: about daily at most


def scheduled_gaps(connections: list[IntegrationConnection]) -> dict[int, dt.timedelta]:
    """connection id -> the longest gap between runs of its most frequent enabled sync schedule,
    for connections whose sync is on."""
    ids = {c.pk for c in connections if c.sync_enabled}
    gaps: dict[int, dt.timedelta] = {}
    tasks = PeriodicTask.objects.filter(enabled=True, name__startswith="integration:")
    for task in tasks.select_related("interval", "crontab"):
        try:
            connection_id = int(task.name.split(":")[1])
        except (IndexError, ValueError):
            continue
        if connection_id not in ids:
            continue
        gap = schedule_gap(task)
        gaps[connection_id] = min(gap, gaps.get(connection_id, gap))
    return gaps


def expected_gaps(connections: list[IntegrationConnection]) -> dict[int, dt.timedelta]:
    """connection id -> the longest silence its schedules (or settings) make normal.

    Connections missing from the result are not expected to be active.
    """
    gaps = scheduled_gaps(connections)
    for connection in connections:
        declared = connection.setting("expected_activity_minutes")
        if declared:
            gaps[connection.pk] = dt.timedelta(minutes=declared)
    return gaps


def stale_after(gap: dt.timedelta | None, configured: dt.timedelta) -> dt.timedelta | None:
    """The silence after which an expected connection is stale: the business's threshold, or one
    missed run plus a grace period when runs are further apart than that."""
    if gap is None:
        return None
    return max(configured, gap + SCHEDULE_GRACE)
