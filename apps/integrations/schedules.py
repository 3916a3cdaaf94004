"""Sync schedules: django-celery-beat rows named `integration:<connection id>:<resource>`.

Every new connection gets its provider's default schedules, whichever path set it up (CLI, admin,
API, the OAuth callback), through `connection_defaults_ensure`; the rows stay editable in the
admin afterwards, and ensuring never overwrites or re-enables one a person changed.
"""

from __future__ import annotations

import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import provider_class_for

SCHEDULED_SYNC_TASK = "apps.integrations.tasks.connection_sync_scheduled_task"


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
        fields = crontab.split()
        if len(fields) != 5:
            raise DomainError(
                "A crontab has five fields: minute hour day-of-month month day-of-week.",
                field="schedule",
            )
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=str(connection.business.timezone),
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
