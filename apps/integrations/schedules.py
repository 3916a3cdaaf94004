"""Sync schedules in the business's local time.

Each scheduled sync is a django-celery-beat row (`integration:<connection>:<resource>`) whose
crontab carries the business's zone, so "0 3 * * *" runs at 03:00 in Denver in winter and in
summer alike. People read them as "Daily at 3:00 AM, America/Denver time" and type them as local
time; when the business moves to another zone, its rows move with it.
"""

from __future__ import annotations

import datetime as dt
import json

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.utils.dateformat import format as date_format
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_of
from apps.integrations.models import IntegrationConnection

PREFIX = "integration:"
DAYS = {
    "0": "Sundays",
    "1": "Mondays",
    "2": "Tuesdays",
    "3": "Wednesdays",
    "4": "Thursdays",
    "5": "Fridays",
    "6": "Saturdays",
    "7": "Sundays",
    "1-5": "Weekdays",
    "mon-fri": "Weekdays",
}


def crontab_fields(text: str) -> tuple[str, str, str, str, str]:
    """Five crontab fields, checked the way beat will read them (so a typo is refused here,
    not discovered by a scheduler that never runs the sync)."""
    fields = text.split()
    if len(fields) != 5:
        raise DomainError(
            "A crontab has five fields: minute hour day-of-month month day-of-week.",
            field="schedule",
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        celery_crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError) as exc:
        raise DomainError(f"“{text}” is not a valid crontab: {exc}", field="schedule") from None
    return minute, hour, day_of_month, month_of_year, day_of_week


def crontab_text(schedule: CrontabSchedule) -> str:
    return " ".join(
        (
            schedule.minute,
            schedule.hour,
            schedule.day_of_month,
            schedule.month_of_year,
            schedule.day_of_week,
        )
    )


def _clock(hour: str, minute: str) -> str | None:
    if not (hour.isdigit() and minute.isdigit()):
        return None
    return date_format(dt.time(int(hour), int(minute)), "g:i A")


def schedule_describe(task: PeriodicTask) -> str:
    """How often the row runs, in words, with the zone its clock times are in."""
    if task.interval_id:
        every, period = task.interval.every, task.interval.period
        unit = period.rstrip("s") if every == 1 else period
        return f"Every {every} {unit}" if every != 1 else f"Every {unit}"
    schedule = task.crontab
    if schedule is None:
        return "Not scheduled"
    zone = str(schedule.timezone)
    clock = _clock(schedule.hour, schedule.minute)
    plain_days = schedule.day_of_month == "*" and schedule.month_of_year == "*"
    if clock and plain_days and schedule.day_of_week in ("*", *DAYS):
        days = "Daily" if schedule.day_of_week == "*" else DAYS[schedule.day_of_week]
        return f"{days} at {clock}, {zone} time"
    hourly = schedule.hour == "*" and schedule.day_of_week == "*" and plain_days
    if hourly and schedule.minute.isdigit():
        return f"Hourly at :{int(schedule.minute):02d}"
    return f"Crontab “{crontab_text(schedule)}” in {zone} time"


def connection_schedule_rows(connection: IntegrationConnection) -> list[PeriodicTask]:
    """The beat rows that sync this connection: named for it and carrying its id."""
    tasks = PeriodicTask.objects.filter(name__startswith=f"{PREFIX}{connection.pk}:")
    found = []
    for task in tasks.select_related("interval", "crontab").order_by("name"):
        try:
            kwargs = json.loads(task.kwargs or "{}")
        except ValueError:
            continue
        if isinstance(kwargs, dict) and kwargs.get("connection_id") == connection.pk:
            found.append(task)
    return found


@transaction.atomic
def connection_schedule_remove(*, connection: IntegrationConnection, resource: str) -> bool:
    """Stop syncing `resource` on a schedule. True when there was a schedule to remove."""
    name = f"{PREFIX}{connection.pk}:{resource}"
    rows = [task for task in connection_schedule_rows(connection) if task.name == name]
    for task in rows:
        task.delete()
    return bool(rows)


@transaction.atomic
def connection_schedules_rezone(*, business_id: int) -> int:
    """Point every crontab row of the business's connections at a crontab in the business's
    current zone (crontab rows are shared, so a new one is found or made, never edited).
    Returns how many rows moved; running it again moves none."""
    business = Business.objects.get(pk=business_id)
    zone = str(zone_of(business))
    moved = 0
    for connection in IntegrationConnection.objects.filter(business_id=business_id):
        for task in connection_schedule_rows(connection):
            schedule = task.crontab
            if schedule is None or str(schedule.timezone) == zone:
                continue
            task.crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule.minute,
                hour=schedule.hour,
                day_of_month=schedule.day_of_month,
                month_of_year=schedule.month_of_year,
                day_of_week=schedule.day_of_week,
                timezone=zone,
            )
            task.save()
            moved += 1
    return moved
