"""Sync schedules: django-celery-beat rows named `integration:<connection id>:<resource>`, in the
business's local time.

Every new connection gets its provider's default schedules, whichever path set it up (CLI, admin,
API, the OAuth callback), through `connection_defaults_ensure`; the rows stay editable in the
admin afterwards, and ensuring never overwrites or re-enables one a person changed.

Each crontab carries the business's zone, so "0 3 * * *" runs at 03:00 in Denver in winter and in
summer alike. People read them as "Daily at 3:00 AM, America/Denver time" and type them as local
time; when the business moves to another zone, its rows move with it.
"""

from __future__ import annotations

import datetime as dt
import json

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.utils.dateformat import format as date_format
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_of
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import provider_class_for

SCHEDULED_SYNC_TASK = "apps.integrations.tasks.connection_sync_scheduled_task"
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


def schedule_name(connection: IntegrationConnection, resource: str) -> str:
    return f"integration:{connection.pk}:{resource}"


@transaction.atomic
def connection_schedule_set(
    *,
    connection: IntegrationConnection,
    resource: str,
    every_minutes: int | None = None,
    crontab: str | None = None,
    enabled: bool = True,
) -> PeriodicTask:
    """One django-celery-beat row per (connection, resource), editable in the admin afterwards."""
    from apps.integrations.services import _resources_for

    _resources_for(connection, [resource])
    if (every_minutes is None) == (crontab is None):
        raise DomainError(
            "Give either an interval in minutes or a crontab, not both.", field="schedule"
        )
    schedule: dict = {"interval": None, "crontab": None}
    if every_minutes is not None:
        if every_minutes < 1:
            raise DomainError("The interval must be at least one minute.", field="schedule")
        schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=every_minutes, period=IntervalSchedule.MINUTES
        )
    else:
        # Read in the business's zone: "0 3 * * *" is 03:00 local, summer and winter.
        minute, hour, day_of_month, month_of_year, day_of_week = crontab_fields(crontab)
        schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=str(zone_of(connection.business)),
        )
    task, _ = PeriodicTask.objects.update_or_create(
        name=schedule_name(connection, resource),
        defaults={
            **schedule,
            "task": SCHEDULED_SYNC_TASK,
            "kwargs": json.dumps({"connection_id": connection.pk, "resources": [resource]}),
            "enabled": enabled,
            "queue": "sync",
            "description": f"Sync {resource} for {connection} ({connection.business})",
        },
    )
    return task


def connection_schedules(connection: IntegrationConnection):
    return PeriodicTask.objects.filter(name__startswith=f"integration:{connection.pk}:").order_by(
        "name"
    )


@transaction.atomic
def connection_defaults_ensure(*, connection: IntegrationConnection) -> list[PeriodicTask]:
    """Create the provider's default schedules this connection lacks; returns those created.

    A schedule that exists (edited or disabled by a person) is left exactly as it is.
    """
    cls = provider_class_for(connection.provider)
    if cls is None or not cls.default_schedules:
        return []
    existing = set(connection_schedules(connection).values_list("name", flat=True))
    return [
        connection_schedule_set(connection=connection, resource=resource, **dict(schedule))
        for resource, schedule in cls.default_schedules.items()
        if schedule_name(connection, resource) not in existing and resource in cls.resources
    ]
